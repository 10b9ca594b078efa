"""The records of a realistic pool, shaped like an XCP-ng 8.3 host's.

`seed` fills a pool of N configured hosts (PIF, local ext SR, default SR set) for
tests and `invoke sim`; `first_boot` makes the database XAPI has on a freshly
installed host before its first-boot scripts ran: pool, host and control domain
with the inventory's UUIDs, host metrics, SM plugins, and no PIF and no SR
(network-init and storage-init create those through xe).

Everything Nova reports is derived from these records: host_metrics memory,
host.cpu_info, the default SR's physical_size, PCI records, VMs resident on the
host. Edit the values here (or the records at run time) and the report follows.
To model more of a host, add records and fields: the store serves every field
through the generic getters, so no code path is needed.
"""

from __future__ import annotations

import ipaddress

from . import BRAND
from .machine import DISKS
from .store import NULL_REF, Store

# What the stand-in models: an XCP-ng 8.3 host, whose dom0 still runs the Python 2
# that os-xenapi's plugins need. The brand says what it is: a stand-in.
API_VERSION = (2, 21)  # xcp-ng-rpms/xapi branch 8.3 SPECS/xapi.spec api_version_major/minor
XAPI_VERSION = "26.1.4"  # xcp-ng-rpms/xapi branch 8.3 SPECS/xapi.spec Version
SOFTWARE_VERSION = {
    # xapi-project/xen-api ocaml/xapi/xapi_globs.ml software_version (from /etc/xensource-inventory,
    # whose values xcp-ng-rpms/xcp-ng-release SPECS/xcp-ng-release.spec writes) and
    # ocaml/xapi/create_misc.ml make_software_version.
    "product_version": "8.3.0",  # xcp-ng-release.spec PRODUCT_VERSION
    "product_version_text": "8.3",  # PRODUCT_VERSION_TEXT
    "product_version_text_short": "8.3",  # PRODUCT_VERSION_TEXT_SHORT
    "platform_name": "XCP",  # XCP-ng's branding, as an 8.3 host's xapi logs it
    "platform_version": "3.4.0",  # xcp-ng-release.spec PLATFORM_VERSION
    "product_brand": BRAND,  # a real host says XCP-ng; this one says it is a stand-in
    "xapi": ".".join(XAPI_VERSION.split(".")[:2]),  # xapi_globs.ml: major.minor
    "build_number": "8.3.0",  # xcp-ng-release.spec BUILD_NUMBER
    "hostname": "localhost",  # ocaml/util/xapi_version.ml hostname
    "xapi_build": XAPI_VERSION,
    "xen": "4.17.6",  # xcp-ng-rpms/xen master SPECS/xen.spec Version (the 8.3 line)
    "linux": "4.19.0+1",  # xcp-ng-rpms/kernel master SPECS/kernel.spec uname
    "xencenter_min": "%d.%d" % API_VERSION,  # xapi_globs.ml: the API version
    "xencenter_max": "%d.%d" % API_VERSION,
    "network_backend": "openvswitch",
    "db_schema": "5.793",  # ocaml/idl/datamodel_common.ml schema_major_vsn.schema_minor_vsn at v26.1.4
}
GIB = 1024 ** 3
MIB = 1024 ** 2
HOST_MEMORY = 8 * GIB
HOST_MEMORY_OVERHEAD = 600 * MIB
DOM0_MEMORY = 2 * GIB
SR_DEVICE = "/dev/sda3"
SR_SIZE = DISKS[SR_DEVICE]  # the local SR fills its partition of the simulated disk (machine.py)

# host.cpu_info as ocaml/xapi/create_misc.ml create_host_cpu writes it (values are
# strings); a 2-vCPU Intel guest CPU, as QEMU's default x86-64 model reports itself.
CPU_INFO = {
    "cpu_count": "2", "socket_count": "1", "threads_per_core": "1", "nr_nodes": "1",
    "vendor": "GenuineIntel", "speed": "2394.454", "modelname": "xenlab-standin virtual CPU",
    "family": "6", "model": "85", "stepping": "7",
    "flags": "fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht "
             "syscall nx lm constant_tsc rep_good nopl nonstop_tsc pni pclmulqdq ssse3 fma cx16 sse4_1 "
             "sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm",
    "features_pv": "17c9cbf5-f6f83203-2191cbf5-00000123-00000007-009c0fbf-00000000-00000000-00001000-"
                   "ac000400-00000000-00000000",
    "features_hvm": "17cbfbff-f7fa3223-2d93fbff-00000523-00000009-009c0fbf-00000000-00000000-00001000-"
                    "bc000400-00000000-00000000",
    "features_pv_host": "17c9cbf5-f6f83203-2191cbf5-00000123-00000007-009c0fbf-00000000-00000000-"
                        "00001000-ac000400-00000000-00000000",
    "features_hvm_host": "17cbfbff-f7fa3223-2d93fbff-00000523-00000009-009c0fbf-00000000-00000000-"
                         "00001000-bc000400-00000000-00000000",
}
CAPABILITIES = ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"]

# The PCI devices of a QEMU i440fx machine (lspci -vmmnk in such a guest).
PCI_DEVICES = [
    {"pci_id": "0000:00:00.0", "class_id": "0600", "class_name": "Host bridge", "vendor_id": "8086",
     "vendor_name": "Intel Corporation", "device_id": "1237", "device_name": "440FX - 82441FX PMC [Natoma]",
     "subsystem_vendor_id": "1af4", "subsystem_device_id": "1100", "driver_name": ""},
    {"pci_id": "0000:00:01.0", "class_id": "0601", "class_name": "ISA bridge", "vendor_id": "8086",
     "vendor_name": "Intel Corporation", "device_id": "7000", "device_name": "82371SB PIIX3 ISA [Natoma/Triton II]",
     "subsystem_vendor_id": "1af4", "subsystem_device_id": "1100", "driver_name": ""},
    {"pci_id": "0000:00:01.1", "class_id": "0101", "class_name": "IDE interface", "vendor_id": "8086",
     "vendor_name": "Intel Corporation", "device_id": "7010", "device_name": "82371SB PIIX3 IDE [Natoma/Triton II]",
     "subsystem_vendor_id": "1af4", "subsystem_device_id": "1100", "driver_name": "ata_piix"},
    {"pci_id": "0000:00:03.0", "class_id": "0200", "class_name": "Ethernet controller", "vendor_id": "8086",
     "vendor_name": "Intel Corporation", "device_id": "100e", "device_name": "82540EM Gigabit Ethernet Controller",
     "subsystem_vendor_id": "1af4", "subsystem_device_id": "1100", "driver_name": "e1000"},
]

# SM plugins registered at start (ocaml/xapi/xapi_sm.ml create_from_query_result) from
# xcp-ng/sm branch 3.2.12-8.3 drivers/EXTSR.py, udevSR.py, ISOSR.py DRIVER_INFO.
_CITRIX = {"vendor": "Citrix Systems Inc", "copyright": "(C) 2008 Citrix Systems Inc", "version": "1.0"}
SM_PLUGINS = [
    {"type": "ext", "name_label": "Local EXT3 VHD", "required_api_version": "1.0",
     "name_description": "SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, "
                         "created inside an LVM volume",
     "configuration": {"device": "local device path (required) (e.g. /dev/sda3)"},
     "features": {"SR_PROBE": "1", "SR_UPDATE": "1", "SR_SUPPORTS_LOCAL_CACHING": "1", "VDI_CREATE": "1",
                  "VDI_DELETE": "1", "VDI_ATTACH": "1", "VDI_DETACH": "1", "VDI_UPDATE": "1", "VDI_CLONE": "1",
                  "VDI_SNAPSHOT": "1", "VDI_RESIZE": "1", "VDI_MIRROR": "1", "VDI_GENERATE_CONFIG": "1",
                  "VDI_RESET_ON_BOOT": "2", "VDI_CONFIG_CBT": "1", "VDI_ACTIVATE": "1", "VDI_DEACTIVATE": "1",
                  "THIN_PROVISIONING": "1", "VDI_READ_CACHING": "1"},
     "driver_filename": "/opt/xensource/sm/EXTSR"},
    {"type": "udev", "name_label": "udev", "required_api_version": "1.1",
     "name_description": "SR plugin which represents devices plugged in via udev as VDIs",
     "configuration": {"location": "path to mount (required) (e.g. server:/path)"},
     "features": {"VDI_INTRODUCE": "1", "VDI_ATTACH": "1", "VDI_DETACH": "1", "VDI_UPDATE": "1", "SR_UPDATE": "1"},
     "driver_filename": "/opt/xensource/sm/udevSR"},
    {"type": "iso", "name_label": "ISO", "required_api_version": "1.0",
     "name_description": "Handles CD images stored as files in iso format",
     "configuration": {"location": "path to mount (required) (e.g. server:/path)",
                       "options": "extra options to pass to mount (e.g. '-o ro')", "type": "cifs (SMB) or nfs_iso"},
     "features": {"VDI_CREATE": "1", "VDI_DELETE": "1", "VDI_ATTACH": "1", "VDI_DETACH": "1", "SR_SCAN": "1",
                  "SR_ATTACH": "1", "SR_DETACH": "1"},
     "driver_filename": "/opt/xensource/sm/ISOSR"},
]


def _host_ips(management_ip: str, count: int) -> list[str]:
    first = ipaddress.IPv4Address(management_ip)
    return [str(first + i) for i in range(count)]


def add_pool_basics(store: Store) -> dict:
    """What every XAPI database has: the pool, the internal management network, SM plugins."""
    internal = store.add("network", {
        "name_label": "Host internal management network",
        "name_description": "Network on which guests will be assigned a private link-local IP address which "
                            "can be used to talk XenAPI",
        "bridge": "xenapi", "MTU": 1500, "managed": True,
        "other_config": {"is_guest_installer_network": "true", "is_host_internal_management_network": "true",
                         "ip_begin": "169.254.0.1", "ip_end": "169.254.255.254", "netmask": "255.255.0.0"},
    })
    pool = store.add("pool", {"name_label": "", "master": NULL_REF, "default_SR": NULL_REF,
                              "suspend_image_SR": NULL_REF, "crash_dump_SR": NULL_REF,
                              "tls_verification_enabled": True})
    for plugin in SM_PLUGINS:
        store.add("SM", {**_CITRIX, **plugin, "capabilities": list(plugin["features"])})
    return {"pool": pool, "internal_network": internal}


def add_host(store: Store, name: str, address: str, uuid: str | None = None, dom0_uuid: str | None = None,
             cpu_info: dict | None = None, memory_total: int = HOST_MEMORY, memory_free: int | None = None) -> dict:
    """A host with its metrics, control domain and PCI devices (no PIF, no SR)."""
    dom0_memory = DOM0_MEMORY
    if memory_free is None:
        memory_free = memory_total - DOM0_MEMORY - HOST_MEMORY_OVERHEAD
    else:
        # The machine is the host (--guest): what it uses beyond Xen's overhead is its control
        # domain's, so memory_check.ml's free memory starts at what the machine has free.
        dom0_memory = max(0, memory_total - memory_free - HOST_MEMORY_OVERHEAD)
    metrics = store.add("host_metrics", {"memory_total": memory_total, "memory_free": max(0, memory_free),
                                         "live": True})
    host = store.add("host", {
        "name_label": name, "name_description": "xenlab XenAPI simulator (a stand-in, not XenServer)",
        "hostname": name, "address": address, "enabled": True, "metrics": metrics,
        "API_version_major": API_VERSION[0], "API_version_minor": API_VERSION[1],
        "API_version_vendor": "XenSource", "software_version": dict(SOFTWARE_VERSION),
        "capabilities": list(CAPABILITIES), "cpu_info": dict(cpu_info or CPU_INFO),
        "supported_bootloaders": ["pygrub", "eliloader"], "memory_overhead": HOST_MEMORY_OVERHEAD,
        "other_config": {"agent_start_time": "1735689600.", "boot_time": "1735689600.",
                         "iscsi_iqn": f"iqn.2024-10.org.xenlab:{name}"},
        "iscsi_iqn": f"iqn.2024-10.org.xenlab:{name}", "edition": "xcp-ng", "sched_policy": "credit",
        "license_params": {}, "power_on_mode": "", "display": "enabled", "tls_verification_enabled": True,
        "virtual_hardware_platform_versions": ["0", "1", "2"], "https_only": False,
        **({"uuid": uuid} if uuid else {}),
    })
    dom0 = store.add("VM", {
        "name_label": f"Control domain on host: {name}",
        "name_description": "The domain which manages physical devices and manages other domains",
        "is_control_domain": True, "power_state": "Running", "domid": 0, "resident_on": host,
        "affinity": host, "memory_static_max": dom0_memory, "memory_dynamic_max": dom0_memory,
        "memory_dynamic_min": dom0_memory, "memory_static_min": dom0_memory, "memory_target": dom0_memory,
        "VCPUs_max": 2, "VCPUs_at_startup": 2, "other_config": {"storage_driver_domain": ""},
        "domain_type": "pv", "user_version": 1, **({"uuid": dom0_uuid} if dom0_uuid else {}),
    })
    pcis = [store.add("PCI", {**device, "host": host}) for device in PCI_DEVICES]
    store.update("host", host, resident_VMs=[dom0], control_domain=dom0, PCIs=pcis)
    return {"host": host, "control_domain": dom0, "host_metrics": metrics}


def add_pif(store: Store, host: str, device: str, mac: str, network: str | None = None, mtu: int = 1500) -> str:
    """A physical PIF and its network ("Pool-wide network associated with <device>", bridge xenbrN),
    as ocaml/xapi/xapi_pif.ml introduce_internal and find_or_create_network make them."""
    bridge = "xenbr" + device[3:] if device.startswith("eth") and device[3:].isdigit() else f"br{device}"
    if network is None:
        found = store.find("network", bridge=bridge)
        network = found[0] if found else store.add("network", {
            "name_label": f"Pool-wide network associated with {device}", "bridge": bridge, "MTU": 1500,
            "managed": True, "PIFs": []})
    metrics = store.add("PIF_metrics", {"carrier": True, "device_name": device, "speed": 1000, "duplex": True})
    pif = store.add("PIF", {
        "device": device, "host": host, "network": network, "MAC": mac.lower(), "MTU": mtu, "VLAN": -1,
        "metrics": metrics, "physical": True, "managed": True, "currently_attached": False,
        "ip_configuration_mode": "None", "ipv6_configuration_mode": "None", "primary_address_type": "IPv4",
        "bond_slave_of": NULL_REF, "VLAN_master_of": NULL_REF, "PCI": NULL_REF,
    })
    store.update("host", host, PIFs=store.record("host", host).get("PIFs", []) + [pif])
    store.update("network", network, PIFs=store.record("network", network).get("PIFs", []) + [pif])
    return pif


def add_sr(store: Store, host: str, name_label: str, sr_type: str, device_config: dict,
           physical_size: int, content_type: str = "user", shared: bool = False, sm_config: dict | None = None,
           name_description: str = "", other_config: dict | None = None) -> tuple[str, str]:
    """An SR attached to `host` through a PBD (what SR.create leaves behind)."""
    sr = store.add("SR", {
        "name_label": name_label, "name_description": name_description, "type": sr_type,
        "content_type": content_type, "shared": shared, "physical_size": physical_size,
        "sm_config": dict(sm_config or {}), "other_config": dict(other_config or {}),
        "allowed_operations": ["vdi_create", "vdi_destroy", "scan", "update"], "introduced_by": NULL_REF,
    })
    pbd = store.add("PBD", {"host": host, "SR": sr, "device_config": dict(device_config),
                            "currently_attached": True})
    store.update("SR", sr, PBDs=[pbd])
    store.update("host", host, PBDs=store.record("host", host).get("PBDs", []) + [pbd])
    return sr, pbd


def seed(store: Store, management_ip: str = "127.0.0.1", pool_size: int = 1) -> dict:
    """Fill the store with one configured pool of `pool_size` hosts; returns the master's refs."""
    basics = add_pool_basics(store)
    hosts = []
    for index, ip in enumerate(_host_ips(management_ip, pool_size)):
        name = f"xenlab-sim-{index}"
        refs = add_host(store, name, ip)
        pif = add_pif(store, refs["host"], "eth0", f"52:54:00:00:{index // 256:02x}:{index % 256:02x}")
        store.update("PIF", pif, management=True, currently_attached=True, IP=ip, netmask="255.255.255.0",
                     ip_configuration_mode="Static", disallow_unplug=False)
        sr, _ = add_sr(store, refs["host"], "Local storage", "ext", {"device": SR_DEVICE}, SR_SIZE,
                       sm_config={"devserial": "xenlab-sim"}, other_config={"i18n-key": "local-storage"})
        store.update("host", refs["host"], suspend_image_sr=sr, crash_dump_sr=sr)
        hosts.append({**refs, "sr": sr, "pif": pif})
    master = hosts[0]
    store.update("pool", basics["pool"], master=master["host"], default_SR=master["sr"],
                 suspend_image_SR=master["sr"], crash_dump_SR=master["sr"])
    return {"pool": basics["pool"], **master, "hosts": [h["host"] for h in hosts]}


def first_boot(store: Store, installation_uuid: str, control_domain_uuid: str, hostname: str,
               address: str = "", cpu_info: dict | None = None, memory_total: int = HOST_MEMORY,
               memory_free: int | None = None) -> dict:
    """The database of a host whose first-boot scripts have not run yet. As xapi does, the
    host is INSTALLATION_UUID (ocaml/xapi/helpers.ml get_localhost_uuid) and the control
    domain CONTROL_DOMAIN_UUID (ocaml/xapi/create_misc.ml) of /etc/xensource-inventory."""
    basics = add_pool_basics(store)
    refs = add_host(store, hostname, address, uuid=installation_uuid, dom0_uuid=control_domain_uuid,
                    cpu_info=cpu_info, memory_total=memory_total, memory_free=memory_free)
    store.update("pool", basics["pool"], master=refs["host"])
    return {"pool": basics["pool"], **refs, "sr": NULL_REF, "pif": NULL_REF, "hosts": [refs["host"]]}
