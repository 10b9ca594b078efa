"""Tasks that are not stages of the lifecycle: status, doctor, sim."""
