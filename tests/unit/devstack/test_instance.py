"""What each step of an instance's life must show, read from Nova's compute probe.

The probe's answers here are recorded inputs written from its `lifecycle` contract
(recorded/README): the real answer comes from branch sim-lifecycle's probe.
"""

import json
from pathlib import Path

import pytest

from xenlab.devstack import instance

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def edited(change) -> str:
    doc = json.loads(recorded("probe-lifecycle-ok.json"))
    change(doc)
    return json.dumps(doc)


def test_a_full_run_reads_as_seven_steps_that_each_show_what_they_must():
    lc = instance.from_probe(recorded("probe-lifecycle-ok.json"))
    assert [s.name for s in lc.steps] == list(instance.STEPS)
    assert lc.stand_in and lc.on == instance.ON_STANDIN
    assert lc.step("spawn").seconds == 12.31 and lc.step("snapshot").facts["snapshot_bytes"] == 1049088
    assert {name: instance.problems(lc, name) for name in instance.STEPS} == {name: [] for name in instance.STEPS}


def test_the_answer_captured_from_the_probe_passes_every_check():
    lc = instance.from_probe(recorded("probe-lifecycle-captured.json"))
    assert [s.name for s in lc.steps] == list(instance.STEPS) and lc.stand_in
    assert {name: instance.problems(lc, name) for name in instance.STEPS} == {name: [] for name in instance.STEPS}


def test_a_failing_step_is_named_with_its_error_and_the_steps_after_it_were_not_reached():
    lc = instance.from_probe(recorded("probe-lifecycle-power-off-fails.json"))
    assert instance.problems(lc, "power-off") == [
        "power-off failed after 30.0 s: XENAPI VM.clean_shutdown -> VM_BAD_POWER_STATE OpaqueRef:7c1d halted running"]
    for later in ("power-on", "snapshot"):
        assert instance.problems(lc, later) == [
            f"{later} was not reached: the run stopped at power-off (XENAPI VM.clean_shutdown -> "
            "VM_BAD_POWER_STATE OpaqueRef:7c1d halted running)"]
    # Destroy is still attempted and reported: here it cleaned up.
    assert instance.problems(lc, "spawn") == [] and instance.problems(lc, "destroy") == []


def test_destroy_that_leaves_a_vdi_and_sr_space_behind_says_both():
    lc = instance.from_probe(recorded("probe-lifecycle-leaks.json"))
    assert instance.problems(lc, "destroy") == [
        "destroy left behind 1 vdis (OpaqueRef:9a1f0e2b-1c7e-4d8e-bb40-2f6a0d1b3c44)",
        "the SR's utilisation is 5243392 bytes after destroy, 4194304 before spawn"]


@pytest.mark.parametrize("step, index, xapi, driver, want", [
    ("spawn", 0, "Halted", "shutdown", ["after spawn XenAPI shows the VM Halted, not Running",
                                        "after spawn Nova's driver reports 'shutdown', not 'running' (XenAPI Running)"]),
    ("power-off", 3, "Running", "running", ["after power-off XenAPI shows the VM Running, not Halted",
                                            "after power-off Nova's driver reports 'running', not 'shutdown' "
                                            "(XenAPI Halted)"]),
    ("power-on", 4, None, None, ["after power-on XenAPI shows the VM gone, not Running",
                                 "after power-on Nova's driver reports None, not 'running' (XenAPI Running)"]),
    # Nova's own power state numbers are read too (nova/compute/power_state.py: 1 running, 4 shutdown).
    ("reboot-hard", 2, "Running", 1, []),
    ("power-off", 3, "Halted", 4, []),
])
def test_power_states_after_each_step_follow_xenapi_and_nova(step, index, xapi, driver, want):
    def change(doc):
        doc["steps"][index]["xapi"]["power_state"] = xapi
        doc["steps"][index]["driver_state"] = driver
    assert instance.problems(instance.from_probe(edited(change)), step) == want


def test_a_spawn_without_a_root_disk_and_a_snapshot_without_data_fail():
    def change(doc):
        doc["steps"][0]["xapi"].update(vbds=0, vdis=0)
        doc["steps"][5]["snapshot_bytes"] = 0
    lc = instance.from_probe(edited(change))
    assert instance.problems(lc, "spawn") == ["after spawn the VM has 0 vdis: no root disk",
                                              "after spawn the VM has 0 vbds: no root disk"]
    assert instance.problems(lc, "snapshot") == [
        "the snapshot's image 0d5e6c2a-51a4-4c4d-8a0b-7f0b6c1f7e22 holds no data in Glance (0 bytes)"]


def test_destroy_that_leaves_the_vm_running_is_named():
    def change(doc):
        doc["steps"][6]["xapi"]["power_state"] = "Running"
        doc["leftovers"]["vms"] = ["OpaqueRef:1"]
    assert instance.problems(instance.from_probe(edited(change)), "destroy") == [
        "destroy left behind 1 vms (OpaqueRef:1)", "after destroy XenAPI still shows the VM Running"]


@pytest.mark.parametrize("text, why", [
    ("", "not JSON: ''"),
    ("[1]", "not a JSON object"),
    ('{"error": "nova-probe: XenAPIDriver failed: XenAPI session.login_with_password -> '
     'SESSION_AUTHENTICATION_FAILED"}',
     "Nova's probe failed: nova-probe: XenAPIDriver failed: XenAPI session.login_with_password -> "
     "SESSION_AUTHENTICATION_FAILED"),
    # Today's probe answers any connection with its resource report.
    ('{"hypervisor": {"vcpus": 4}, "inventory": {}}', "no 'steps': this probe answers no instance lifecycle"),
])
def test_an_answer_that_is_no_lifecycle_is_one_line(text, why):
    with pytest.raises(instance.BadAnswer) as exc:
        instance.from_probe(text)
    assert str(exc.value).startswith(why) and "\n" not in str(exc.value)


@pytest.mark.parametrize("change, why", [
    (lambda d: d["steps"][0].update(name="boot"), "step 1 is 'boot', not one of spawn"),
    (lambda d: d["steps"][1].update(seconds="3"), "step 'reboot-soft' 'seconds' is str '3', not float"),
    (lambda d: d["steps"][2].pop("xapi"), "step 'reboot-hard' has no 'xapi'"),
    (lambda d: d["steps"][3]["xapi"].update(vbds=True), "step 'power-off' xapi 'vbds' is bool 'True', not int"),
    (lambda d: d["steps"][5].pop("snapshot_image"), "step 'snapshot' has no 'snapshot_image'"),
    (lambda d: d["steps"].append(d["steps"][0]), "steps repeat"),
    (lambda d: d["leftovers"].pop("vifs"), "leftovers has no 'vifs'"),
    (lambda d: d["sr"].update(utilisation_after=None), "sr 'utilisation_after' is NoneType"),
    (lambda d: d.pop("stand_in"), "the answer has no 'stand_in'"),
])
def test_a_lifecycle_that_breaks_the_contract_names_the_field(change, why):
    with pytest.raises(instance.BadAnswer) as exc:
        instance.from_probe(edited(change))
    assert str(exc.value).startswith(why)


def test_the_summary_line_gives_each_step_its_time_and_where_it_ran():
    timed = [instance.Timed("spawn", 12.31, True), instance.Timed("power-off", 30.02, False),
             instance.Timed("power-on", None, False), instance.Timed("destroy", 2.26, True)]
    assert instance.summary_line(timed, instance.ON_STANDIN) == (
        "instance lifecycle: spawn 12.3 s, power-off FAILED (30.0 s), power-on not reached, destroy 2.26 s "
        "(on the stand-in's simulated host: xenlab sim, no guest really runs)")
