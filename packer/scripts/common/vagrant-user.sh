#!/bin/sh
# A `vagrant` user Vagrant can log in as: the well-known insecure key (Vagrant
# replaces it on first `vagrant up`), passwordless sudo, no requiretty.
# POSIX sh: runs in a Debian chroot, the stand-in guest and a CentOS-based dom0.
set -eu

INSECURE_KEY='ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key'

if ! id vagrant >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash vagrant
fi
home=$(getent passwd vagrant | cut -d: -f6)
mkdir -p "$home/.ssh"
printf '%s\n' "$INSECURE_KEY" > "$home/.ssh/authorized_keys"
chmod 0700 "$home/.ssh"
chmod 0600 "$home/.ssh/authorized_keys"
chown -R vagrant:vagrant "$home/.ssh"

mkdir -p /etc/sudoers.d
printf 'Defaults:vagrant !requiretty\nvagrant ALL=(ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
