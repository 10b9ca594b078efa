# Flavour xenserver-7.1: data for the Packer templates (see packer/README.md).
flavour = "xenserver-7.1"
