# Flavour xcp-ng-8.2: data for the Packer templates (see packer/README.md).
flavour = "xcp-ng-8.2"
