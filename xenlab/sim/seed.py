"""The records of a realistic pool, shaped like those a XCP-ng 8.2 host returns.

To model more of a host, add records and fields here: the store serves every
field through the generic getters, so no code path is needed.
"""

from __future__ import annotations

import ipaddress

from . import BRAND
from .store import NULL_REF, Store

# What the stand-in models: the XenAPI of an XCP-ng 8.2 host (API 2.16), whose dom0
# still has the Python 2 that os-xenapi's plugins need. The brand says what it is.
SOFTWARE_VERSION = {
    "product_brand": BRAND,
    "product_version": "8.2.1",
    "product_version_text": "8.2",
    "product_version_text_short": "8.2",
    "platform_name": "xenlab-sim",
    "platform_version": "3.2.1",
    "build_number": "xenlab",
    "xapi": "1.20",
    "xen": "4.13.5",
    "linux": "4.19.0+1",
    "dbv": "0.0.1",
    "network_backend": "openvswitch",
    "xencenter_min": "2.16",
    "xencenter_max": "2.16",
}
API_VERSION = ("2", "16")
GIB = 1024 ** 3


def _host_ips(management_ip: str, count: int) -> list[str]:
    first = ipaddress.IPv4Address(management_ip)
    return [str(first + i) for i in range(count)]


def seed(store: Store, management_ip: str = "127.0.0.1", pool_size: int = 1) -> dict:
    """Fill the store with one pool of `pool_size` hosts; returns the master's refs."""
    store.add("network", {
        "name_label": "Host internal management network",
        "name_description": "Network on which guests will be assigned a private link-local IP address",
        "bridge": "xenapi", "MTU": "1500", "PIFs": [], "VIFs": [], "managed": True,
        "other_config": {"is_guest_installer_network": "true", "is_host_internal_management_network": "true",
                         "ip_begin": "169.254.0.1", "ip_end": "169.254.255.254", "netmask": "255.255.0.0"},
        "tags": [], "allowed_operations": [], "current_operations": {}, "blobs": {},
    })
    public = store.add("network", {
        "name_label": "Pool-wide network associated with eth0", "name_description": "",
        "bridge": "xenbr0", "MTU": "1500", "PIFs": [], "VIFs": [], "managed": True,
        "other_config": {}, "tags": [], "allowed_operations": [], "current_operations": {}, "blobs": {},
    })
    pool = store.add("pool", {
        "name_label": "", "name_description": "", "master": NULL_REF, "default_SR": NULL_REF,
        "suspend_image_SR": NULL_REF, "crash_dump_SR": NULL_REF, "ha_enabled": False,
        "other_config": {}, "tags": [], "restrictions": {}, "cpu_info": {},
    })
    hosts = []
    for index, ip in enumerate(_host_ips(management_ip, pool_size)):
        hosts.append(_add_host(store, index, ip, public))
    master = hosts[0]
    store.record("pool", pool).update({
        "master": master["host"], "default_SR": master["sr"],
        "suspend_image_SR": master["sr"], "crash_dump_SR": master["sr"],
    })
    return {"pool": pool, **master, "hosts": [h["host"] for h in hosts]}


def _add_host(store: Store, index: int, ip: str, public: str) -> dict:
    name = f"xenlab-sim-{index}"
    host = store.add("host", {
        "name_label": name, "name_description": "xenlab XenAPI simulator (a stand-in, not XenServer)",
        "hostname": name, "address": ip, "enabled": True,
        "API_version_major": API_VERSION[0], "API_version_minor": API_VERSION[1],
        "API_version_vendor": "XenSource", "API_version_vendor_implementation": {},
        "software_version": dict(SOFTWARE_VERSION, hostname=name),
        "capabilities": ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_64"],
        "cpu_info": {"cpu_count": "2", "socket_count": "1", "vendor": "GenuineIntel", "modelname": "xenlab-sim"},
        "memory_overhead": str(600 * 1024 ** 2), "resident_VMs": [], "PIFs": [], "PBDs": [],
        "other_config": {"agent_start_time": "0.", "iscsi_iqn": f"iqn.2024-01.org.xenlab:{name}"},
        "logging": {}, "tags": [], "local_cache_sr": NULL_REF, "control_domain": NULL_REF,
        "allowed_operations": [], "current_operations": {}, "external_auth_type": "",
        "license_params": {}, "edition": "xcp-ng", "bios_strings": {}, "chipset_info": {},
    })
    dom0 = store.add("VM", {
        "name_label": f"Control domain on host: {name}", "name_description": "The domain which manages physical devices and manages other domains",
        "is_control_domain": True, "is_a_template": False, "is_a_snapshot": False,
        "power_state": "Running", "domid": "0", "resident_on": host, "affinity": host,
        "memory_static_max": str(2 * GIB), "memory_dynamic_max": str(2 * GIB),
        "memory_target": str(2 * GIB), "VCPUs_max": "2", "VCPUs_at_startup": "2",
        "VIFs": [], "VBDs": [], "other_config": {"storage_driver_domain": ""}, "tags": [],
        "PV_kernel": "", "HVM_boot_policy": "", "platform": {}, "xenstore_data": {},
    })
    sr = store.add("SR", {
        "name_label": "Local storage", "name_description": "", "type": "ext", "content_type": "user",
        "shared": False, "physical_size": str(50 * GIB), "physical_utilisation": str(3 * GIB),
        "virtual_allocation": "0", "PBDs": [], "VDIs": [], "other_config": {"i18n-key": "local-storage"},
        "sm_config": {"devserial": "xenlab-sim"}, "tags": [], "allowed_operations": [], "current_operations": {},
    })
    pbd = store.add("PBD", {
        "host": host, "SR": sr, "device_config": {"device": "/dev/sda3"},
        "currently_attached": True, "other_config": {},
    })
    pif = store.add("PIF", {
        "device": "eth0", "host": host, "network": public, "management": True, "physical": True,
        "currently_attached": True, "IP": ip, "netmask": "255.255.255.0", "gateway": "",
        "DNS": "", "ip_configuration_mode": "Static", "MAC": f"52:54:00:00:00:{index % 256:02x}",
        "MTU": "1500", "VLAN": "-1", "primary_address_type": "IPv4", "IPv6": [],
        "ipv6_configuration_mode": "None", "other_config": {}, "bond_slave_of": NULL_REF,
    })
    store.record("host", host).update({
        "resident_VMs": [dom0], "PIFs": [pif], "PBDs": [pbd], "control_domain": dom0,
    })
    store.record("SR", sr)["PBDs"].append(pbd)
    store.record("network", public)["PIFs"].append(pif)
    return {"host": host, "control_domain": dom0, "sr": sr, "pif": pif}
