"""Domain memory as xapi-project/xen-api v26.1.4 computes it: ocaml/xapi-idl/memory/memory.ml
(the models' overheads) and ocaml/xapi/memory_check.ml (start memory, free memory)."""

from xenlab.sim import memory
from xenlab.sim.store import Store

MIB, GIB = 2**20, 2**30


def vm(kind, static_max=GIB, dynamic_min=GIB, vcpus=2, multiplier=1.0, **extra):
    return {"domain_type": kind, "memory_static_max": static_max, "memory_dynamic_min": dynamic_min,
            "memory_dynamic_max": static_max, "VCPUs_max": vcpus, "HVM_shadow_multiplier": multiplier, **extra}


def test_overheads_follow_memory_ml_models():
    # shadow_mib: pages of 256 per vCPU + 2 x static_max in MiB, in MiB rounded up, times the multiplier.
    assert memory.shadow_mib(1024, 2, 1.0) == 10 and memory.shadow_mib(1024, 2, 2.5) == 25
    assert memory.shadow_mib(0, 0, 1.0) == 1  # at least 1 MiB
    assert memory.overhead_bytes(vm("hvm")) == (1 + 1 + 10) * MIB  # HVM: 1 internal + 1 external
    assert memory.overhead_bytes(vm("pv")) == (0 + 1 + 10) * MIB  # Linux (PV): 1 external
    assert memory.overhead_bytes(vm("pv_in_pvh")) == (1 + 1 + 10 + 23 + 1024 // 90) * MIB  # the PVH shim
    # An unspecified type follows HVM_boot_policy (xapi_vm_helpers.ml derive_domain_type).
    assert memory.overhead_bytes(vm("unspecified", HVM_boot_policy="BIOS order")) == 12 * MIB


def test_start_memory_is_the_footprint_at_dynamic_min():
    """memory_check.ml vm_compute_start_memory (policy Dynamic_min): target + overhead, a PV guest
    with Linux's default shadow multiplier whatever its record says."""
    assert memory.start_bytes(vm("pv", dynamic_min=512 * MIB, multiplier=4.0)) == (512 + 1 + 10) * MIB
    assert memory.start_bytes(vm("hvm", dynamic_min=512 * MIB, multiplier=2.0)) == (512 + 2 + 20) * MIB


def test_free_memory_counts_resident_and_scheduled_vms():
    """memory_check.ml host_compute_free_memory_with_maximum_compression: total - host overhead -
    each resident and each scheduled VM's dynamic_min + memory_overhead, never below 0; a VM
    ignored while it starts is not counted twice."""
    store = Store(schema=True)
    metrics = store.add("host_metrics", {"memory_total": 8 * GIB, "memory_free": 8 * GIB})
    host = store.add("host", {"metrics": metrics, "memory_overhead": 100 * MIB})
    store.add("VM", {"resident_on": host, "memory_dynamic_min": GIB, "memory_overhead": 10 * MIB})
    starting = store.add("VM", {"scheduled_to_be_resident_on": host, "memory_dynamic_min": 2 * GIB,
                                "memory_overhead": 0})
    assert memory.compute_free(store, host) == 8 * GIB - 100 * MIB - GIB - 10 * MIB - 2 * GIB
    assert memory.compute_free(store, host, ignore=starting) == 8 * GIB - 100 * MIB - GIB - 10 * MIB
    store.add("VM", {"resident_on": host, "memory_dynamic_min": 16 * GIB, "memory_overhead": 0})
    assert memory.compute_free(store, host) == 0
