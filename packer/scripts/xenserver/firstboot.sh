#!/bin/sh
# Installs a one-shot service that gives each copy of the box its own identity on
# its first boot: new installation and control-domain UUIDs, XAPI started in order,
# PIFs on DHCP (Vagrant's guest network code cannot manage XAPI's PIFs).
set -eu

cat > /usr/local/sbin/xenlab-firstboot <<'SCRIPT'
#!/bin/sh
set -eu
inventory=/etc/xensource-inventory
new_uuid() { cat /proc/sys/kernel/random/uuid; }
sed -i -e "s/^INSTALLATION_UUID=.*/INSTALLATION_UUID='$(new_uuid)'/" \
       -e "s/^CONTROL_DOMAIN_UUID=.*/CONTROL_DOMAIN_UUID='$(new_uuid)'/" "$inventory"
for svc in forkexecd xcp-networkd squeezed xcp-rrdd xenopsd-xc xapi; do
  systemctl enable "$svc.service" 2>/dev/null || true
  systemctl start "$svc.service" || true
done
# Bounded wait for XAPI to answer.
tries=0
until xe host-list >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -ge 60 ] && { echo "xenlab-firstboot: xapi did not answer in 5 min" >&2; exit 1; }
  sleep 5
done
systemctl start firstboot.service 2>/dev/null || true
host=$(xe host-list --minimal)
xe pif-scan host-uuid="$host"
for pif in $(xe pif-list host-uuid="$host" physical=true --minimal | tr , ' '); do
  xe pif-reconfigure-ip uuid="$pif" mode=dhcp
done
first=$(xe pif-list host-uuid="$host" device=eth0 --minimal)
[ -n "$first" ] && xe host-management-reconfigure pif-uuid="$first"
systemctl disable xenlab-firstboot.service
SCRIPT
chmod 0755 /usr/local/sbin/xenlab-firstboot

cat > /etc/systemd/system/xenlab-firstboot.service <<'UNIT'
[Unit]
Description=xenlab: give this copy of the box its own host identity
Before=xapi.service
ConditionPathExists=!/var/lib/xcp/state.db

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xenlab-firstboot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable xenlab-firstboot.service
