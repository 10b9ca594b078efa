"""VBDs, VIFs and networks: a VM's disks and network interfaces, and the bridges behind them.

xapi-project/xen-api ocaml/xapi (v26.1.4):
- xapi_vbd.ml create: a disk's VDI must be of a usable type (VDI_INCOMPATIBLE_TYPE), a
  CD read-only (VBD_CDS_MUST_BE_READONLY), only a CD empty (VBD_NOT_REMOVABLE_MEDIA), a
  RW VBD never of a read-only VDI (VDI_READONLY); "autodetect" takes the lowest free
  device, a taken one is DEVICE_ALREADY_EXISTS; the VBD is not attached unless the VM is
  suspended. xapi_vbd_helpers.ml valid_operations: plug/unplug only while the VM runs
  (VM_BAD_POWER_STATE; DEVICE_ALREADY_ATTACHED, DEVICE_ALREADY_DETACHED), unplug of a
  VBD that is not unpluggable is VBD_NOT_UNPLUGGABLE; destroy of an attached VBD is
  OPERATION_NOT_ALLOWED.
- xapi_vif.ml / xapi_vif_helpers.ml create: a MAC must be valid (MAC_INVALID), a device
  number unique per VM (DEVICE_ALREADY_EXISTS); plug/unplug as for VBDs.
- xapi_network.ml create (a bridge "xapi<N>" unless named; a taken name is
  BRIDGE_NAME_EXISTS) and destroy (NETWORK_CONTAINS_VIF while a VIF is attached,
  NETWORK_CONTAINS_PIF, CANNOT_DESTROY_SYSTEM_NETWORK; its VIFs go with it).
"""

from __future__ import annotations

import re

from . import xapitypes
from .failure import Failure
from .registry import RECORD, B, I, M, P, S, message, ref
from .store import NULL_REF

_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
MAX_VBD_DEVICES = 16  # xapi_vm_helpers.ml allowed_VBD_devices: xvda..xvdp for a PV guest
MAX_VIF_DEVICES = 7  # xapi_vm_helpers.ml allowed_VIF_devices for a PV guest without PV drivers info
VBD_OPERATIONS = ("attach", "eject", "insert", "plug", "unplug", "unplug_force", "pause", "unpause")
VIF_OPERATIONS = ("attach", "plug", "unplug", "unplug_force")


def _required(args: dict, names: tuple[str, ...]) -> None:
    for name in names:
        if name not in args:
            raise xapitypes.ocaml_failure(f"Field {name} not present in rpc")


def _link(api, cls: str, ref_: str, owner_cls: str, owner: str, field: str) -> None:
    """Add `ref_` to the owner's set field (VM.VBDs, VDI.VBDs, network.VIFs, ...)."""
    if owner in api.store.classes.get(owner_cls, {}):
        rec = api.store.record(owner_cls, owner)
        api.store.update(owner_cls, owner, **{field: rec.get(field, []) + [ref_]})


def _unlink(api, owner_cls: str, owner: str, field: str, ref_: str) -> None:
    if owner in api.store.classes.get(owner_cls, {}):
        rec = api.store.record(owner_cls, owner)
        api.store.update(owner_cls, owner, **{field: [r for r in rec.get(field, []) if r != ref_]})


def _device_error(api, cls: str, ref_: str, op: str) -> list | None:
    """xapi_vbd_helpers.ml / xapi_vif_helpers.ml valid_operations for one operation."""
    rec = api.store.record(cls, ref_)
    current = rec.get("current_operations", {})
    if current:
        task, other = next(iter(current.items()))
        return ["OTHER_OPERATION_IN_PROGRESS", cls, ref_, other, task]
    vm = api.store.classes.get("VM", {}).get(rec.get("VM", NULL_REF), {})
    if cls == "VBD":
        if not rec.get("unpluggable", True) and op in ("unplug", "unplug_force"):
            return ["VBD_NOT_UNPLUGGABLE", ref_]
        if rec.get("type") != "CD" and op in ("insert", "eject"):
            return ["VBD_NOT_REMOVABLE_MEDIA", ref_]
        if rec.get("empty") and op == "eject":
            return ["VBD_IS_EMPTY", ref_]
        if not rec.get("empty") and op == "insert":
            return ["VBD_NOT_EMPTY", ref_]
    state = vm.get("power_state", "Halted")
    plugged = rec.get("currently_attached") or rec.get("reserved")
    if op in ("plug", "unplug", "unplug_force", "pause", "unpause"):
        if state == "Running":
            if plugged and op == "plug":
                return ["DEVICE_ALREADY_ATTACHED", ref_]
            if not plugged and op in ("unplug", "unplug_force"):
                return ["DEVICE_ALREADY_DETACHED", ref_]
        elif op in ("plug", "unplug", "unplug_force") or state != "Paused":
            return ["VM_BAD_POWER_STATE", rec.get("VM", NULL_REF), "running", state.lower()]
    return None


def update_allowed_operations(api, cls: str, ref_: str) -> None:
    """The device's allowed_operations, and for a VBD its VDI's too (an attached VDI cannot be
    destroyed: message_forwarding.ml update_vbd_operations)."""
    from . import storage

    ops = VBD_OPERATIONS if cls == "VBD" else VIF_OPERATIONS
    if ref_ in api.store.classes.get(cls, {}):
        api.store.update(cls, ref_, allowed_operations=[op for op in ops if _device_error(api, cls, ref_, op) is None])
        if cls == "VBD":
            storage.update_allowed_operations(api, api.store.record(cls, ref_).get("VDI", NULL_REF))


def _assert_op(api, cls: str, ref_: str, op: str) -> None:
    error = _device_error(api, cls, ref_, op)
    if error:
        raise Failure(*error)


# ------------------------------------------------------------------ VBD


def _vbd_devices_in_use(api, vm: str) -> set[int]:
    used = set()
    for vbd in api.store.record("VM", vm).get("VBDs", []):
        device = api.store.classes.get("VBD", {}).get(vbd, {}).get("userdevice", "")
        if device.isdigit():
            used.add(int(device))
    return used


@message("VBD.create", P("args", RECORD))
def vbd_create(api, args):
    store = api.store
    _required(args, ("VM", "VDI", "userdevice", "bootable", "mode", "type", "unpluggable", "empty", "other_config",
                     "qos_algorithm_type", "qos_algorithm_params"))
    vm, vdi = S.check(args["VM"]), S.check(args["VDI"])
    mode = xapitypes.Enum("RO", "RW").check(args["mode"])
    kind = xapitypes.Enum("CD", "Disk", "Floppy").check(args["type"])
    empty, userdevice = B.check(args["empty"]), S.check(args["userdevice"])
    vm_rec = store.record("VM", vm)
    if not empty:
        vdi_rec = store.record("VDI", vdi)
        if vdi_rec.get("type") not in ("system", "user", "ephemeral", "suspend", "crashdump", "metadata", "rrd",
                                       "pvs_cache"):
            raise Failure("VDI_INCOMPATIBLE_TYPE", vdi, vdi_rec.get("type"))
    if kind == "CD" and mode != "RO":
        raise Failure("VBD_CDS_MUST_BE_READONLY")
    if kind != "CD" and empty:
        raise Failure("VBD_NOT_REMOVABLE_MEDIA", "in constructor")
    if mode == "RW" and not empty and store.record("VDI", vdi).get("read_only"):
        raise Failure("VDI_READONLY", vdi)
    used = _vbd_devices_in_use(api, vm)
    if userdevice == "autodetect":
        free = [d for d in range(MAX_VBD_DEVICES) if d not in used]
        if not free:
            raise Failure("INVALID_DEVICE", userdevice)
        userdevice = str(free[0])
    elif not userdevice.isdigit() or int(userdevice) >= MAX_VBD_DEVICES:
        raise Failure("INVALID_DEVICE", userdevice)
    elif int(userdevice) in used:
        raise Failure("DEVICE_ALREADY_EXISTS", userdevice)
    suspended = vm_rec.get("power_state") == "Suspended"
    vbd = _new_device(api, "VBD", args, vm, suspended, {
        "VDI": NULL_REF if empty else vdi, "userdevice": userdevice,
        "device": S.check(args.get("device", "")) if suspended else "",
        "bootable": B.check(args["bootable"]), "mode": mode, "type": kind,
        "unpluggable": B.check(args["unpluggable"]), "empty": empty, "storage_lock": False})
    if not empty:
        _link(api, "VBD", vbd, "VDI", vdi, "VBDs")
    update_allowed_operations(api, "VBD", vbd)
    return vbd


def _new_device(api, cls: str, args: dict, vm: str, suspended: bool, fields: dict) -> str:
    """A VBD or VIF record with its metrics, in its VM's list: attached only if the VM is suspended
    (xapi_vbd.ml, xapi_vif.ml create)."""
    store = api.store
    metrics = store.add(f"{cls}_metrics", {"io_read_kbs": 0.0, "io_write_kbs": 0.0, "other_config": {}})
    ref_ = store.add(cls, {
        "VM": vm, "other_config": M.check(args["other_config"]),
        "currently_attached": B.check(args.get("currently_attached", False)) if suspended else False,
        "qos_algorithm_type": S.check(args["qos_algorithm_type"]),
        "qos_algorithm_params": M.check(args["qos_algorithm_params"]), "qos_supported_algorithms": [],
        "status_code": 0, "status_detail": "", "runtime_properties": {}, "metrics": metrics, **fields})
    _link(api, cls, ref_, "VM", vm, f"{cls}s")
    return ref_


def _forget_device(api, cls: str, ref_: str, other: tuple[str, str]) -> None:
    """The record and its metrics go; its VM's list and the other owner's (VDI or network) follow."""
    store = api.store
    rec = store.classes.get(cls, {}).get(ref_)
    if rec is None:
        return
    _unlink(api, "VM", rec.get("VM", NULL_REF), f"{cls}s", ref_)
    _unlink(api, other[0], rec.get(other[1], NULL_REF), f"{cls}s", ref_)
    store.remove(f"{cls}_metrics", rec.get("metrics", NULL_REF))
    store.remove(cls, ref_)


def forget_vbd(api, vbd: str) -> None:
    _forget_device(api, "VBD", vbd, ("VDI", "VDI"))


@message("VBD.destroy", ref("VBD"))
def vbd_destroy(api, vbd):
    """xapi_vbd_helpers.ml destroy: force the user to unplug first."""
    rec = api.store.record("VBD", vbd)
    if rec.get("currently_attached") or rec.get("reserved"):
        vm_uuid = api.store.classes.get("VM", {}).get(rec.get("VM"), {}).get("uuid", "")
        raise Failure("OPERATION_NOT_ALLOWED", f"VBD '{rec['uuid']}' still attached to '{vm_uuid}'")
    forget_vbd(api, vbd)
    return ""


def vbd_attach(api, vbd: str, domid: int, attached: bool) -> None:
    """The disk appears in (or leaves) the domain: device name xvd<letter>, currently_attached."""
    rec = api.store.record("VBD", vbd)
    device = f"xvd{chr(ord('a') + int(rec['userdevice']))}" if rec["userdevice"].isdigit() else rec["userdevice"]
    api.store.update("VBD", vbd, currently_attached=attached, device=device if attached else rec.get("device", ""))


@message("VBD.insert", ref("VBD", "vbd"), ref("VDI", "vdi"))
def vbd_insert(api, vbd, vdi):
    """xapi_vbd.ml insert: assert_ok_to_insert (a removable, empty VBD; a managed VDI)."""
    rec = api.store.record("VBD", vbd)
    if api.store.record("VM", rec["VM"]).get("power_state") == "Suspended":
        raise Failure("VM_BAD_POWER_STATE", rec["VM"], "halted, running", "suspended")
    _assert_op(api, "VBD", vbd, "insert")
    from .storage import assert_managed

    assert_managed(api, vdi)
    api.store.update("VBD", vbd, VDI=vdi, empty=False)
    _link(api, "VBD", vbd, "VDI", vdi, "VBDs")
    update_allowed_operations(api, "VBD", vbd)
    return ""


@message("VBD.eject", ref("VBD", "vbd"))
def vbd_eject(api, vbd):
    rec = api.store.record("VBD", vbd)
    _assert_op(api, "VBD", vbd, "eject")
    _unlink(api, "VDI", rec.get("VDI", NULL_REF), "VBDs", vbd)
    api.store.update("VBD", vbd, VDI=NULL_REF, empty=True)
    update_allowed_operations(api, "VBD", vbd)
    return ""


# ------------------------------------------------------------------ VIF


@message("VIF.create", P("args", RECORD))
def vif_create(api, args):
    store = api.store
    _required(args, ("device", "network", "VM", "MAC", "MTU", "other_config", "qos_algorithm_type",
                     "qos_algorithm_params"))
    vm, network, device = S.check(args["VM"]), S.check(args["network"]), S.check(args["device"])
    mac = S.check(args["MAC"])
    vm_rec = store.record("VM", vm)
    store.record("network", network)
    if not device.isdigit() or int(device) >= MAX_VIF_DEVICES:
        raise Failure("INVALID_DEVICE", device)
    if not _MAC.match(mac):
        raise Failure("MAC_INVALID", mac)
    taken = {store.classes.get("VIF", {}).get(v, {}).get("device") for v in vm_rec.get("VIFs", [])}
    if str(int(device)) in {str(int(d)) for d in taken if d and d.isdigit()}:
        raise Failure("DEVICE_ALREADY_EXISTS", device)
    suspended = vm_rec.get("power_state") == "Suspended"
    vif = _new_device(api, "VIF", args, vm, suspended, {
        "device": device, "network": network, "MAC": mac.lower(), "MTU": I.check(args["MTU"]),
        "MAC_autogenerated": False, "locking_mode": "network_default", "ipv4_allowed": [], "ipv6_allowed": []})
    _link(api, "VIF", vif, "network", network, "VIFs")
    update_allowed_operations(api, "VIF", vif)
    return vif


def forget_vif(api, vif: str) -> None:
    _forget_device(api, "VIF", vif, ("network", "network"))


@message("VIF.destroy", ref("VIF"))
def vif_destroy(api, vif):
    """xapi_vif_helpers.ml destroy: an attached VIF of a running VM must be unplugged first."""
    rec = api.store.record("VIF", vif)
    vm = api.store.classes.get("VM", {}).get(rec.get("VM"), {})
    if (rec.get("currently_attached") or rec.get("reserved")) and vm.get("power_state") == "Running":
        raise Failure("OPERATION_NOT_ALLOWED", "VIF currently attached to a running VM")
    forget_vif(api, vif)
    return ""


def vif_attach(api, vif: str, domid: int, attached: bool) -> None:
    """The VIF's backend vif<domid>.<device> joins (or leaves) its network's bridge in dom0."""
    rec = api.store.record("VIF", vif)
    vm = api.store.record("VM", rec["VM"])
    dom0 = api.dom0(vm.get("resident_on", NULL_REF))
    bridge = api.store.classes.get("network", {}).get(rec["network"], {}).get("bridge", "")
    if attached:
        dom0.vif_plugged(domid, rec["device"], bridge, rec["MAC"])
    else:
        dom0.vif_unplugged(domid, rec["device"])
    api.store.update("VIF", vif, currently_attached=attached)


def _hotplug_message(cls: str, op: str, attached: bool) -> None:
    """VBD/VIF plug, unplug, unplug_force: checked as valid_operations says, then the device
    joins or leaves the running domain."""
    attach = {"VBD": vbd_attach, "VIF": vif_attach}[cls]

    def handler(api, device):
        _assert_op(api, cls, device, op)
        domid = api.store.record("VM", api.store.record(cls, device)["VM"]).get("domid", -1)
        attach(api, device, domid, attached)
        update_allowed_operations(api, cls, device)
        return ""
    handler.__name__ = f"{cls.lower()}_{op}"
    message(f"{cls}.{op}", ref(cls))(handler)


for _cls in ("VBD", "VIF"):
    for _op, _attached in (("plug", True), ("unplug", False), ("unplug_force", False)):
        _hotplug_message(_cls, _op, _attached)


# ------------------------------------------------------------------ network


def _next_bridge(api) -> str:
    """xapi_network.ml choose_bridge_name: xapi<N>, the first N no network uses."""
    taken = {rec.get("bridge") for rec in api.store.classes.get("network", {}).values()}
    n = 0
    while f"xapi{n}" in taken:
        n += 1
    return f"xapi{n}"


_BRIDGE_BLACKLIST = ("xen", "xapi", "vif", "tap", "eth")  # xapi_network.ml bridge_blacklist


@message("network.create", P("args", RECORD))
def network_create(api, args):
    _required(args, ("name_label", "name_description", "other_config"))
    bridge = S.check(args.get("bridge", ""))
    taken = {rec.get("bridge") for rec in api.store.classes.get("network", {}).values()}
    if not bridge:
        bridge = _next_bridge(api)
    else:
        if len(bridge) > 15 or bridge.startswith(_BRIDGE_BLACKLIST):
            raise Failure("INVALID_VALUE", "bridge", bridge)
        if bridge in taken:
            raise Failure("BRIDGE_NAME_EXISTS", bridge)
    mtu = I.check(args.get("MTU", 1500))
    return api.store.add("network", {
        "name_label": S.check(args["name_label"]), "name_description": S.check(args["name_description"]),
        "MTU": mtu if mtu > 0 else 1500, "other_config": M.check(args["other_config"]), "bridge": bridge,
        "managed": B.check(args.get("managed", True)), "tags": xapitypes.STRINGS.check(args.get("tags", [])),
        "VIFs": [], "PIFs": [], "purpose": [], "default_locking_mode": "unlocked", "assigned_ips": {},
    })


@message("network.destroy", ref("network"))
def network_destroy(api, network):
    store = api.store
    rec = store.record("network", network)
    vifs = [v for v in rec.get("VIFs", []) if v in store.classes.get("VIF", {})]
    connected = [v for v in vifs if store.record("VIF", v).get("currently_attached")
                 or store.record("VIF", v).get("reserved")]
    if connected:
        raise Failure("NETWORK_CONTAINS_VIF", *connected)
    if rec.get("PIFs"):
        raise Failure("NETWORK_CONTAINS_PIF", *rec["PIFs"])
    if rec.get("other_config", {}).get("is_host_internal_management_network", "").lower() == "true":
        raise Failure("CANNOT_DESTROY_SYSTEM_NETWORK", network)
    for vif in vifs:
        forget_vif(api, vif)
    store.remove("network", network)
    return ""
