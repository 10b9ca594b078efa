"""The XenServer side: the XenAPI client (official SDK), dom0 preparation over
SSH, and os-xenapi's dom0 plugins."""
