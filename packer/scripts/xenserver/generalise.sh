#!/bin/sh
# Make the installed host forget who it is, so that every machine made from the box
# becomes a fresh host (FACTS.md section 7). Runs last before shutdown.
set -eu
for svc in xapi xcp-networkd xcp-rrdd squeezed xenopsd-xc forkexecd; do
  systemctl stop "$svc.service" 2>/dev/null || true
  systemctl disable "$svc.service" 2>/dev/null || true
done
rm -f /var/lib/xcp/state.db* /var/lib/xcp/networkd.db* /var/lib/xcp/local.db
rm -rf /etc/firstboot.d/state/*
# requiretty would stop Vagrant's sudo over a non-interactive SSH session.
sed -i 's/^Defaults[[:space:]]*requiretty/# &/' /etc/sudoers
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
rm -rf /tmp/* /var/tmp/*
: > /root/.bash_history
