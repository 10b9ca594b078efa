# Flavour xcp-ng-8.2: XCP-ng 8.2.1 LTS (dom0 CentOS 7, python2: os-xenapi's plugins run).
flavour = "xcp-ng-8.2"
kind    = "xenserver"
product = "XCP-ng 8.2.1 LTS"

# The 8.2 LTS installer refreshed 2023-11-30, as linked from XCP-ng's install docs
# (docs.xcp-ng.org, "Install XCP-ng"). The checksum comes from the vendor's own
# SHA256SUMS file beside the ISO, fetched by Packer at build time (Bento's way),
# so no digest is copied by hand here.
iso_url      = "https://mirrors.xcp-ng.org/isos/8.2/xcp-ng-8.2.1-20231130.iso"
iso_checksum = "file:https://mirrors.xcp-ng.org/isos/8.2/SHA256SUMS"

# Typed at the ISO's isolinux boot: prompt (BIOS). Xen first, then dom0's kernel
# with the answerfile served by Packer's HTTP server, then the installer image.
boot_wait = "5s"
boot_command = [
  "<wait5>mboot.c32 /boot/xen.gz dom0_max_vcpus=1-2 dom0_mem=max:2048M com1=115200,8n1 console=com1,vga",
  " --- /boot/vmlinuz console=hvc0 console=tty0",
  " answerfile=http://{{ .HTTPIP }}:{{ .HTTPPort }}/answerfile.xml install",
  " --- /install.img<enter>",
]
# Installer quirks: 8.x always uses openvswitch and ignores <network-backend>.
network_backend = ""
install_timeout = "90m"
