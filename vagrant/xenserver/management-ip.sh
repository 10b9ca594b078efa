#!/bin/sh
# Make the private network's address the host's management (XenAPI) address.
# XAPI owns a real host's PIFs, so this goes through `xe`, never the guest's own
# network files. The stand-in has no XAPI: common/static-ip.sh has already set the
# address, and the XenAPI simulator is told which address to report.
# Usage: management-ip.sh MAC IP NETMASK HOSTNAME standin|xapi
set -eu
mac=$1 ip=$2 netmask=$3 name=$4 kind=$5

wait_for_port80() {
  tries=0
  until python3 -c "import socket,sys; socket.create_connection((sys.argv[1], 80), 2).close()" "$1" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "xenlab: nothing answers on $1:80 after 30 tries" >&2
      exit 1
    fi
    sleep 1
  done
}

case $kind in
standin)
  echo "xenlab: stand-in flavour: no XAPI here; the XenAPI simulator reports $ip as its management address"
  mkdir -p /etc/default
  printf 'XENLAB_SIM_ARGS="--management-ip %s"\n' "$ip" > /etc/default/xenlab-sim
  systemctl restart xenlab-sim
  hostnamectl set-hostname "$name"
  wait_for_port80 "$ip"
  ;;
xapi)
  host=$(xe host-list --minimal)
  pif=$(xe pif-list MAC="$mac" host-uuid="$host" params=uuid --minimal)
  if [ -z "$pif" ]; then
    xe pif-scan host-uuid="$host"
    pif=$(xe pif-list MAC="$mac" host-uuid="$host" params=uuid --minimal)
  fi
  if [ -z "$pif" ]; then
    echo "xenlab: XAPI has no PIF with MAC $mac" >&2
    exit 1
  fi
  if [ "$(xe pif-param-get uuid="$pif" param-name=IP)" != "$ip" ]; then
    xe pif-reconfigure-ip uuid="$pif" mode=static IP="$ip" netmask="$netmask"
  fi
  mgmt=$(xe pif-list management=true host-uuid="$host" params=uuid --minimal)
  if [ "$mgmt" != "$pif" ]; then
    # Vagrant reaches the host through the old management NIC: keep it plugged.
    xe pif-param-set uuid="$mgmt" disallow-unplug=true
    xe host-management-reconfigure pif-uuid="$pif"
  fi
  xe host-set-hostname-live host-uuid="$host" host-name="$name"
  wait_for_port80 "$ip"
  echo "xenlab: XAPI management interface is now $ip (PIF $pif)"
  ;;
*)
  echo "xenlab: unknown host kind '$kind' (standin or xapi)" >&2
  exit 2
  ;;
esac
