"""verify's instance checks run for real (pytest, testinfra's local backend, JUnit, verify's
summary) on recorded answers of Nova's probe (tests/unit/devstack/recorded: written from
the probe's `lifecycle` contract, not captured from a lab).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import labs
from xenlab.core.files import write_json
from xenlab.devstack import instance
from xenlab.stages import verify

RECORDED = Path(__file__).resolve().parents[2] / "unit" / "devstack" / "recorded"
CHECKS = {"spawn": "test_instance_spawn", "reboot-soft": "test_instance_reboot_soft",
          "reboot-hard": "test_instance_reboot_hard", "power-off": "test_instance_power_off",
          "power-on": "test_instance_power_on", "snapshot": "test_instance_snapshot",
          "destroy": "test_instance_destroy_leaves_nothing"}


def run_checks(tmp_path: Path, answer: list[str]) -> verify.Outcome:
    cfg = labs.load(tmp_path / "lab")
    write_json(cfg.paths.verify_context, {"nova_probe": {"lifecycle": answer, "service": "xenlab-nova-probe.service"}})
    target = verify.Target("devstack", "local://", tmp_path / "unused-ssh-config", sudo=False,
                           suites=["test_instance_driver.py"])
    [outcome] = verify.run_targets(cfg, [target], {})
    verify.summarise([outcome], cfg.paths.report)
    return outcome


def test_a_full_run_passes_seven_checks_asks_once_and_reports_each_step_s_time(tmp_path, capsys):
    outcome = run_checks(tmp_path, ["cat", str(RECORDED / "probe-lifecycle-ok.json")])
    assert (outcome.passed, outcome.failed) == (7, [])
    assert outcome.round_trips == 1  # the probe is asked once for the whole module
    assert [(t.step, t.seconds) for t in outcome.instance] == [
        ("spawn", 12.31), ("reboot-soft", 3.12), ("reboot-hard", 2.04), ("power-off", 1.51), ("power-on", 1.77),
        ("snapshot", 6.42), ("destroy", 2.26)]
    # The merged report: one test case per step, named as real flavours' checks are, with its seconds.
    cases = {c.get("name").split("[")[0]: {p.get("name"): p.get("value") for p in c.iter("property")}
             for c in ET.parse(labs.load(tmp_path / "lab").paths.report).iter("testcase")}
    assert {name: props[instance.SECONDS_PROPERTY] for name, props in cases.items()} == {
        CHECKS[step]: f"{seconds:.3f}" for step, seconds in
        (("spawn", 12.31), ("reboot-soft", 3.12), ("reboot-hard", 2.04), ("power-off", 1.51), ("power-on", 1.77),
         ("snapshot", 6.42), ("destroy", 2.26))}
    out = capsys.readouterr().out
    assert ("instance lifecycle: spawn 12.3 s, reboot-soft 3.12 s, reboot-hard 2.04 s, power-off 1.51 s, "
            "power-on 1.77 s, snapshot 6.42 s, destroy 2.26 s (on the stand-in's simulated host: xenlab sim, "
            "no guest really runs)") in out


def test_a_step_that_fails_fails_its_check_and_the_ones_it_kept_from_running(tmp_path, capsys):
    outcome = run_checks(tmp_path, ["cat", str(RECORDED / "probe-lifecycle-power-off-fails.json")])
    failed = {name.split("[")[0]: message for name, message in outcome.failed}
    assert sorted(failed) == ["test_instance_power_off", "test_instance_power_on", "test_instance_snapshot"]
    assert "VM_BAD_POWER_STATE" in failed["test_instance_power_off"]
    assert "was not reached: the run stopped at power-off" in failed["test_instance_snapshot"]
    assert outcome.passed == 4  # spawn, both reboots and destroy
    assert "power-off FAILED (30.0 s), power-on not reached, snapshot not reached, destroy 2.26 s" in \
        capsys.readouterr().out


def test_a_probe_that_does_not_answer_fails_every_check_with_one_line(tmp_path):
    outcome = run_checks(tmp_path, ["sh", "-c", "echo 'nova-probe service: no answer on /run/x.sock' >&2; exit 1"])
    assert outcome.passed == 0 and len(outcome.failed) == len(CHECKS)
    assert all("does not answer on the devstack host" in message for _, message in outcome.failed)
    assert outcome.round_trips == 1


@pytest.mark.parametrize("answer, why", [
    ('{"hypervisor": {"vcpus": 4}}', "no 'steps': this probe answers no instance lifecycle"),
    ('{"error": "nova-probe: spawn failed: XenAPI VM.create -> MESSAGE_METHOD_UNKNOWN"}',
     "Nova's probe failed: nova-probe: spawn failed"),
])
def test_an_answer_that_is_no_lifecycle_is_named(tmp_path, answer, why):
    (tmp_path / "answer.json").write_text(answer)
    outcome = run_checks(tmp_path, ["cat", str(tmp_path / "answer.json")])
    assert len(outcome.failed) == len(CHECKS)
    assert all(why in message for _, message in outcome.failed), outcome.failed
    assert instance.STEPS == tuple(CHECKS)
