# Flavour xenserver-7.1: Citrix XenServer 7.1 LTSR (dom0 CentOS 7, python2; out of
# Citrix support). Citrix's ISO needs a login to download: give it as iso.path in
# xenlab.toml (and, if you have it, iso.checksum = "sha256:<hex>" from Citrix's
# download page; without one xenlab records the digest of your file).
flavour = "xenserver-7.1"
kind    = "xenserver"
product = "Citrix XenServer 7.1 LTSR"

iso_url      = ""
iso_checksum = "none"

# XenServer's installer ISO has the same isolinux boot: prompt as XCP-ng's, which was
# forked from it (TIMEOUT 50 there too: unverified for 7.1, no public copy of its
# isolinux.cfg was found); 7.x kernels still took xencons=hvc.
autoboot_timeout_s = 5
autoboot_source    = "assumed from xcp-ng/create-install-image isolinux.cfg (forked from XenServer's); unverified for 7.1"
boot_wait          = "3s"
boot_command = [
  "mboot.c32 /boot/xen.gz dom0_max_vcpus=1-2 dom0_mem=max:2048M com1=115200,8n1 console=com1,vga",
  " --- /boot/vmlinuz xencons=hvc console=hvc0 console=tty0",
  " answerfile=http://{{ .HTTPIP }}:{{ .HTTPPort }}/answerfile.xml install",
  " --- /install.img<enter>",
]
# 7.x reads <network-backend> (bridge or vswitch).
network_backend = "vswitch"
disk_bus        = "ide"
# The same in the build and the lab (sources.pkr.hcl says why); QEMU's own for this slot.
disk_serial     = "QM00001"
install_timeout = "90m"
