"""XenAPI messages with behaviour of their own (the generic ones are in store.py).

Each is registered with its parameters' wire types, in the order XAPI's datamodel
gives them; the handler gets the Api and the unmarshalled parameters (after the
session). Behaviour follows xapi-project/xen-api ocaml/xapi/*.ml at v26.1.4, cited
per message. What the machine must do (a NIC address, a hostname, an SR directory)
goes through api.machine (machine.py), so the same code serves tests and the
stand-in box.
"""

from __future__ import annotations

import ipaddress

from . import memory, plugins, routing, seed, storage, xapitypes
from .failure import Failure
from .registry import MESSAGES, Message, P, Param, message, ref  # noqa: F401  (the table lives in registry.py)
from .store import NULL_REF

S, B, I, M = xapitypes.STRING, xapitypes.BOOL, xapitypes.INT, xapitypes.MAP


# ------------------------------------------------------------------ session (xapi_session.ml)


@message("session.login_with_password", P("uname", S), P("pwd", S), P("version", S, "1.0"),
         P("originator", S, ""), session=False)
def login_with_password(api, uname, pwd, version, originator):
    return api.login(uname, pwd, version, originator)


@message("session.slave_local_login_with_password", P("uname", S), P("pwd", S), session=False)
def slave_local_login_with_password(api, uname, pwd):
    return api.login(uname, pwd, "1.0", "")


@message("session.logout")
def logout(api):
    api.sessions.destroy(api.current_session)
    return ""


@message("session.local_logout")
def local_logout(api):
    api.sessions.destroy(api.current_session)
    return ""


# ------------------------------------------------------------------ host (xapi_host.ml)


@message("host.call_plugin", ref("host", "host"), P("plugin", S), P("fn", S), P("args", M))
def host_call_plugin(api, host, plugin, fn, args):
    api.store.record("host", host)
    return plugins.call(api.plugin_dir, plugin, fn, args, api=api, host=host)


@message("host.compute_free_memory", ref("host", "host"), readonly=True)
def host_compute_free_memory(api, host):
    """memory_check.ml host_compute_free_memory_with_maximum_compression (memory.py): total
    minus the host's overhead minus each resident or scheduled VM's dynamic_min and overhead."""
    return memory.compute_free(api.store, host)


@message("host.get_management_interface", ref("host", "host"), readonly=True)
def host_get_management_interface(api, host):
    api.store.record("host", host)
    found = api.store.find("PIF", host=host, management=True)
    if not found:
        raise Failure("PIF_NOT_PRESENT", host, "")
    return found[0]


def _valid_hostname(hostname: str) -> None:
    # xapi_host.ml set_hostname_live: letters, digits, '-' and '.'; no '-' at either end.
    if not hostname:
        raise Failure("HOST_NAME_INVALID", "hostname empty")
    if len(hostname) > 255:
        raise Failure("HOST_NAME_INVALID", "hostname is too long")
    allowed = all(c.isascii() and (c.isalnum() or c in "-.") for c in hostname)
    if not allowed or hostname[0] == "-" or hostname[-1] == "-":
        raise Failure("HOST_NAME_INVALID", "hostname contains invalid characters")


@message("host.set_hostname_live", ref("host", "host"), P("hostname", S))
def host_set_hostname_live(api, host, hostname):
    rec = api.store.record("host", host)
    _valid_hostname(hostname)
    api.machine.set_hostname(hostname)
    api.store.update("host", host, hostname=hostname)
    # helpers.ml update_domain_zero_name: the control domain's default label follows.
    dom0 = rec.get("control_domain", NULL_REF)
    if dom0 in api.store.classes.get("VM", {}):
        label = api.store.record("VM", dom0).get("name_label", "")
        if label.startswith("Control domain on host: "):
            api.store.update("VM", dom0, name_label=f"Control domain on host: {hostname}")
    return ""


@message("host.disable", ref("host", "host"), P("auto_enable", B, True))
def host_disable(api, host, auto_enable):
    api.store.update("host", host, enabled=False)
    return ""


@message("host.enable", ref("host", "host"))
def host_enable(api, host):
    api.store.update("host", host, enabled=True)
    return ""


@message("host.enable_local_storage_caching", ref("host", "host"), ref("SR", "sr"))
def host_enable_local_storage_caching(api, host, sr):
    api.store.record("host", host)
    api.store.record("SR", sr)
    api.store.update("host", host, local_cache_sr=sr)
    api.store.update("SR", sr, local_cache_enabled=True)
    return ""


@message("host.management_reconfigure", ref("PIF", "pif"))
def host_management_reconfigure(api, pif):
    """xapi_host.ml management_reconfigure: the PIF's network becomes the management
    interface (the inventory's MANAGEMENT_INTERFACE); update_management_flags moves the
    flag; the host's address follows the management PIF (xapi_mgmt_iface.ml)."""
    store = api.store
    rec = store.record("PIF", pif)
    pools = store.classes.get("pool", {})
    if any(p.get("ha_enabled") for p in pools.values()):
        raise Failure("HA_IS_ENABLED")
    if rec.get("managed", True):
        if rec.get("bond_slave_of", NULL_REF) in store.classes.get("Bond", {}):
            raise Failure("PIF_ALREADY_BONDED", pif)
        # xapi_pif.ml assert_valid_ip_configuration
        if rec.get("primary_address_type", "IPv4") == "IPv4" and rec.get("ip_configuration_mode") == "None":
            raise Failure("PIF_HAS_NO_NETWORK_CONFIGURATION", pif)
    if rec.get("management"):
        return ""
    network = store.record("network", rec["network"])
    # xapi_network.ml attach_internal ~management_interface:true brings the PIF up.
    _bring_up(api, pif, management=True)
    api.machine.set_management_interface(network.get("bridge", ""))
    update_management_flags(api, rec["host"], rec["network"])
    store.update("host", rec["host"], address=store.record("PIF", pif).get("IP", ""))
    return ""


def update_management_flags(api, host: str, network: str) -> None:
    """xapi_pif.ml update_management_flags: the host's PIFs on the management network are
    management PIFs, the others are not."""
    for ref_ in api.store.find("PIF", host=host):
        wanted = api.store.record("PIF", ref_).get("network") == network
        if api.store.record("PIF", ref_).get("management") != wanted:
            api.store.update("PIF", ref_, management=wanted)


# ------------------------------------------------------------------ PIF (xapi_pif.ml)


@message("PIF.scan", ref("host", "host"))
def pif_scan(api, host):
    """Introduce a PIF for every physical NIC of the host that has none yet (by device name)."""
    store = api.store
    store.record("host", host)
    known = {store.record("PIF", p).get("device") for p in store.find("PIF", host=host)}
    for nic in api.machine.nics():
        if nic.device not in known:
            seed.add_pif(store, host, nic.device, nic.mac, mtu=nic.mtu)
    management = [p for p in store.find("PIF", host=host, management=True)]
    if management:
        update_management_flags(api, host, store.record("PIF", management[0])["network"])
    return ""


def _assert_ip(param: str, value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise Failure("INVALID_IP_ADDRESS_SPECIFIED", param) from None


@message("PIF.reconfigure_ip", ref("PIF"), P("mode", xapitypes.Enum("None", "DHCP", "Static")), P("IP", S),
         P("netmask", S), P("gateway", S), P("DNS", S))
def pif_reconfigure_ip(api, pif, mode, IP, netmask, gateway, DNS):
    store = api.store
    rec = store.record("PIF", pif)
    if not rec.get("managed", True):
        raise Failure("PIF_UNMANAGED", pif)
    if mode == "Static":
        _assert_ip("IP", IP)
        _assert_ip("netmask", netmask)
    for param, value in (("IP", IP), ("netmask", netmask), ("gateway", gateway)):
        if value:
            _assert_ip(param, value)
    if rec.get("management") and mode == "None" and rec.get("primary_address_type", "IPv4") == "IPv4":
        raise Failure("PIF_IS_MANAGEMENT_IFACE", pif)
    ipv4_dns = []
    for server in DNS.split(","):
        try:
            if server and ipaddress.ip_address(server).version == 4:
                ipv4_dns.append(server)
        except ValueError:
            continue
    if mode == "DHCP":
        IP = netmask = gateway = ""
    store.update("PIF", pif, ip_configuration_mode=mode, IP=IP, netmask=netmask, gateway=gateway,
                 DNS=",".join(ipv4_dns))
    if rec.get("currently_attached"):
        _bring_up(api, pif)
    return ""


@message("PIF.reconfigure_ipv6", ref("PIF"), P("mode", xapitypes.Enum("None", "DHCP", "Static", "Autoconf")),
         P("IPv6", S), P("gateway", S), P("DNS", S))
def pif_reconfigure_ipv6(api, pif, mode, IPv6, gateway, DNS):
    """xapi_pif.ml reconfigure_ipv6, for the records (the stand-in applies no IPv6 to the machine)."""
    rec = api.store.record("PIF", pif)
    if not rec.get("managed", True):
        raise Failure("PIF_UNMANAGED", pif)
    for param, value in (("IPv6", IPv6.split("/")[0]), ("gateway", gateway)):
        if value:
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                raise Failure("INVALID_IP_ADDRESS_SPECIFIED", param) from None
    if mode == "Static" and not IPv6:
        raise Failure("INVALID_IP_ADDRESS_SPECIFIED", "IPv6")
    if rec.get("management") and mode == "None" and rec.get("primary_address_type") == "IPv6":
        raise Failure("PIF_IS_MANAGEMENT_IFACE", pif)
    api.store.update("PIF", pif, ipv6_configuration_mode=mode, IPv6=[IPv6] if IPv6 else [], ipv6_gateway=gateway)
    return ""


def _bring_up(api, pif: str, management: bool = False) -> None:
    """nm.ml bring_pif_up: tell networkd the gateway and DNS interfaces, then configure the
    device as the record says; for DHCP, record the lease."""
    rec = api.store.record("PIF", pif)
    chosen = routing.gateway_and_dns_pifs(api.store, rec["host"], pif if management else None)
    api.machine.set_route_interfaces(*(api.store.record("PIF", p)["device"] if p else "" for p in chosen))
    lease = api.machine.apply_ip(rec["device"], rec.get("ip_configuration_mode", "None"), rec.get("IP", ""),
                                 rec.get("netmask", ""), rec.get("gateway", ""), rec.get("DNS", ""))
    if lease:
        api.store.update("PIF", pif, IP=lease[0], netmask=lease[1])
    api.store.update("PIF", pif, currently_attached=True)
    if rec.get("management"):
        api.store.update("host", rec["host"], address=rec.get("IP", ""))


@message("PIF.plug", ref("PIF"))
def pif_plug(api, pif):
    api.store.record("PIF", pif)
    _bring_up(api, pif)
    return ""


@message("PIF.unplug", ref("PIF"))
def pif_unplug(api, pif):
    rec = api.store.record("PIF", pif)
    if rec.get("disallow_unplug"):
        raise Failure("PIF_DOES_NOT_ALLOW_UNPLUG", pif)
    if rec.get("management"):
        raise Failure("PIF_IS_MANAGEMENT_IFACE", pif)
    api.store.update("PIF", pif, currently_attached=False)
    return ""


@message("PIF.set_disallow_unplug", ref("PIF"), P("value", B))
def pif_set_disallow_unplug(api, pif, value):
    api.store.update("PIF", pif, disallow_unplug=value)
    return ""


# ------------------------------------------------------------------ SR (xapi_sr.ml)


@message("SR.scan", ref("SR", "sr"))
def sr_scan(api, sr):
    """xapi_sr.ml scan: a file SR's records follow its VHD files, its sizes are taken again (storage.py)."""
    api.store.record("SR", sr)
    storage.scan(api, sr)
    return ""


def _assert_devices(api, sr_type: str, device_config: dict) -> list[str]:
    """sm SR.py deviceCheck and lvutil.py createVG, for the drivers that take a device (ext):
    no device is SR_BACKEND_FAILURE_90, a missing one SR_BACKEND_FAILURE_19 (InvalidDev)."""
    if sr_type != "ext":
        return []
    if "device" not in device_config:
        raise storage.backend_failure(90, "The request is missing the device parameter")
    devices = device_config["device"].split(",")
    for device in devices:
        if not api.machine.has_device(device):
            raise storage.backend_failure(19, "No such device", f"Device {device} does not exist")
    return devices


@message("SR.create", ref("host", "host"), P("device_config", M), P("physical_size", I), P("name_label", S),
         P("name_description", S), P("type", S), P("content_type", S), P("shared", B), P("sm_config", M, {}))
def sr_create(api, host, device_config, physical_size, name_label, name_description, type, content_type, shared,
              sm_config):
    """xapi_sr.ml create -> the SM driver's create: the size is the backend's (an ext SR fills its
    device: EXTSR.create makes one LV of the volume group's free space), never invented."""
    store = api.store
    store.record("host", host)
    if not any(sm.get("type") == type.lower() for sm in store.classes.get("SM", {}).values()):
        raise Failure("SR_UNKNOWN_DRIVER", type)
    devices = _assert_devices(api, type.lower(), device_config)
    size = sum(api.machine.device_size(d) for d in devices) if devices else physical_size
    sr, _ = seed.add_sr(store, host, name_label, type.lower(), device_config, size, content_type, shared,
                        sm_config, name_description)
    sizes = api.machine.make_sr(store.record("SR", sr)["uuid"], type.lower())
    if sizes:
        store.update("SR", sr, physical_size=sizes[0], physical_utilisation=sizes[1])
    else:
        storage.account(api, sr)
    return sr


# ------------------------------------------------------------------ pool (xapi_pool.ml)


@message("pool.sync_database")
def pool_sync_database(api):
    api.persist(force=True)
    return ""


@message("pool.enable_tls_verification")
def pool_enable_tls_verification(api):
    for cls in ("pool", "host"):
        for ref_ in api.store.classes.get(cls, {}):
            api.store.update(cls, ref_, tls_verification_enabled=True)
    return ""
