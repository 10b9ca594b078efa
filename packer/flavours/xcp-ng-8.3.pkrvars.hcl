# Flavour xcp-ng-8.3: XCP-ng 8.3 LTS (supported to 2028-11-30; dom0 CentOS 7 based,
# still with the Python 2 that os-xenapi's dom0 plugins need: xcp-ng-rpms/xapi
# SPECS/xapi.spec keeps python2_compat below XenServer 9).
flavour = "xcp-ng-8.3"
kind    = "xenserver"
product = "XCP-ng 8.3 LTS"

# The ISO linked from xcp-ng.org's download box (xcp-ng/xcp-ng-org index.html), with
# the sha256 published beside it there.
iso_url      = "https://mirrors.xcp-ng.org/isos/8.3/xcp-ng-8.3.0-20250606.2.iso"
iso_checksum = "sha256:6f0717b0414df1a9184839473b9b7ef46a06f428bd3f1440c56b955ffbb3e649"

# Typed at isolinux's boot: prompt (BIOS), which boots its own interactive default
# after TIMEOUT 50 = 5 s, so typing starts well before; the line is the ISO's
# `install` label plus the answerfile (xcp-ng/create-install-image
# templates/iso/8.3/boot/isolinux/isolinux.cfg).
autoboot_timeout_s = 5
autoboot_source    = "xcp-ng/create-install-image templates/iso/8.3/boot/isolinux/isolinux.cfg: PROMPT 1, TIMEOUT 50"
boot_wait          = "3s"
boot_command = [
  "mboot.c32 /boot/xen.gz dom0_max_vcpus=1-16 dom0_mem=max:8192M com1=115200,8n1 console=com1,vga",
  " --- /boot/vmlinuz console=hvc0 console=tty0",
  " answerfile=http://{{ .HTTPIP }}:{{ .HTTPPort }}/answerfile.xml install",
  " --- /install.img<enter>",
]
# Still parsed by 8.3's installer (xcp-ng/host-installer answerfile.py, tag v10.10.19.xcpng.5).
network_backend = "openvswitch"
# Install and run on the same bus: the installer's initrd holds only the install's
# storage driver (host-installer backend.py: host-only dracut).
disk_bus        = "ide"
# The same in the build and the lab (sources.pkr.hcl says why); QEMU's own for this slot.
disk_serial     = "QM00001"
install_timeout = "90m"
