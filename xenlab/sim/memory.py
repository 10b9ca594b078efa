"""Host memory as XAPI accounts for it, and the memory a guest's domain takes.

xapi-project/xen-api (v26.1.4):
- ocaml/xapi/memory_check.ml: host.compute_free_memory is the host's total memory
  (host_metrics.memory_total) minus the host's memory_overhead, minus, for every VM
  resident on or scheduled to be resident on the host (the control domain included),
  its memory_dynamic_min plus its memory_overhead (policy Dynamic_min), never below 0;
  a VM may start when that is at least its start memory (target + overhead).
- ocaml/xapi-idl/memory/memory.ml: the overhead of a domain by its type (the HVM,
  Linux (PV) and PV-in-PVH models: extra internal/external MiB, shadow memory for
  the vCPUs and the static maximum, the PVH shim).

host_metrics.memory_free is what Xen reports as free (xenopsd -> xapi's monitor): it
falls by the domain's footprint when a domain is built and rises when it goes.
"""

from __future__ import annotations

from .store import NULL_REF

MIB = 1024 * 1024
PAGE = 4096


def _mib_used(nbytes: int) -> int:
    """memory.ml mib_of_bytes_used: whole MiB, rounded up."""
    return (nbytes + MIB - 1) // MIB


# memory.ml: (extra_internal_mib, extra_external_mib, shim) per model.
_MODELS = {
    "hvm": (1, 1, lambda mib: 0),
    "pvh": (1, 1, lambda mib: 0),
    "pv": (0, 1, lambda mib: 0),
    "pv_in_pvh": (1, 1, lambda mib: 23 + mib // 90),
}


def _domain_type(vm: dict) -> str:
    """helpers.ml check_domain_type: an unspecified type follows HVM_boot_policy (xapi_vm_helpers.ml)."""
    kind = vm.get("domain_type", "unspecified")
    if kind == "unspecified":
        return "hvm" if vm.get("HVM_boot_policy") else "pv"
    return kind


def shadow_mib(static_max_mib: int, vcpus: int, multiplier: float) -> int:
    """memory.ml Memory_model.shadow_mib."""
    pages = 256 * vcpus + static_max_mib + static_max_mib
    total = (pages * PAGE + MIB - 1) // MIB
    return max(1, int(total * multiplier))


def overhead_bytes(vm: dict) -> int:
    """memory_check.ml vm_compute_memory_overhead (memory.ml overhead_mib), in bytes."""
    internal, external, shim = _MODELS[_domain_type(vm)]
    static_max = _mib_used(int(vm.get("memory_static_max", 0)))
    multiplier = float(vm.get("HVM_shadow_multiplier", 1.0) or 1.0)
    vcpus = int(vm.get("VCPUs_max", 1) or 1)
    return (internal + external + shadow_mib(static_max, vcpus, multiplier) + shim(static_max)) * MIB


def start_bytes(vm: dict) -> int:
    """memory_check.ml vm_compute_start_memory with policy Dynamic_min (xapi_vm_helpers.ml
    assert_enough_memory_available): the footprint of a domain built at dynamic_min."""
    internal, external, shim = _MODELS[_domain_type(vm)]
    kind = _domain_type(vm)
    # memory_check.ml vm_compute_required_memory: PV guests take Linux's default multiplier.
    multiplier = 1.0 if kind == "pv" else float(vm.get("HVM_shadow_multiplier", 1.0) or 1.0)
    static_max = _mib_used(int(vm.get("memory_static_max", 0)))
    target = _mib_used(int(vm.get("memory_dynamic_min", 0)))
    vcpus = int(vm.get("VCPUs_max", 1) or 1)
    overhead = internal + external + shadow_mib(static_max, vcpus, multiplier) + shim(static_max)
    return (target + overhead) * MIB


def used_bytes(vm: dict) -> int:
    """memory_check.ml vm_compute_used_memory, policy Dynamic_min: dynamic_min + memory_overhead."""
    return int(vm.get("memory_dynamic_min", 0)) + int(vm.get("memory_overhead", 0))


def compute_free(store, host: str, ignore: str | None = None) -> int:
    """memory_check.ml host_compute_free_memory_with_maximum_compression."""
    rec = store.record("host", host)
    metrics = store.classes.get("host_metrics", {}).get(rec.get("metrics", NULL_REF), {})
    available = int(metrics.get("memory_total", 0)) - int(rec.get("memory_overhead", 0))
    for ref, vm in store.classes.get("VM", {}).items():
        # get_host_memory_summary: the resident VMs, then the scheduled ones (a VM in both counts twice).
        if vm.get("resident_on") == host:
            available -= used_bytes(vm)
        if vm.get("scheduled_to_be_resident_on") == host and ref != ignore:
            available -= used_bytes(vm)
    return max(0, available)


def footprint_bytes(vm: dict) -> int:
    """What Xen hands a built domain (memory.ml footprint_mib: target + overhead)."""
    return int(vm.get("memory_target", 0) or vm.get("memory_dynamic_max", 0)) + int(vm.get("memory_overhead", 0))


def domain_built(store, host: str, vm: dict) -> None:
    """Xen's free memory falls by the new domain's footprint (host_metrics.memory_free)."""
    _shift_free(store, host, -footprint_bytes(vm))


def domain_destroyed(store, host: str, vm: dict) -> None:
    _shift_free(store, host, footprint_bytes(vm))


def _shift_free(store, host: str, delta: int) -> None:
    rec = store.classes.get("host", {}).get(host)
    if rec is None or rec.get("metrics", NULL_REF) not in store.classes.get("host_metrics", {}):
        return
    metrics = store.record("host_metrics", rec["metrics"])
    total = int(metrics.get("memory_total", 0))
    store.update("host_metrics", rec["metrics"],
                 memory_free=min(total, max(0, int(metrics.get("memory_free", 0)) + delta)))
