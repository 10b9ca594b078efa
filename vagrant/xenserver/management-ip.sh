#!/bin/bash
# Make the lab's private address the host's management (XenAPI) address, and name
# the host. XAPI owns the host's PIFs, so this goes through `xe` only, never the
# guest's network files; the stand-in's xe is backed by xenlab's simulator, which
# applies the same changes to its machine. bash, coreutils and xe: dom0 of XCP-ng 8.2
# and XenServer 7.1 has no python3 (CentOS 7.5 base).
# Usage: management-ip.sh MAC IP NETMASK HOSTNAME
set -eu
mac=$1 ip=$2 netmask=$3 name=$4

say() { echo "xenlab: $*"; }
fail() { echo "xenlab: $*" >&2; exit 1; }

# The box's first boot (new identity, XAPI, network-init, storage-init) must be over
# before its PIFs are touched (installed by packer/scripts/xenserver/firstboot.sh).
/usr/local/libexec/xenlab/xenlab-wait-first-boot 900

# shellcheck disable=SC1091
. /etc/xensource-inventory
host=$INSTALLATION_UUID

pif=$(xe pif-list host-uuid="$host" MAC="$mac" params=uuid --minimal)
if [ -z "$pif" ]; then
  # A NIC XAPI has not seen yet (xapi-project/xen-api scripts/network-init scans first too).
  xe pif-scan host-uuid="$host"
  pif=$(xe pif-list host-uuid="$host" MAC="$mac" params=uuid --minimal)
fi
[ -n "$pif" ] || fail "XAPI has no PIF with MAC $mac on host $host"

pif_has() { [ "$(xe pif-param-get uuid="$pif" param-name="$1")" = "$2" ]; }
# Field names and values as xe prints them (xapi-project/xen-api ocaml/xapi-cli-server/records.ml).
if ! { pif_has IP-configuration-mode Static && pif_has IP "$ip" && pif_has netmask "$netmask"; }; then
  xe pif-reconfigure-ip uuid="$pif" mode=static IP="$ip" netmask="$netmask"
fi
# The old management PIF stays plugged and keeps its address (Vagrant's SSH uses it):
# XAPI only moves the management role (ocaml/xapi/xapi_host.ml management_reconfigure).
if ! pif_has management true; then
  # It also keeps dom0's default route and DNS (the lab's network has no gateway). XAPI
  # gives both to the management PIF unless a PIF says other-config:defaultroute=true /
  # peerdns=true (xen-api ocaml/xapi/helpers.ml determine_gateway_and_dns_ifs, called by
  # nm.ml bring_pif_up); xcp-networkd then stops the other NICs' dhclient asking for
  # routers and DNS servers from their next start (ocaml/networkd/bin/network_server.ml
  # set_gateway_interface, lib/network_utils.ml Dhclient.generate_conf): a reboot would
  # leave dom0 with neither. Set before the move, so the move keeps them where they are.
  nat=$(xe pif-list host-uuid="$host" management=true params=uuid --minimal)
  if [ -n "$nat" ]; then
    xe pif-param-set uuid="$nat" other-config:defaultroute=true
    xe pif-param-set uuid="$nat" other-config:peerdns=true
  fi
  xe host-management-reconfigure pif-uuid="$pif"
fi
# Both the API's and the system's host name; Vagrant's own hostname step would run
# `service network restart` in dom0 (hashicorp/vagrant
# plugins/guests/redhat/cap/change_host_name.rb).
xe host-set-hostname-live host-uuid="$host" host-name="$name"

# XenAPI answers on the new address (bash's /dev/tcp: no curl or python needed).
tries=0
until timeout 3 bash -c "exec 3<>/dev/tcp/$ip/80" 2>/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || fail "nothing answers on $ip:80 after 30 tries"
  sleep 2
done
say "XAPI management interface is now $ip (PIF $pif), host name $name"
