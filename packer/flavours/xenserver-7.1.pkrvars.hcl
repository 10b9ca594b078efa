# Flavour xenserver-7.1: Citrix XenServer 7.1 LTSR (dom0 CentOS 7, python2).
# Citrix's ISO needs a login to download: give it as iso.path in xenlab.toml (and,
# if you have it, iso.checksum = "sha256:<hex>" from Citrix's download page; without
# one xenlab computes the digest of your file and records it in the box manifest).
flavour = "xenserver-7.1"
kind    = "xenserver"
product = "Citrix XenServer 7.1 LTSR"

iso_url      = ""
iso_checksum = "none"

boot_wait = "5s"
boot_command = [
  "<wait5>mboot.c32 /boot/xen.gz dom0_max_vcpus=1-2 dom0_mem=max:2048M com1=115200,8n1 console=com1,vga",
  " --- /boot/vmlinuz xencons=hvc console=hvc0 console=tty0",
  " answerfile=http://{{ .HTTPIP }}:{{ .HTTPPort }}/answerfile.xml install",
  " --- /install.img<enter>",
]
# Installer quirks: 7.x still reads <network-backend> (bridge or vswitch).
network_backend = "vswitch"
install_timeout = "90m"
