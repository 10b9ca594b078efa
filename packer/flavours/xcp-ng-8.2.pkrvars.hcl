# Flavour xcp-ng-8.2: XCP-ng 8.2.1 LTS. END OF LIFE since 2025-09-16 and no longer
# offered on xcp-ng.org (xcp-ng/xcp-ng-org docs/releases/release-8-2.md): kept for
# hosts already running it. dom0 CentOS 7.5 based: python2, no python3.
flavour = "xcp-ng-8.2"
kind    = "xenserver"
product = "XCP-ng 8.2.1 LTS (end of life)"

# The last 8.2 installer (2023-11-30), pinned to the sha256 xcp-ng.org published for
# it before 8.2's end of life (xcp-ng/xcp-ng-org index.html, removed in 7cff299).
iso_url      = "https://mirrors.xcp-ng.org/isos/8.2/xcp-ng-8.2.1-20231130.iso"
iso_checksum = "sha256:108aa7144d1f5dd169a1b99ca70b510527136c549f2e3c3c1707b619e17ee1b6"

# Same boot: prompt and 5 s autoboot as 8.3 (only the label order differs, which the
# typed line does not use); 8.2.1's installer needs `install` beside `answerfile=`
# (xcp-ng/host-installer tag v8.2.1, init: "No operation specified for answerfile").
autoboot_timeout_s = 5
autoboot_source    = "xcp-ng/create-install-image templates/iso/8.2/boot/isolinux/isolinux.cfg: PROMPT 1, TIMEOUT 50"
boot_wait          = "3s"
boot_command = [
  "mboot.c32 /boot/xen.gz dom0_max_vcpus=1-16 dom0_mem=max:8192M com1=115200,8n1 console=com1,vga",
  " --- /boot/vmlinuz console=hvc0 console=tty0",
  " answerfile=http://{{ .HTTPIP }}:{{ .HTTPPort }}/answerfile.xml install",
  " --- /install.img<enter>",
]
# Still parsed by 8.2.1's installer (xcp-ng/host-installer tag v8.2.1, answerfile.py).
network_backend = "openvswitch"
disk_bus        = "ide"
# The same in the build and the lab (sources.pkr.hcl says why); QEMU's own for this slot.
disk_serial     = "QM00001"
install_timeout = "90m"
