"""verify's own logic: ssh multiplexing, JUnit parsing and merging, summaries."""

import xml.etree.ElementTree as ET

from xenlab.machines import sshconfig
from xenlab.stages import verify

VAGRANT_SSH_CONFIG = """Host xenserver
  HostName 192.168.121.10
  User vagrant
  Port 22
  IdentityFile /root/.vagrant.d/insecure_private_key

Host devstack
  HostName 192.168.121.11
  User vagrant
  ControlMaster no
"""

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4">
<testcase classname="test_xenserver" name="test_a[ssh://xenserver]"/>
<testcase classname="test_xenserver" name="test_b[ssh://xenserver]"><failure message="AssertionError: plugins not executable: run `invoke wire`&#10;more">x</failure></testcase>
<testcase classname="test_xenserver" name="test_c"><skipped message="n/a"/></testcase>
<testcase classname="test_xenserver" name="test_d"/>
</testsuite></testsuites>
"""


def test_every_host_block_gets_connection_sharing(tmp_path):
    out = sshconfig.multiplexed(VAGRANT_SSH_CONFIG, tmp_path)
    blocks = out.split("Host ")[1:]
    assert len(blocks) == 2
    for block in blocks:
        assert "ControlMaster auto" in block
        assert f"ControlPath {tmp_path}/%C" in block
        assert "ControlPersist" in block
        assert "ServerAliveInterval" in block  # a dead shared connection fails, it does not hang
    assert "ControlMaster no" not in out
    assert "HostName 192.168.121.11" in out


def test_outcome_reads_failures_with_their_first_line(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    counts = tmp_path / "c.json"
    counts.write_text('{"count": 17, "seconds": 1.5}')
    o = verify._outcome("xenserver", report, counts, 2.0)
    assert (o.passed, o.skipped, o.round_trips) == (2, 1, 17)
    assert o.failed == [("test_b[ssh://xenserver]", "AssertionError: plugins not executable: run `invoke wire`")]


def test_missing_report_counts_as_failure(tmp_path):
    o = verify._outcome("devstack", tmp_path / "none.xml", tmp_path / "none.json", 1.0)
    assert o.failed and "did not run" in o.failed[0][1]


def test_merge_keeps_one_suite_per_host(tmp_path):
    a, b = tmp_path / "a.xml", tmp_path / "b.xml"
    a.write_text(JUNIT)
    b.write_text(JUNIT.replace('failures="1"', 'failures="0"'))
    verify.merge_reports([a, b, tmp_path / "missing.xml"], tmp_path / "all.xml")
    suites = list(ET.parse(tmp_path / "all.xml").getroot().iter("testsuite"))
    assert [s.get("failures") for s in suites] == ["1", "0"]


# What pytest (junit_family xunit1) writes for the instance checks: each test case's
# properties hold its step, seconds and where it ran (xenlab/suites/conftest.py instance_step).
INSTANCE_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="4">
<testcase classname="test_nova_probe" name="test_nova_reports_the_hypervisor[ssh://devstack]"/>
<testcase classname="test_instance_driver" name="test_instance_spawn[ssh://devstack]"><properties>
<property name="instance.step" value="spawn"/><property name="instance.on" value="the stand-in's simulated host: xenlab sim, no guest really runs"/>
<property name="instance.seconds" value="12.310"/></properties></testcase>
<testcase classname="test_instance_driver" name="test_instance_power_off[ssh://devstack]"><properties>
<property name="instance.step" value="power-off"/><property name="instance.on" value="the stand-in's simulated host: xenlab sim, no guest really runs"/>
<property name="instance.seconds" value="30.020"/></properties><failure message="AssertionError: power-off failed after 30.0 s: XENAPI VM.clean_shutdown -> VM_BAD_POWER_STATE">x</failure></testcase>
<testcase classname="test_instance_driver" name="test_instance_power_on[ssh://devstack]"><properties>
<property name="instance.step" value="power-on"/><property name="instance.on" value="the stand-in's simulated host: xenlab sim, no guest really runs"/>
</properties><failure message="AssertionError: power-on was not reached">x</failure></testcase>
</testsuite></testsuites>
"""


def test_the_instance_steps_and_their_times_come_back_from_the_report(tmp_path, capsys):
    report = tmp_path / "devstack.xml"
    report.write_text(INSTANCE_JUNIT)
    o = verify._outcome("devstack", report, tmp_path / "none.json", 50.0)
    assert [(t.step, t.seconds, t.passed) for t in o.instance] == [
        ("spawn", 12.31, True), ("power-off", 30.02, False), ("power-on", None, False)]
    verify.summarise([o], tmp_path / "report.xml")
    out = capsys.readouterr().out
    assert ("instance lifecycle: spawn 12.3 s, power-off FAILED (30.0 s), power-on not reached "
            "(on the stand-in's simulated host: xenlab sim, no guest really runs)") in out


def test_a_report_without_instance_checks_prints_no_lifecycle_line(tmp_path, capsys):
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    verify.summarise([verify._outcome("xenserver", report, tmp_path / "none.json", 1.0)], tmp_path / "all.xml")
    assert "instance lifecycle" not in capsys.readouterr().out


def test_an_edit_of_your_nova_makes_verify_run_again(tmp_path):
    from tests.support import labs, nova_checkout

    src = nova_checkout.make(tmp_path / "nova")
    cfg = labs.load(tmp_path / "lab", extra=f"[devstack]\nnova_src = '{src}'\n")
    before = verify.inputs(cfg)
    assert verify.inputs(cfg) == before
    (src / "nova/virt/xenapi/host.py").write_text("# an edit\n")
    assert verify.inputs(cfg) != before
    assert verify.inputs(labs.load(tmp_path / "lab")) not in (before, verify.inputs(cfg))


def test_where_stack_sh_runs_verify_syncs_nothing(tmp_path):
    from tests.support import labs, nova_checkout

    src = nova_checkout.make(tmp_path / "nova")
    cfg = labs.load(tmp_path / "lab", flavour="xcp-ng-8.3", extra=f"[devstack]\nnova_src = '{src}'\n")
    # No ssh, no rsync (the ssh config does not even exist): local.conf's NOVA_REPO is the checkout.
    assert verify.sync_own_nova(cfg, tmp_path / "no-ssh-config") is None
    assert not cfg.paths.log("verify-nova-src").exists()


def test_on_the_stand_in_verify_syncs_your_nova_into_the_probe_or_removes_it(tmp_path, monkeypatch, capsys):
    from tests.support import labs, nova_checkout
    from xenlab.devstack import nova_src
    from xenlab.machines import labspec

    calls = []
    monkeypatch.setattr(nova_src, "sync", lambda src, target, log: calls.append(("sync", src, target)) or
                        nova_src.Synced(3, True))
    monkeypatch.setattr(nova_src, "remove", lambda target, log: calls.append(("remove", None, target)) or True)
    ssh_config = tmp_path / "ssh-config"
    ssh_config.write_text("Host xenserver\n  User root\nHost devstack\n  HostName 192.168.121.11\n  User vagrant\n")
    src = nova_checkout.make(tmp_path / "nova")
    verify.sync_own_nova(labs.load(tmp_path / "lab", extra=f"[devstack]\nnova_src = '{src}'\n"), ssh_config)
    verify.sync_own_nova(labs.load(tmp_path / "lab"), ssh_config)
    want = nova_src.Target(ssh_config, "devstack", labspec.GUEST_NOVA_SRC,
                           "systemctl restart xenlab-nova-probe.service", sudo=True)
    assert calls == [("sync", src, want), ("remove", None, want)]
    out = capsys.readouterr().out
    assert f"your Nova: {src}/nova -> devstack:{labspec.GUEST_NOVA_SRC} (3 change(s), probe restarted)" in out
    assert "devstack.nova_src is unset: your Nova removed from the devstack machine" in out
