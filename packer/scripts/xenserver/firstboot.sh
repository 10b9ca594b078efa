#!/bin/sh
# Runs in the host's first boot, while Packer builds the box (a XenServer/XCP-ng
# host just installed, or the stand-in just made). Installs what every copy of the
# box needs at its own first boot, then waits for this first boot to be over:
# generalising while XAPI or its first-boot units still run would race them.
set -eu
files=/tmp/box-files  # the file provisioner's upload of packer/scripts/xenserver/box-files
libexec=/usr/local/libexec/xenlab

mkdir -p "$libexec"
install -m 0755 "$files/xenlab-wait-first-boot" "$files/xenlab-new-identity" "$libexec/"
install -m 0644 "$files/xenlab-new-identity.service" /etc/systemd/system/
rm -rf "$files"
systemctl daemon-reload
# Enabled, not started: it runs at the first boot of each copy, before XAPI.
systemctl enable xenlab-new-identity.service

"$libexec/xenlab-wait-first-boot" "${XENLAB_FIRST_BOOT_TIMEOUT:-900}"
