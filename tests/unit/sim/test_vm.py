"""The VM lifecycle against XAPI's rules (xapi-project/xen-api v26.1.4, ocaml/xapi/: each test
names the file that shows the behaviour)."""

from xenlab.sim import memory
from xenlab.sim.api import Api
from xenlab.sim.machine import Simulated

from .conftest import GIB, MIB, vm_record


def test_create_makes_a_halted_vm_from_novas_record(sim):
    """xapi_vm.ml create: Halted, no domain, a mac_seed, domain_type from HVM_boot_policy,
    memory_overhead from memory.ml's Linux (PV) model."""
    vm = sim.vm(memory=512 * MIB)
    rec = sim.call("VM.get_record", vm)
    assert (rec["power_state"], rec["domid"], rec["resident_on"]) == ("Halted", "-1", "OpaqueRef:NULL")
    assert rec["affinity"] == "OpaqueRef:NULL" and rec["domain_type"] == "pv" and "mac_seed" in rec["other_config"]
    assert rec["other_config"]["xenlab-stand-in"].startswith("simulated by xenlab-standin: no guest runs")
    assert rec["other_config"]["nova_uuid"] == "11111111-2222-4333-8444-555555555555"
    # Linux model: 0 + 1 MiB extra, shadow of 256 pages per vCPU + 2 x 512 MiB of pages = 5 MiB.
    assert int(rec["memory_overhead"]) == 6 * MIB
    assert rec["VCPUs_max"] == "1" and rec["memory_static_max"] == str(512 * MIB)
    assert "start" in rec["allowed_operations"] and "clean_shutdown" not in rec["allowed_operations"]
    assert sim.call("VM.get_domain_type", sim.vm("hvm", hvm=True)) == "hvm"


def test_a_record_without_a_required_field_fails_as_rpclib_does(sim):
    """gen_api.ml assocer: a field with no default missing from the record is Failure "Field <x> not
    present in rpc", which exnHelper.ml answers as INTERNAL_ERROR."""
    rec = vm_record("x", GIB, 1)
    del rec["memory_static_max"]
    assert sim.call("VM.create", rec) == ["INTERNAL_ERROR", 'Failure("Field memory_static_max not present in rpc")']
    assert sim.call("VM.create", {**vm_record("x", GIB, 1), "VCPUs_max": "two"}) == [
        "INTERNAL_ERROR", 'Failure("Int64.of_string")']


def test_power_state_errors_name_the_states_the_operation_needs(sim):
    """xapi_vm_lifecycle.ml allowed_power_states, report_power_state_error: VM_BAD_POWER_STATE
    [vm; expected states, lowercase, comma-joined; actual]."""
    vm = sim.vm()
    assert sim.call("VM.clean_shutdown", vm) == ["VM_BAD_POWER_STATE", vm, "running", "halted"]
    assert sim.call("VM.hard_reboot", vm) == ["VM_BAD_POWER_STATE", vm, "paused, running", "halted"]
    assert sim.call("VM.unpause", vm) == ["VM_BAD_POWER_STATE", vm, "paused", "halted"]
    assert sim.call("VM.resume", vm, False, True) == ["VM_BAD_POWER_STATE", vm, "suspended", "halted"]
    assert sim.call("VM.start_on", vm, sim.host, False, False) == ""
    assert sim.call("VM.start", vm, False, False) == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
    assert sim.call("VM.destroy", vm) == ["VM_BAD_POWER_STATE", vm, "halted, suspended", "running"]
    assert sim.call("VM.hard_shutdown", vm) == ""
    assert sim.call("VM.hard_shutdown", vm) == ["VM_BAD_POWER_STATE", vm, "paused, suspended, running", "halted"]


def test_an_operation_in_progress_blocks_the_others_it_cannot_run_with(sim):
    """xapi_vm_lifecycle.ml is_allowed_concurrently: hard_shutdown and hard_reboot may cut in, others
    fail OTHER_OPERATION_IN_PROGRESS [VM; vm; op; task] (xapi_vm_helpers.ml with_vm_operation)."""
    vm = sim.vm()
    sim.call("VM.start", vm, False, False)
    sim.record("VM", vm)["current_operations"] = {"OpaqueRef:task-1": "clean_shutdown"}
    assert sim.call("VM.clean_reboot", vm) == ["OTHER_OPERATION_IN_PROGRESS", "VM", vm, "clean_shutdown",
                                               "OpaqueRef:task-1"]
    assert sim.call("VM.pause", vm)[0] == "OTHER_OPERATION_IN_PROGRESS"
    assert sim.call("VM.hard_reboot", vm) == ""
    sim.record("VM", vm)["current_operations"] = {"OpaqueRef:task-2": "hard_shutdown"}
    assert sim.call("VM.hard_shutdown", vm)[0] == "OTHER_OPERATION_IN_PROGRESS"
    sim.record("VM", vm)["current_operations"] = {}
    assert sim.call("VM.hard_shutdown", vm) == "" and sim.call("VM.get_current_operations", vm) == {}


def test_unknown_refs_and_blocked_operations(sim):
    """HANDLE_INVALID for a ref of no record; xapi_vm_lifecycle.ml: a blocked operation is
    OPERATION_BLOCKED [vm; reason] before any other check (Nova's bootlock blocks start)."""
    assert sim.call("VM.start", "OpaqueRef:nope", False, False) == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
    vm = sim.vm()
    assert sim.call("VM.set_blocked_operations", vm, {"start": ""}) == ""
    assert sim.call("VM.start", vm, False, False) == ["OPERATION_BLOCKED", vm, ""]
    assert "start" not in sim.call("VM.get_allowed_operations", vm)
    assert sim.call("VM.remove_from_blocked_operations", vm, "start") == ""
    assert sim.call("VM.start", vm, False, False) == ""


def test_allowed_operations_follow_the_power_state(sim):
    """xapi_vm_lifecycle.ml update_allowed_operations: every operation that passes, less ignored_ops."""
    vm = sim.vm()
    halted = set(sim.call("VM.get_allowed_operations", vm))
    assert {"start", "start_on", "destroy", "clone", "copy", "export", "snapshot"} <= halted
    assert not halted & {"clean_shutdown", "pause", "suspend", "hard_reboot", "shutdown", "call_plugin"}
    sim.call("VM.start", vm, False, False)
    running = set(sim.call("VM.get_allowed_operations", vm))
    assert {"clean_shutdown", "hard_shutdown", "clean_reboot", "hard_reboot", "pause", "suspend"} <= running
    assert not running & {"start", "destroy", "unpause", "resume"}
    sim.call("VM.pause", vm)
    assert {"unpause", "hard_shutdown", "hard_reboot"} <= set(sim.call("VM.get_allowed_operations", vm))


def test_the_control_domain_refuses_guest_operations(sim):
    """xapi_vm_lifecycle.ml check_operation_error: the power state first, then a control domain
    allows only its own operations."""
    dom0 = sim.api.refs["control_domain"]
    assert sim.call("VM.destroy", dom0) == ["VM_BAD_POWER_STATE", dom0, "halted, suspended", "running"]
    assert sim.call("VM.clean_shutdown", dom0) == ["OPERATION_NOT_ALLOWED",
                                                   "This operation is not allowed on a control domain"]


def test_an_hvm_guest_without_pv_drivers_cannot_be_asked_to_shut_down(sim):
    """xapi_vm_lifecycle.ml check_op_for_feature: a running HVM guest without PV drivers lacks
    feature-shutdown (VM_LACKS_FEATURE); a PV guest has it implicitly; hard_shutdown needs nothing."""
    hvm, pv = sim.vm("hvm", hvm=True), sim.vm("pv")
    for vm in (hvm, pv):
        sim.call("VM.start", vm, False, False)
    assert sim.call("VM.clean_shutdown", hvm) == ["VM_LACKS_FEATURE", hvm]
    assert sim.call("VM.clean_reboot", hvm) == ["VM_LACKS_FEATURE", hvm]
    assert sim.call("VM.clean_shutdown", pv) == "" and sim.call("VM.hard_shutdown", hvm) == ""


def test_free_memory_falls_while_a_vm_is_resident(sim):
    """memory_check.ml: compute_free_memory is total - host overhead - each resident VM's dynamic_min
    and overhead; host_metrics.memory_free (Xen's free memory) falls by the domain's footprint."""
    metrics = sim.record("host", sim.host)["metrics"]
    free_before = int(sim.call("host.compute_free_memory", sim.host))
    xen_free_before = int(sim.call("host_metrics.get_memory_free", metrics))
    total = int(sim.call("host_metrics.get_memory_total", metrics))
    dom0 = sim.record("VM", sim.api.refs["control_domain"])
    assert free_before == total - int(sim.call("host.get_memory_overhead", sim.host)) - dom0["memory_dynamic_min"]
    vm = sim.vm(memory=GIB, vcpus=2)
    sim.call("VM.start", vm, False, False)
    overhead = int(sim.call("VM.get_memory_overhead", vm))
    assert overhead == (1 + memory.shadow_mib(1024, 2, 1.0)) * MIB
    assert int(sim.call("host.compute_free_memory", sim.host)) == free_before - GIB - overhead
    assert int(sim.call("host_metrics.get_memory_free", metrics)) == xen_free_before - GIB - overhead
    assert vm in sim.call("host.get_resident_VMs", sim.host)
    sim.call("VM.hard_shutdown", vm)
    assert int(sim.call("host.compute_free_memory", sim.host)) == free_before
    assert int(sim.call("host_metrics.get_memory_free", metrics)) == xen_free_before


def test_a_vm_too_big_for_the_host_does_not_start(sim):
    """xapi_vm_helpers.ml assert_enough_memory_available: HOST_NOT_ENOUGH_FREE_MEMORY [needed; available]."""
    free = int(sim.call("host.compute_free_memory", sim.host))
    vm = sim.vm(memory=free)
    needed = memory.start_bytes(sim.record("VM", vm))
    assert needed > free
    assert sim.call("VM.start", vm, False, False) == ["HOST_NOT_ENOUGH_FREE_MEMORY", str(needed), str(free)]
    assert sim.call("VM.get_power_state", vm) == "Halted"


def test_start_reboot_and_shutdown_build_and_tear_down_the_domain(sim):
    """xenopsd as XAPI drives it: a start attaches the VM's devices in a new domain (its vm-data in
    xenstore); a reboot makes a new domain; a shutdown leaves none (force_state_reset: domid -1,
    devices detached, not resident). No guest runs: the console says so."""
    vm = sim.vm(xenstore_data={"vm-data/hostname": "lab"})
    vbd = sim.vbd(vm, sim.vdi())
    vif = sim.vif(vm, sim.network())
    assert sim.call("VBD.get_currently_attached", vbd) is False
    sim.call("VM.start", vm, True, False)
    assert sim.call("VM.get_power_state", vm) == "Paused"
    sim.call("VM.unpause", vm)
    domid = int(sim.call("VM.get_domid", vm))
    assert domid > 0 and sim.call("VM.get_resident_on", vm) == sim.host
    assert sim.call("VBD.get_currently_attached", vbd) is True and sim.call("VBD.get_device", vbd) == "xvda"
    assert sim.call("VIF.get_currently_attached", vif) is True
    dom0 = sim.api.dom0(sim.host)
    assert dom0.xs_read(f"/local/domain/{domid}/vm-data/hostname") == "lab"
    assert f"vif{domid}.0" in dom0.links and "no guest runs here" in dom0.consoles[domid]
    sim.call("VM.hard_reboot", vm)
    assert int(sim.call("VM.get_domid", vm)) > domid and not dom0.xs_exists(f"/local/domain/{domid}")
    sim.call("VM.clean_shutdown", vm)
    assert (sim.call("VM.get_domid", vm), sim.call("VM.get_resident_on", vm)) == ("-1", "OpaqueRef:NULL")
    assert sim.call("VBD.get_currently_attached", vbd) is False and sim.call("VIF.get_currently_attached", vif) is False


def test_suspend_and_resume(sim):
    """xapi_vm.ml suspend: the image goes to a suspend VDI on the suspend SR and the domain goes;
    resume builds it again and the image goes; a Suspended VM may be destroyed."""
    vm = sim.vm()
    sim.call("VM.start", vm, False, False)
    free_running = int(sim.call("host.compute_free_memory", sim.host))
    sim.call("VM.suspend", vm)
    suspend_vdi = sim.call("VM.get_suspend_VDI", vm)
    assert sim.call("VM.get_power_state", vm) == "Suspended" and sim.call("VDI.get_type", suspend_vdi) == "suspend"
    assert (sim.sr_dir() / f"{sim.call('VDI.get_uuid', suspend_vdi)}.vhd").exists()
    assert int(sim.call("host.compute_free_memory", sim.host)) > free_running
    assert "resume" in sim.call("VM.get_allowed_operations", vm)
    sim.call("VM.resume", vm, False, True)
    assert sim.call("VM.get_power_state", vm) == "Running" and sim.call("VM.get_suspend_VDI", vm) == "OpaqueRef:NULL"
    assert sim.call("VDI.get_record", suspend_vdi)[0] == "HANDLE_INVALID"
    sim.call("VM.suspend", vm)
    assert sim.call("VM.destroy", vm) == ""


def test_destroy_takes_the_devices_not_the_disks(sim):
    """xapi_vm_helpers.ml destroy: the VM's VBDs, VIFs and metrics go, its VDIs stay."""
    vm = sim.vm()
    vdi = sim.vdi()
    vbd, vif = sim.vbd(vm, vdi), sim.vif(vm, sim.network())
    metrics = sim.call("VM.get_metrics", vm)
    assert sim.call("VM.destroy", vm) == ""
    for cls, ref in (("VM", vm), ("VBD", vbd), ("VIF", vif), ("VM_metrics", metrics)):
        assert sim.call(f"{cls}.get_record", ref) == ["HANDLE_INVALID", cls, ref]
    assert sim.call("VDI.get_VBDs", vdi) == []


def test_no_domain_outlives_a_restart(tmp_path):
    """A restarted stand-in has no domains: its running VMs are Halted (xapi_vm_lifecycle.ml
    force_state_reset) and their memory is free again."""
    machine = Simulated(sr_root=tmp_path / "sr")
    a = Api("root", "pw", tmp_path, machine=machine, state_db=tmp_path / "state.db",
            inventory={"INSTALLATION_UUID": "11111111-1111-4111-8111-111111111111",
                       "CONTROL_DOMAIN_UUID": "22222222-2222-4222-8222-222222222222"})
    s = a.dispatch("session.login_with_password", ("root", "pw"))["Value"]
    host = a.refs["host"]
    free = a.dispatch("host.compute_free_memory", (s, host))["Value"]
    vm = a.dispatch("VM.create", (s, vm_record("v", 256 * MIB, 1)))["Value"]
    assert a.dispatch("VM.start", (s, vm, False, False))["Status"] == "Success"
    again = Api("root", "pw", tmp_path, machine=machine, state_db=tmp_path / "state.db")
    s2 = again.dispatch("session.login_with_password", ("root", "pw"))["Value"]
    assert again.dispatch("VM.get_power_state", (s2, vm))["Value"] == "Halted"
    assert again.dispatch("host.compute_free_memory", (s2, host))["Value"] == free
