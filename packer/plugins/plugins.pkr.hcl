# Plugins for Packer >= 1.7, which no longer bundles them. Kept in a directory of
# its own: xenlab runs `packer init` on it only when Packer is 1.7 or newer, because
# Packer 1.6 (Debian 12's) has the builders built in and rejects this block.
packer {
  required_version = ">= 1.6.6"
  required_plugins {
    qemu = {
      version = ">= 1.0.0"
      source  = "github.com/hashicorp/qemu"
    }
    virtualbox = {
      version = ">= 1.0.0"
      source  = "github.com/hashicorp/virtualbox"
    }
    vagrant = {
      version = ">= 1.0.0"
      source  = "github.com/hashicorp/vagrant"
    }
  }
}
