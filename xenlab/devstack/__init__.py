"""The DevStack side: local.conf and nova.conf, and the settings that break
Nova's independent compute."""
