#!/bin/sh
# dom0 access as `wire` expects it of any XenServer: root over SSH with the lab
# password. The password comes in the environment (never argv, never a log).
set -eu
: "${XENLAB_ROOT_PASSWORD:?the lab password must be passed in the environment}"
printf 'root:%s\n' "$XENLAB_ROOT_PASSWORD" | chpasswd
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/50-xenlab-standin.conf <<'CONF'
# Stand-in dom0: root logs in with a password, as on a XenServer host.
PermitRootLogin yes
PasswordAuthentication yes
CONF
sshd -t
systemctl reload ssh
