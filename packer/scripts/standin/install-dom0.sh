#!/bin/sh
# What a XenServer installer leaves on the disk, in stand-in form, so that the
# stand-in's first boot runs the real flavours' scripts: XAPI (xenlab's simulator,
# NOT XenServer) and units standing for its daemons and first-boot units, xe and
# xapi-wait-init-complete where dom0 has them, the inventory and the first-boot data
# (xenserver/host-installer backend.py writes the same files), and no python3 on
# PATH. Then it starts what a host's first boot starts.
set -eu
: "${XENLAB_ROOT_PASSWORD:?the lab password must be passed in the environment}"
files=/tmp/standin-files  # the file provisioner's upload of packer/scripts/standin/standin-files

# The simulator: stdlib-only Python, copied in (no downloads), run by /usr/bin/python3.
rm -rf /opt/xenlab
mkdir -p /opt/xenlab
cp -r /tmp/xenlab /opt/xenlab/
rm -rf /tmp/xenlab
find /opt/xenlab -name __pycache__ -prune -exec rm -rf {} +
chown -R root:root /opt/xenlab
chmod -R go-w /opt/xenlab
# The XenAPI password is the root password, as on a real host; only root reads it.
mkdir -p /etc/xenlab-sim
chmod 0700 /etc/xenlab-sim
(umask 077 && printf '%s' "$XENLAB_ROOT_PASSWORD" > /etc/xenlab-sim/password)
mkdir -p /etc/xapi.d/plugins /var/lib/xcp /var/lib/misc /var/log/xenlab-standin
chmod 0755 /etc/xapi.d /etc/xapi.d/plugins

# dom0's tools where dom0 has them: /opt/xensource/bin (xe also as /usr/bin/xe,
# xapi-project/xen-api Makefile), the first-boot scripts in /opt/xensource/libexec.
mkdir -p /opt/xensource/bin /opt/xensource/libexec
# xe: the simulator's client (/usr/bin/python3 by its full path), on XAPI's socket.
install -m 0755 /opt/xenlab/xenlab/sim/xe /opt/xensource/bin/xe
ln -sf /opt/xensource/bin/xe /usr/bin/xe
install -m 0755 "$files/bin/xapi-wait-init-complete" /opt/xensource/bin/
for script in network-init storage-init control-domain-params-init generate-iscsi-iqn; do
  install -m 0755 "$files/libexec/$script" /opt/xensource/libexec/
done
install -m 0755 "$files/libexec/create-guest-templates-wrapper" /usr/bin/
# interface-rename's tool and data directory, as on an 8.x host whose NICs are named by
# it (xen-api ocaml/networkd/lib/network_config.ml device_already_renamed): a stub.
install -D -m 0755 "$files/bin/interface-rename.py" /etc/sysconfig/network-scripts/interface-rename.py
mkdir -p /etc/sysconfig/network-scripts/interface-rename-data
# First on root's PATH (sudo's secure_path and systemd's default PATH both start with
# /usr/local/sbin): any python3 call from dom0's scripts is recorded and fails.
install -m 0755 "$files/bin/python3" /usr/local/sbin/python3

# The installer's files. Each copy of the box gets new UUIDs at its first boot
# (xenlab-new-identity.service); management.conf and default-storage.conf are what
# network-init and storage-init read.
new_uuid() { cat /proc/sys/kernel/random/uuid; }
cat > /etc/xensource-inventory <<INV
PRODUCT_BRAND='xenlab-standin'
PRODUCT_NAME='xenlab-standin'
PRODUCT_VERSION='8.3.0'
PRODUCT_VERSION_TEXT='8.3'
PRODUCT_VERSION_TEXT_SHORT='8.3'
PLATFORM_NAME='xenlab-sim'
PLATFORM_VERSION='3.4.0'
BUILD_NUMBER='xenlab'
INSTALLATION_DATE='$(date -u '+%Y-%m-%d %H:%M:%S')'
INSTALLATION_UUID='$(new_uuid)'
CONTROL_DOMAIN_UUID='$(new_uuid)'
MANAGEMENT_INTERFACE='xenbr0'
MANAGEMENT_ADDRESS_TYPE='IPv4'
CURRENT_INTERFACES='xenbr0'
PRIMARY_DISK='/dev/xenlab-standin-no-disk'
DOM0_MEM='1024'
DOM0_VCPUS='1'
INV
chmod 0644 /etc/xensource-inventory
mkdir -p /etc/firstboot.d/data /etc/xensource
printf "LABEL='eth0'\nMODE='dhcp'\n" > /etc/firstboot.d/data/management.conf
# The ext SR's device is the disk the box's root file system is on (found by its label, as
# storage-init finds a host's SR partition by a stable /dev/disk name): the simulator's SR is a
# directory on it, linked under /var/run/sr-mount, and SR.create refuses a device that is not there.
printf "XSPARTITIONS='/dev/disk/by-label/xenlab-root'\nXSTYPE='ext'\nPARTITIONS='/dev/disk/by-label/xenlab-root'\nTYPE='ext'\n" \
  > /etc/firstboot.d/data/default-storage.conf
printf "MULTIPATHING_ENABLED='False'\n" > /etc/firstboot.d/data/sr-multipathing.conf
printf 'openvswitch\n' > /etc/xensource/network.conf

# The units, where a package puts them, enabled as on a host.
install -m 0644 "$files"/units/* /usr/lib/systemd/system/
rm -rf "$files"
systemctl daemon-reload
for unit in forkexecd xcp-networkd squeezed xcp-rrdd xenopsd-xc xapi xapi-wait-init-complete \
            network-init storage-init control-domain-params-init generate-iscsi-iqn create-guest-templates; do
  systemctl enable "$unit.service" >/dev/null 2>&1
done
# This boot becomes the host's first boot: start what multi-user.target now wants.
# --no-block: firstboot.sh waits for it, bounded.
systemctl start --no-block multi-user.target
echo "xenlab: stand-in dom0 installed: XAPI is xenlab's simulator (NOT XenServer); first boot started"
