"""The lab's machines: the lab spec the Vagrantfile reads, Vagrant itself, and
the libvirt provider's checks and clean-up."""
