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

# Each clone makes its own SSH host keys on first boot, not the image's: ECDSA and
# Ed25519 only. `ssh-keygen -A` also makes an RSA key, which under TCG held sshd back
# 24-42 s on every first boot (systemd-analyze blame in the lab's guests).
rm -f /etc/ssh/ssh_host_*
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' \
  > /etc/ssh/sshd_config.d/10-xenlab-hostkeys.conf
cat > /etc/systemd/system/ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate missing SSH host keys (Ed25519, ECDSA)
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for t in ed25519 ecdsa; do k=/etc/ssh/ssh_host_$${t}_key; [ -e "$$k" ] || ssh-keygen -q -t "$$t" -N "" -f "$$k"; done'

[Install]
WantedBy=multi-user.target
UNIT
# e2scrub_reap looks for LVM snapshots of ext4 scrubs; these guests have no LVM, and
# on one TCG vCPU it took 36-46 s of boot (systemd-analyze blame).
systemctl mask e2scrub_reap.service >/dev/null 2>&1

systemctl enable systemd-networkd.service ssh.service ssh-hostkeys.service >/dev/null 2>&1
# The serial console is where Packer and `virsh console` see boot problems.
systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true

# Empty, not missing: systemd then makes a fresh machine-id on each clone's first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/*
