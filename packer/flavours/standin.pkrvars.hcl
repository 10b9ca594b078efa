# Flavour standin: NOT XenServer. A Debian 12 box (made from a debootstrap base
# image, no ISO) that serves XenAPI from xenlab's simulator on port 80 and lets root
# in over SSH like dom0, so the whole lab runs on a machine with no KVM or internet.
flavour = "standin"
kind    = "standin"
product = "xenlab stand-in (Debian 12 + xenlab XenAPI simulator)"
