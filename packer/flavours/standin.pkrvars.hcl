# Flavour standin: data for the Packer templates (see packer/README.md).
flavour = "standin"
