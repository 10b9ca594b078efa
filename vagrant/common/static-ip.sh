#!/bin/sh
# Give the lab's private NIC its static address, now and on every boot.
# Vagrant's own network configuration is off for this NIC (auto_config: false),
# so the guest is found by the fixed MAC the lab spec gave the NIC.
# Usage: static-ip.sh MAC IP NETMASK
set -eu
mac=$1 ip=$2 netmask=$3

iface=""
for dev in /sys/class/net/*; do
  if [ "$(cat "$dev/address")" = "$mac" ]; then iface=${dev##*/}; fi
done
if [ -z "$iface" ]; then
  echo "xenlab: no network interface with MAC $mac in this guest" >&2
  exit 1
fi

prefix=0
old_ifs=$IFS; IFS=.
for octet in $netmask; do
  while [ "$octet" -gt 0 ]; do
    prefix=$((prefix + (octet & 1))); octet=$((octet >> 1))
  done
done
IFS=$old_ifs

# systemd-networkd (Debian's stand-in box; netplan's backend on Ubuntu): a file in
# /etc sorts before netplan's, so it wins for this NIC.
mkdir -p /etc/systemd/network
cat > /etc/systemd/network/10-xenlab-private.network <<NET
[Match]
MACAddress=$mac

[Network]
Address=$ip/$prefix
LinkLocalAddressing=no
IPv6AcceptRA=no
NET

ip link set "$iface" up
ip addr replace "$ip/$prefix" dev "$iface"
if command -v networkctl >/dev/null 2>&1 && systemctl is-active --quiet systemd-networkd; then
  { networkctl reload && networkctl reconfigure "$iface"; } >/dev/null 2>&1 || true
fi
echo "xenlab: $iface ($mac) has $ip/$prefix on the lab's private network"
