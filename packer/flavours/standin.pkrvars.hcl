# Flavour standin: NOT XenServer. A Debian 12 box (made from a debootstrap base
# image, no ISO) that serves XenAPI from xenlab's simulator on port 80 and lets root
# in over SSH like dom0, so the whole lab runs on a machine with no KVM or internet.
flavour      = "standin"
kind         = "standin"
product      = "xenlab stand-in (Debian 12 + xenlab XenAPI simulator)"
standin      = true
packer_build = "standin"

# The devstack machine is the same base image, packed as a box of its own.
devstack_box    = "xenlab/standin-devstack"
companion_boxes = ["standin-devstack"]
# Debian's virtio drivers; the install and the lab use the same bus.
disk_bus = "virtio"

# Runs anywhere, under software emulation, offline (Debian's archive once, for the
# base image); two TCG machines come up in about three minutes.
needs_kvm       = false
needs_uplink    = false
disk_gb_needed  = 10
build_timeout_s = 3600
up_timeout_s    = 1800

# stack.sh cannot run here (no opendev.org): the devstack machine gets Nova's own
# XenAPI driver (the compute probe) and verify runs it: the host's report, then an
# instance's whole life through the driver.
nova_probe      = true
devstack_suites = ["test_devstack.py", "test_nova_probe.py", "test_instance_driver.py"]
