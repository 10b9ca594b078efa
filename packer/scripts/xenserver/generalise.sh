#!/bin/sh
# Make the host forget who it is, so each machine made from the box boots as a new
# host. Runs last before shutdown, after firstboot.sh saw this first boot end.
#
# What XAPI itself does to a host leaving a pool, its recipe for "start again as a
# fresh host" (xapi-project/xen-api ocaml/xapi/xapi_pool.ml eject and
# scripts/reset-and-reboot): drop the local databases, blobs and pool secret, and
# the ran-* stamps, so network-init, storage-init and the other first-boot units run
# again and the copy gets its PIFs and its local (default) SR back. The copy's new
# UUIDs come from xenlab-new-identity.service, installed by firstboot.sh.
set -eu

# xapi writes state.db when it stops: stop the toolstack before removing its state
# (the daemons of xapi-project/xen-api scripts/xe-toolstack-restart). Stopped, not
# disabled: every copy starts them at boot as a host does.
systemctl stop xapi.service
for svc in xcp-networkd xenopsd-xc squeezed xcp-rrdd forkexecd; do
  systemctl stop "$svc.service" 2>/dev/null || true
done

# XAPI's local databases (ocaml/xapi/xapi_globs.ml, scripts/db.conf.skel); without
# networkd.db, xcp-networkd starts from /etc/firstboot.d/data/management.conf
# (ocaml/networkd/bin/network_server.ml).
rm -f /var/lib/xcp/state.db* /var/lib/xcp/local.db /var/lib/xcp/networkd.db*
if [ -d /var/lib/xcp/blobs ]; then rm -rf /var/lib/xcp/blobs && mkdir -m 0700 /var/lib/xcp/blobs; fi
rm -f /etc/xensource/ptoken
# dom0's NIC naming back to a fresh install's for the hardware it boots on, as XAPI does
# to a host leaving its pool (ocaml/xapi/xapi_pool.ml eject_self -> Net.reset_state,
# ocaml/networkd/bin/network_server.ml reset_state) and xe-reset-networking does
# (python3/bin/xe-reset-networking): without it the rules give eth0 to the build NIC's
# MAC, which no copy has, and a copy's NICs are named by guessing which one replaced it
# (xenserver/python-libs xcp/net/ifrename/logic.py: same PCI slot, else "brand new").
# A host without the tool, where networkd orders the NICs itself from networkd.db
# (removed above), has nothing more to reset. The stand-in's tool is a recording stub.
rename=/etc/sysconfig/network-scripts/interface-rename.py
if [ -x "$rename" ]; then
  "$rename" --reset-to-install
fi
# The first-boot stamps: 8.2 and later (/var/lib/misc/ran-*), and the older
# /etc/firstboot.d/state/ of XenServer 7.x.
rm -f /var/lib/misc/ran-*
rm -rf /etc/firstboot.d/state/*
# Each copy its own iSCSI IQN: generate-iscsi-iqn makes one when neither the host
# record nor iqn.conf has one (xapi-project/xen-api scripts/generate-iscsi-iqn).
rm -f /etc/firstboot.d/data/iqn.conf
# The host's certificates: gencert.service makes new ones when they are missing
# (xapi-project/xen-api scripts/gencert.service, ocaml/gencert/gencert.ml).
rm -f /etc/xensource/xapi-ssl.pem /etc/xensource/xapi-pool-tls.pem \
      /etc/stunnel/xapi-pool-ca-bundle.pem /etc/stunnel/xapi-stunnel-ca-bundle.pem
rm -rf /etc/stunnel/certs /etc/stunnel/certs-pool

# The guest's own identity: machine-id (empty, not missing: systemd makes a new one
# at boot), SSH host keys (made again at boot), DHCP leases, logs.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
rm -rf /var/lib/dhclient/* /var/lib/dhcp/* /var/lib/systemd/network/*
journalctl --rotate >/dev/null 2>&1 || true
journalctl --vacuum-time=1s >/dev/null 2>&1 || true

# requiretty would stop Vagrant's sudo over a non-interactive SSH session.
sed -i 's/^Defaults[[:space:]]*requiretty/# &/' /etc/sudoers
rm -rf /tmp/* /var/tmp/*
: > /root/.bash_history
echo "xenlab: generalised: the next boot is a new host's first boot"
