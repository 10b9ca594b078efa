#!/bin/sh
# Runs inside the debootstrap chroot: turn a bare bookworm tree into a bootable,
# clonable Debian guest (networkd DHCP, sshd, per-clone identity on first boot).
set -eu

echo xenlab-base > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\txenlab-base\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
# grub.cfg passes root=LABEL=, so fstab names the same label: no loop-device names leak in.
printf 'LABEL=xenlab-root\t/\text4\terrors=remount-ro\t0\t1\n' > /etc/fstab

# DHCP on every wired NIC. ClientIdentifier=mac: clones would otherwise send the same
# DUID-based client id and only one of them would get a lease.
mkdir -p /etc/systemd/network
cat > /etc/systemd/network/50-dhcp.network <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4

[DHCPv4]
ClientIdentifier=mac
NET

# Each clone makes its own SSH host keys on first boot, not the image's.
rm -f /etc/ssh/ssh_host_*
cat > /etc/systemd/system/ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate missing SSH host keys
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT

systemctl enable systemd-networkd.service ssh.service ssh-hostkeys.service >/dev/null 2>&1
# The serial console is where Packer and `virsh console` see boot problems.
systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true

# Empty, not missing: systemd then makes a fresh machine-id on each clone's first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/*
