#!/bin/sh
# The stand-in's XenAPI: xenlab's simulator as a service on port 80, with a dom0-like
# plugin directory. The simulator is stdlib-only Python, copied in: no downloads.
set -eu
: "${XENLAB_ROOT_PASSWORD:?the lab password must be passed in the environment}"

rm -rf /opt/xenlab
mkdir -p /opt/xenlab
cp -r /tmp/xenlab /opt/xenlab/
rm -rf /tmp/xenlab
find /opt/xenlab -name __pycache__ -prune -exec rm -rf {} +
chown -R root:root /opt/xenlab
chmod -R go-w /opt/xenlab

mkdir -p /etc/xapi.d/plugins
chmod 0755 /etc/xapi.d /etc/xapi.d/plugins

# The XenAPI password is the root password, as on a real host; only root reads it.
mkdir -p /etc/xenlab-sim
chmod 0700 /etc/xenlab-sim
(umask 077 && printf '%s' "$XENLAB_ROOT_PASSWORD" > /etc/xenlab-sim/password)
chmod 0600 /etc/xenlab-sim/password

printf '# Extra arguments for the XenAPI simulator (e.g. --management-ip 192.168.57.10).\nXENLAB_SIM_ARGS="%s"\n' \
  "${XENLAB_SIM_ARGS:-}" > /etc/default/xenlab-sim

cat > /etc/systemd/system/xenlab-sim.service <<'UNIT'
[Unit]
Description=xenlab XenAPI simulator (stand-in for a XenServer host's XAPI)
After=network.target

[Service]
Environment=PYTHONPATH=/opt/xenlab
Environment=PYTHONDONTWRITEBYTECODE=1
EnvironmentFile=-/etc/default/xenlab-sim
ExecStart=/usr/bin/python3 -m xenlab.sim --bind 0.0.0.0 --port 80 --user root --password-file /etc/xenlab-sim/password --plugin-dir /etc/xapi.d/plugins $XENLAB_SIM_ARGS
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable xenlab-sim.service
systemctl restart xenlab-sim.service
