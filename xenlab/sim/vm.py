"""The VM lifecycle: VM.create, the power-state machine and its errors, VM.destroy.

xapi-project/xen-api ocaml/xapi (v26.1.4):
- xapi_vm.ml create: a Halted VM from the record, its metrics, a mac_seed in
  other_config, domain_type derived from HVM_boot_policy when unspecified; a field
  without default missing from the record fails as rpclib fails ("Field <name> not
  present in rpc").
- xapi_vm_lifecycle.ml: allowed_power_states per operation (start/start_on: Halted;
  clean_shutdown, clean_reboot, pause, suspend: Running; hard_reboot: Paused or Running;
  hard_shutdown: Paused, Suspended or Running; unpause: Paused; resume: Suspended;
  destroy: Halted or Suspended) and check_operation_error's order: OPERATION_BLOCKED,
  VM_BAD_POWER_STATE [vm; expected; actual], OTHER_OPERATION_IN_PROGRESS [VM; vm; op;
  task], VM_IS_TEMPLATE, VM_IS_SNAPSHOT, control-domain rules (OPERATION_NOT_ALLOWED),
  VM_LACKS_FEATURE for HVM guests without PV drivers; update_allowed_operations fills
  allowed_operations with every operation that passes; force_state_reset: a Halted VM
  has no resident host, domid -1 and no attached devices.
- xapi_vm_helpers.ml with_vm_operation (each operation is in current_operations while
  it runs), validate_basic_parameters (INVALID_VALUE, VALUE_NOT_SUPPORTED,
  MEMORY_CONSTRAINT_VIOLATION), assert_enough_memory_available
  (HOST_NOT_ENOUGH_FREE_MEMORY [needed; available], memory.py); message_forwarding.ml:
  a disabled host refuses starts (HOST_DISABLED).

No guest runs: a started VM gets a domid, xenstore (dom0.py), attached devices and a
console log saying it is simulated; the memory accounting moves as on a host.
"""

from __future__ import annotations

import contextlib
import time
import uuid as uuidlib
import xmlrpc.client

from . import BRAND, memory, xapitypes
from .failure import Failure
from .registry import RECORD, B, P, message, ref
from .store import NULL_REF

HALTED, PAUSED, RUNNING, SUSPENDED = "Halted", "Paused", "Running", "Suspended"
SIMULATED_KEY = "xenlab-stand-in"
SIMULATED_TEXT = f"simulated by {BRAND}: no guest runs, its domain is a record"
ALL_STATES = (HALTED, PAUSED, SUSPENDED, RUNNING)

# xapi_vm_lifecycle.ml allowed_power_states (the operations the simulator performs, and those
# allowed_operations lists).
ALLOWED_POWER_STATES = {
    "start": (HALTED,), "start_on": (HALTED,), "make_into_template": (HALTED,), "provision": (HALTED,),
    "changing_shadow_memory": (HALTED,), "changing_NVRAM": (HALTED,), "create_vtpm": (HALTED,),
    "changing_VCPUs": (HALTED,), "changing_static_range": (HALTED,), "changing_memory_limits": (HALTED,),
    "unpause": (PAUSED,), "resume": (SUSPENDED,), "resume_on": (SUSPENDED,), "csvm": (SUSPENDED,),
    "clean_reboot": (RUNNING,), "clean_shutdown": (RUNNING,), "pause": (RUNNING,), "suspend": (RUNNING,),
    "pool_migrate": (RUNNING,), "send_sysrq": (RUNNING,), "send_trigger": (RUNNING,), "call_plugin": (RUNNING,),
    "changing_VCPUs_live": (RUNNING,), "changing_memory_live": (RUNNING,), "data_source_op": (RUNNING,),
    "awaiting_memory_live": (RUNNING,), "changing_shadow_memory_live": (RUNNING,),
    "snapshot_with_quiesce": (RUNNING,), "sysprep": (RUNNING,),
    "changing_dynamic_range": (HALTED, RUNNING),
    "clone": (HALTED,), "copy": (HALTED,),
    "destroy": (HALTED, SUSPENDED), "export": (HALTED, SUSPENDED), "create_template": (HALTED, SUSPENDED),
    "hard_reboot": (PAUSED, RUNNING),
    "hard_shutdown": (PAUSED, SUSPENDED, RUNNING), "checkpoint": (PAUSED, SUSPENDED, RUNNING),
    "shutdown": (PAUSED, SUSPENDED, RUNNING), "get_boot_record": (PAUSED, SUSPENDED, RUNNING),
    "migrate_send": (HALTED, SUSPENDED, RUNNING),
    "snapshot": ALL_STATES, "revert": ALL_STATES, "metadata_export": ALL_STATES, "power_state_reset": ALL_STATES,
    "assert_operation_valid": ALL_STATES, "update_allowed_operations": ALL_STATES, "query_services": ALL_STATES,
    "reverting": ALL_STATES,
}
# xapi_vm_lifecycle.ml ignored_ops: never listed in allowed_operations.
IGNORED_OPS = {"create_template", "power_state_reset", "csvm", "get_boot_record", "send_sysrq", "send_trigger",
               "query_services", "shutdown", "call_plugin", "changing_memory_live", "awaiting_memory_live",
               "changing_memory_limits", "changing_shadow_memory_live", "changing_VCPUs",
               "assert_operation_valid", "data_source_op", "update_allowed_operations", "import", "reverting"}
ALLOWABLE_OPS = tuple(op for op in ALLOWED_POWER_STATES if op not in IGNORED_OPS)
# xapi_vm_lifecycle.ml check_template / check_snapshot.
TEMPLATE_OPS = {"changing_dynamic_range", "changing_static_range", "changing_memory_limits",
                "changing_shadow_memory", "changing_VCPUs", "changing_NVRAM", "clone", "copy", "export",
                "metadata_export", "provision"}
SNAPSHOT_OPS = {"revert", "clone", "copy", "export", "destroy", "hard_shutdown", "metadata_export"}
CONTROL_DOMAIN_OPS = {"data_source_op", "changing_memory_live", "awaiting_memory_live", "metadata_export",
                      "changing_dynamic_range", "changing_memory_limits", "changing_static_range", "start",
                      "start_on", "changing_VCPUs", "destroy"}
GUEST_FEATURE_OPS = {"clean_shutdown": ("feature-shutdown", "feature-poweroff"),
                     "clean_reboot": ("feature-shutdown", "feature-reboot")}

# datamodel_vm.ml: VM.create's record fields that have no default value.
CREATE_REQUIRED = ("name_label", "name_description", "user_version", "is_a_template", "affinity",
                   "memory_static_max", "memory_dynamic_max", "memory_dynamic_min", "memory_static_min",
                   "VCPUs_params", "VCPUs_max", "VCPUs_at_startup", "actions_after_shutdown",
                   "actions_after_reboot", "actions_after_crash", "PV_bootloader", "PV_kernel", "PV_ramdisk",
                   "PV_args", "PV_bootloader_args", "PV_legacy_args", "HVM_boot_policy", "HVM_boot_params",
                   "platform", "PCI_bus", "other_config", "recommendations")


def _now() -> xmlrpc.client.DateTime:
    return xmlrpc.client.DateTime(time.gmtime())


def _states_text(states) -> str:
    return ", ".join(s.lower() for s in states)


# ------------------------------------------------------------------ allowed operations


def _is_definitely_pv(api, rec: dict) -> bool:
    metrics = api.store.classes.get("VM_metrics", {}).get(rec.get("metrics", NULL_REF), {})
    return metrics.get("current_domain_type", "unspecified") in ("pv", "pv_in_pvh", "pvh")


def operation_error(api, vm: str, op: str, strict: bool = True) -> list | None:
    """xapi_vm_lifecycle.ml check_operation_error, for the checks that apply to the simulator."""
    rec = api.store.record("VM", vm)
    state = rec.get("power_state", HALTED)
    if op in rec.get("blocked_operations", {}):
        return ["OPERATION_BLOCKED", vm, rec["blocked_operations"][op]]
    allowed = ALLOWED_POWER_STATES.get(op, ALL_STATES)
    if state not in allowed:
        return ["VM_BAD_POWER_STATE", vm, _states_text(allowed), state.lower()]
    current = rec.get("current_operations", {})
    if current and not _allowed_concurrently(op, list(current.values())):
        task, other = next(iter(current.items()))
        if len(current) > 1:
            task = "{" + ",".join(current) + "}"
            other = "{" + ",".join(current.values()) + "}"
        return ["OTHER_OPERATION_IN_PROGRESS", "VM", vm, other, task]
    if rec.get("is_a_template") and not rec.get("is_a_snapshot"):
        default = rec.get("is_default_template") or rec.get("other_config", {}).get("default_template") == "true"
        if not (op in TEMPLATE_OPS or (op in ("destroy", "migrate_send") and not default)):
            return ["VM_IS_TEMPLATE", vm, op]
    if rec.get("is_a_snapshot") and op not in SNAPSHOT_OPS:
        return ["VM_IS_SNAPSHOT", vm, op]
    if op == "provision" and not rec.get("is_a_template"):
        return ["ONLY_PROVISION_TEMPLATE"]
    if op == "revert" and not rec.get("is_a_snapshot"):
        return ["ONLY_REVERT_SNAPSHOT"]
    if rec.get("is_control_domain"):
        if op in ("changing_VCPUs", "destroy") and rec.get("domid") == 0:
            return ["OPERATION_NOT_ALLOWED", "This operation is not allowed on dom0"]
        if op not in CONTROL_DOMAIN_OPS:
            return ["OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain"]
    if state == RUNNING and op in GUEST_FEATURE_OPS and strict and not _is_definitely_pv(api, rec):
        guest = api.store.classes.get("VM_guest_metrics", {}).get(rec.get("guest_metrics", NULL_REF), {})
        other = guest.get("other", {})
        if not guest.get("PV_drivers_detected") and not any(other.get(f) == "1" for f in GUEST_FEATURE_OPS[op]):
            return ["VM_LACKS_FEATURE", vm]
    if op == "snapshot_with_quiesce":
        return ["VM_SNAPSHOT_WITH_QUIESCE_NOT_SUPPORTED", vm]
    return None


def _allowed_concurrently(op: str, current: list[str]) -> bool:
    """xapi_vm_lifecycle.ml is_allowed_concurrently."""
    for group in (("clone", "copy", "export"), ("snapshot", "checkpoint"), ("get_boot_record",)):
        if op in group and all(c in group for c in current):
            return True
    if op == "hard_shutdown":
        return "hard_shutdown" not in current
    if op == "hard_reboot":
        return not any(c in ("hard_shutdown", "hard_reboot") for c in current)
    pairs = {(("snapshot_with_quiesce",), "snapshot"), (("migrate_send",), "metadata_export"),
             (("migrate_send",), "clean_shutdown"), (("migrate_send",), "clean_reboot")}
    return (tuple(current), op) in pairs


def update_allowed_operations(api, vm: str) -> None:
    if vm in api.store.classes.get("VM", {}):
        api.store.update("VM", vm, allowed_operations=[op for op in ALLOWABLE_OPS
                                                       if operation_error(api, vm, op) is None])


@contextlib.contextmanager
def operation(api, vm: str, op: str):
    """xapi_vm_helpers.ml with_vm_operation: checked, in current_operations while it runs."""
    error = operation_error(api, vm, op)
    if error:
        raise Failure(*error)
    task = api.current_task()
    api.store.record("VM", vm).setdefault("current_operations", {})[task] = op
    update_allowed_operations(api, vm)
    try:
        yield
    finally:
        if vm in api.store.classes.get("VM", {}):
            api.store.record("VM", vm).get("current_operations", {}).pop(task, None)
            update_allowed_operations(api, vm)


# xapi_vm.ml set_blocked_operations, add_to_/remove_from_blocked_operations: the map's keys are
# VM operations; allowed_operations follows every change.
VM_OPERATION = xapitypes.Enum(*ALLOWED_POWER_STATES, "import")


@message("VM.set_blocked_operations", ref("VM"), P("value", xapitypes.MAP))
def vm_set_blocked_operations(api, vm, value):
    api.store.update("VM", vm, blocked_operations={VM_OPERATION.check(k): v for k, v in value.items()})
    update_allowed_operations(api, vm)
    return ""


@message("VM.add_to_blocked_operations", ref("VM"), P("key", xapitypes.STRING), P("value", xapitypes.STRING))
def vm_add_to_blocked_operations(api, vm, key, value):
    blocked = dict(api.store.record("VM", vm).get("blocked_operations", {}))
    key = VM_OPERATION.check(key)
    if key in blocked:
        raise Failure("MAP_DUPLICATE_KEY", "VM", "blocked_operations", vm, key)
    api.store.update("VM", vm, blocked_operations={**blocked, key: value})
    update_allowed_operations(api, vm)
    return ""


@message("VM.remove_from_blocked_operations", ref("VM"), P("key", xapitypes.STRING))
def vm_remove_from_blocked_operations(api, vm, key):
    blocked = dict(api.store.record("VM", vm).get("blocked_operations", {}))
    blocked.pop(VM_OPERATION.check(key), None)
    api.store.update("VM", vm, blocked_operations=blocked)
    update_allowed_operations(api, vm)
    return ""


# ------------------------------------------------------------------ create and destroy


def _derive_domain_type(rec: dict) -> str:
    """xapi_vm_helpers.ml derive_domain_type."""
    return "hvm" if rec.get("HVM_boot_policy") else "pv"


@message("VM.create", P("args", RECORD))
def vm_create(api, args):
    store = api.store
    for name in CREATE_REQUIRED:
        if name not in args:
            raise xapitypes.ocaml_failure(f"Field {name} not present in rpc")
    fields = {}
    for name, value in args.items():
        declared = store.field("VM", name)
        if declared is None or name in ("uuid", "power_state"):
            continue
        if declared.type.__class__ is xapitypes.Ref and value == "":
            value = NULL_REF  # an empty reference (Nova sends affinity ''): rpclib reads it as a ref
        fields[name] = declared.type.check(value)
    state = xapitypes.Enum(*ALL_STATES).check(args.get("power_state", HALTED))
    if state == SUSPENDED:  # xapi_vm.ml create: a Suspended VM needs its suspend image and boot record
        raise Failure("VM_BAD_POWER_STATE", "OpaqueRef:NULL", "halted", "suspended")
    other = dict(fields.get("other_config", {}))
    other.setdefault("mac_seed", str(uuidlib.uuid4()))
    # Not XAPI's: the stand-in says what the VM is wherever it shows it.
    other.setdefault(SIMULATED_KEY, SIMULATED_TEXT)
    domain_type = fields.get("domain_type", "unspecified")
    if "domain_type" not in args or domain_type == "unspecified":
        domain_type = _derive_domain_type(fields)
    metrics = store.add("VM_metrics", {"memory_actual": 0, "VCPUs_number": 0, "state": [], "other_config": {},
                                       "hvm": False, "nested_virt": False, "nomigrate": False,
                                       "current_domain_type": "unspecified", "start_time": _epoch(),
                                       "install_time": _epoch(), "last_updated": _epoch()})
    vm = store.add("VM", {
        **fields, "other_config": other, "power_state": HALTED, "allowed_operations": [],
        "current_operations": {}, "blocked_operations": dict(fields.get("blocked_operations", {})),
        "is_default_template": False, "is_a_snapshot": False, "snapshot_of": NULL_REF, "resident_on": NULL_REF,
        "scheduled_to_be_resident_on": NULL_REF, "suspend_VDI": NULL_REF, "domid": -1, "domarch": "",
        "is_control_domain": False, "metrics": metrics, "guest_metrics": NULL_REF, "last_booted_record": "",
        "domain_type": domain_type, "VBDs": [], "VIFs": [], "consoles": [], "memory_overhead": 0,
        "HVM_shadow_multiplier": fields.get("HVM_shadow_multiplier", 1.0) or 1.0,
    })
    store.update("VM", vm, memory_overhead=memory.overhead_bytes(store.record("VM", vm)))
    update_allowed_operations(api, vm)
    return vm


def _epoch() -> xmlrpc.client.DateTime:
    return xmlrpc.client.DateTime(xapitypes.DateTime.EPOCH)


@message("VM.destroy", ref("VM"))
def vm_destroy(api, vm):
    """xapi_vm_helpers.ml destroy: the VM's VBDs, VIFs and metrics go; its VDIs stay."""
    from . import devices

    store = api.store
    with operation(api, vm, "destroy"):
        rec = store.record("VM", vm)
        if rec.get("other_config", {}).get("default_template") == "true":
            raise Failure("VM_CANNOT_DELETE_DEFAULT_TEMPLATE")
        for vbd in list(rec.get("VBDs", [])):
            devices.forget_vbd(api, vbd)
        for vif in list(rec.get("VIFs", [])):
            devices.forget_vif(api, vif)
        store.remove("VM_metrics", rec.get("metrics", NULL_REF))
        store.remove("VM_guest_metrics", rec.get("guest_metrics", NULL_REF))
    store.remove("VM", vm)
    return ""


# ------------------------------------------------------------------ the power-state machine


def _validate(api, vm: str) -> None:
    """xapi_vm_helpers.ml validate_basic_parameters (VCPUs, memory constraints)."""
    rec = api.store.record("VM", vm)
    vmax, vstart = rec.get("VCPUs_max", 0), rec.get("VCPUs_at_startup", 0)
    if vmax < 1:
        raise Failure("INVALID_VALUE", "VCPUs_max", vmax)
    if vstart < 1:
        raise Failure("INVALID_VALUE", "VCPUs-at-startup", vstart)
    if vstart > vmax:
        raise Failure("VALUE_NOT_SUPPORTED", "VCPUs-at-startup", vstart, "value greater than VCPUs-max")
    # vm_memory_constraints.ml: static_min <= dynamic_min <= dynamic_max <= static_max.
    smin, dmin = rec.get("memory_static_min", 0), rec.get("memory_dynamic_min", 0)
    dmax, smax = rec.get("memory_dynamic_max", 0), rec.get("memory_static_max", 0)
    if not smin <= dmin <= dmax <= smax:
        raise Failure("MEMORY_CONSTRAINT_VIOLATION")


def _assert_can_boot(api, vm: str, host: str) -> None:
    """The checks of xapi_vm_helpers.ml assert_can_boot_here the simulator models."""
    store = api.store
    host_rec = store.record("host", host)
    if not host_rec.get("enabled", True):
        raise Failure("HOST_DISABLED", host)
    rec = store.record("VM", vm)
    for vbd in rec.get("VBDs", []):
        vdi = store.classes.get("VBD", {}).get(vbd, {}).get("VDI", NULL_REF)
        if vdi in store.classes.get("VDI", {}):
            sr = store.record("VDI", vdi).get("SR", NULL_REF)
            if not any(store.record("PBD", p).get("currently_attached") for p in store.find("PBD", SR=sr, host=host)):
                raise Failure("VM_REQUIRES_SR", vm, sr)
    for vif in rec.get("VIFs", []):
        network = store.classes.get("VIF", {}).get(vif, {}).get("network", NULL_REF)
        if network not in store.classes.get("network", {}):
            raise Failure("VM_REQUIRES_NET", vm, network)
    needed = memory.start_bytes(rec)
    available = memory.compute_free(store, host, ignore=vm)
    if available < needed:
        raise Failure("HOST_NOT_ENOUGH_FREE_MEMORY", needed, available)


def _build_domain(api, vm: str, host: str, paused: bool) -> None:
    """xenopsd VM.start: a domain (a new domid) with the VM's devices, resident on `host`."""
    from . import devices

    store = api.store
    store.update("VM", vm, memory_overhead=memory.overhead_bytes(store.record("VM", vm)))
    if store.record("VM", vm).get("domain_type") == "unspecified":
        store.update("VM", vm, domain_type=_derive_domain_type(store.record("VM", vm)))
    rec = store.record("VM", vm)
    domid = api.next_domid()
    store.update("VM", vm, power_state=PAUSED if paused else RUNNING, resident_on=host, domid=domid,
                 scheduled_to_be_resident_on=NULL_REF,
                 memory_target=rec.get("memory_dynamic_max", rec.get("memory_target", 0)))
    memory.domain_built(store, host, store.record("VM", vm))
    host_rec = store.record("host", host)
    store.update("host", host, resident_VMs=host_rec.get("resident_VMs", []) + [vm])
    dom0 = api.dom0(host)
    dom0.domain_built(domid, store.record("VM", vm))
    for vbd in rec.get("VBDs", []):
        if vbd in store.classes.get("VBD", {}) and not store.record("VBD", vbd).get("empty"):
            devices.vbd_attach(api, vbd, domid, True)
    for vif in rec.get("VIFs", []):
        if vif in store.classes.get("VIF", {}):
            devices.vif_attach(api, vif, domid, True)
    metrics = rec.get("metrics", NULL_REF)
    if metrics in store.classes.get("VM_metrics", {}):
        store.update("VM_metrics", metrics, memory_actual=store.record("VM", vm)["memory_target"],
                     VCPUs_number=rec.get("VCPUs_at_startup", 1), start_time=_now(), last_updated=_now(),
                     current_domain_type=store.record("VM", vm)["domain_type"],
                     hvm=store.record("VM", vm)["domain_type"] == "hvm", state=[])
    console = (f"[xenlab stand-in] domain {domid} of VM {rec.get('name_label', '')!r} ({rec.get('uuid', '')}) "
               f"built{' paused' if paused else ''} on {BRAND}: no guest runs here, this console is simulated.\n")
    dom0.consoles[domid] = dom0.consoles.get(domid, "") + console
    _refresh_devices(api, vm)


def _destroy_domain(api, vm: str) -> None:
    """xenopsd: the domain goes; xapi_vm_lifecycle.ml force_state_reset to Halted follows."""
    from . import devices

    store = api.store
    rec = store.record("VM", vm)
    host, domid = rec.get("resident_on", NULL_REF), rec.get("domid", -1)
    if host in store.classes.get("host", {}):
        memory.domain_destroyed(store, host, rec)
        store.update("host", host, resident_VMs=[v for v in store.record("host", host).get("resident_VMs", [])
                                                   if v != vm])
        dom0 = api.dom0(host)
        for vif in rec.get("VIFs", []):
            if vif in store.classes.get("VIF", {}) and store.record("VIF", vif).get("currently_attached"):
                devices.vif_attach(api, vif, domid, False)
        dom0.domain_destroyed(domid)
    for vbd in rec.get("VBDs", []):
        if vbd in store.classes.get("VBD", {}):
            store.update("VBD", vbd, currently_attached=False)
    for vif in rec.get("VIFs", []):
        if vif in store.classes.get("VIF", {}):
            store.update("VIF", vif, currently_attached=False)
    store.update("VM", vm, resident_on=NULL_REF, scheduled_to_be_resident_on=NULL_REF, domid=-1)
    metrics = rec.get("metrics", NULL_REF)
    if metrics in store.classes.get("VM_metrics", {}):
        store.update("VM_metrics", metrics, memory_actual=0, VCPUs_number=0, last_updated=_now())


def _refresh_devices(api, vm: str) -> None:
    from . import devices

    rec = api.store.record("VM", vm)
    for vbd in rec.get("VBDs", []):
        devices.update_allowed_operations(api, "VBD", vbd)
    for vif in rec.get("VIFs", []):
        devices.update_allowed_operations(api, "VIF", vif)


def _console(api, vm: str, line: str) -> None:
    rec = api.store.record("VM", vm)
    if rec.get("resident_on", NULL_REF) in api.store.classes.get("host", {}):
        dom0 = api.dom0(rec["resident_on"])
        domid = rec.get("domid", -1)
        dom0.consoles[domid] = dom0.consoles.get(domid, "") + f"[xenlab stand-in] {line}\n"


def _start(api, vm: str, host: str, op: str, paused: bool) -> None:
    with operation(api, vm, op):
        _validate(api, vm)
        _assert_can_boot(api, vm, host)
        api.store.update("VM", vm, scheduled_to_be_resident_on=host)
        _build_domain(api, vm, host, paused)


def _resume(api, vm: str, host: str, op: str, paused: bool) -> None:
    with operation(api, vm, op):
        _assert_can_boot(api, vm, host)
        _drop_suspend_image(api, vm)
        _build_domain(api, vm, host, paused)


def _boot_messages(op: str, action) -> None:
    """VM.<op>(vm, start_paused, force) on this host, VM.<op>_on(vm, host, start_paused, force) on one named."""
    def here(api, vm, start_paused, force):
        action(api, vm, api.refs["host"], op, start_paused)
        return ""

    def there(api, vm, host, start_paused, force):
        api.store.record("host", host)
        action(api, vm, host, f"{op}_on", start_paused)
        return ""
    message(f"VM.{op}", ref("VM", "vm"), P("start_paused", B), P("force", B))(here)
    message(f"VM.{op}_on", ref("VM", "vm"), ref("host", "host"), P("start_paused", B), P("force", B))(there)


_boot_messages("start", _start)
_boot_messages("resume", _resume)


def _halt(api, vm: str, op: str, how: str) -> None:
    with operation(api, vm, op):
        state = api.store.record("VM", vm)["power_state"]
        if state == SUSPENDED:
            _drop_suspend_image(api, vm)
        else:
            _console(api, vm, f"{how} (simulated)")
            _destroy_domain(api, vm)
        api.store.update("VM", vm, power_state=HALTED)
    _refresh_devices(api, vm)


def _reboot(api, vm: str, op: str, how: str) -> None:
    with operation(api, vm, op):
        rec = api.store.record("VM", vm)
        host = rec["resident_on"]
        _console(api, vm, f"{how} (simulated)")
        _destroy_domain(api, vm)
        _build_domain(api, vm, host, paused=False)


def _switch(state: str):
    """pause and unpause: the domain stays, its state changes."""
    def action(api, vm: str, op: str, how: str) -> None:
        with operation(api, vm, op):
            api.store.update("VM", vm, power_state=state)
        _refresh_devices(api, vm)
    return action


def _power_message(op: str, action, how: str) -> None:
    def handler(api, vm):
        action(api, vm, op, how)
        return ""
    handler.__name__ = f"vm_{op}"
    message(f"VM.{op}", ref("VM", "vm"))(handler)


# The operations that take only the VM, and what each does (xapi_vm.ml: shutdown is clean if
# the guest can, else hard; a simulated guest always can).
for _op, _action, _how in (
        ("clean_shutdown", _halt, "the guest was asked to shut down and halted"),
        ("hard_shutdown", _halt, "the domain was destroyed"),
        ("shutdown", _halt, "the domain was shut down"),
        ("clean_reboot", _reboot, "the guest was asked to reboot"),
        ("hard_reboot", _reboot, "the domain was reset"),
        ("pause", _switch(PAUSED), ""),
        ("unpause", _switch(RUNNING), "")):
    _power_message(_op, _action, _how)


def _suspend_sr(api, host: str) -> str:
    """xapi_vm_helpers.ml choose_suspend_sr: the VM's suspend_SR, the host's, then the pool's."""
    store = api.store
    sr = store.record("host", host).get("suspend_image_sr", NULL_REF)
    if sr not in store.classes.get("SR", {}):
        pool = next(iter(store.classes.get("pool", {}).values()), {})
        sr = pool.get("suspend_image_SR", NULL_REF)
    if sr not in store.classes.get("SR", {}):
        raise Failure("VM_NO_SUSPEND_SR", "")
    return sr


def _drop_suspend_image(api, vm: str) -> None:
    from . import storage

    vdi = api.store.record("VM", vm).get("suspend_VDI", NULL_REF)
    if vdi in api.store.classes.get("VDI", {}):
        path = storage.vdi_path(api, vdi)
        sr = api.store.record("VDI", vdi)["SR"]
        storage.forget(api, vdi)
        if path is not None:
            path.unlink(missing_ok=True)
            storage.scan(api, sr)
    api.store.update("VM", vm, suspend_VDI=NULL_REF)


@message("VM.suspend", ref("VM", "vm"))
def vm_suspend(api, vm):
    """xapi_vm.ml suspend: the memory image goes to a suspend VDI (here an empty VHD of the
    VM's memory size: there is no guest memory to save), the domain goes, the VM is Suspended."""
    from . import storage

    with operation(api, vm, "suspend"):
        rec = api.store.record("VM", vm)
        sr = _suspend_sr(api, rec["resident_on"])
        vdi = storage.vdi_create(api, {
            "name_label": "Suspend image", "name_description": f"Suspend image of VM {rec.get('uuid', '')}",
            "SR": sr, "virtual_size": rec.get("memory_static_max", 0) + rec.get("memory_overhead", 0),
            "type": "suspend", "sharable": False, "read_only": False, "other_config": {}})
        _console(api, vm, "the domain was suspended (simulated: no memory image written)")
        _destroy_domain(api, vm)
        api.store.update("VM", vm, power_state=SUSPENDED, suspend_VDI=vdi)
    _refresh_devices(api, vm)
    return ""


def reset_after_restart(api) -> None:
    """What xapi finds at start when no domain survived (the stand-in restarted): every VM that
    had a domain on a host is Halted (xapi_vm_lifecycle.ml force_state_reset)."""
    for vm, rec in list(api.store.classes.get("VM", {}).items()):
        if rec.get("is_control_domain") or rec.get("power_state") not in (RUNNING, PAUSED):
            continue
        _destroy_domain(api, vm)
        api.store.update("VM", vm, power_state=HALTED, current_operations={})
        update_allowed_operations(api, vm)
