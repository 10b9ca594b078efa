"""doctor's verdicts, with the host facts replaced (unit) and for real (this machine)."""

import pytest

from xenlab.core import config, kvm as host
from xenlab.commands import doctor


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "xenlab.toml").write_text('[lab]\nflavour = "standin"\n')
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})


def test_unusable_kvm_is_a_warning_with_tcg_fallback(cfg, monkeypatch):
    monkeypatch.setattr(host, "verdict", lambda: host.KvmFinding(False, "kvm_pvm"))
    (finding,) = doctor.check_kvm(cfg)
    assert finding.verdict == doctor.WARN and "TCG" in finding.detail


def test_forced_kvm_that_cannot_run_fails(tmp_path, monkeypatch):
    (tmp_path / "xenlab.toml").write_text('[lab]\nflavour = "standin"\naccelerator = "kvm"\n')
    cfg = config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})
    monkeypatch.setattr(host, "verdict", lambda: host.KvmFinding(False, "kvm_pvm"))
    verdicts = {f.check: f.verdict for f in doctor.check_kvm(cfg)}
    assert verdicts["accelerator"] == doctor.FAIL


def test_real_flavour_without_nested_virt_is_warned(tmp_path, monkeypatch):
    (tmp_path / "xenlab.toml").write_text("")
    cfg = config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})
    monkeypatch.setattr(host, "verdict", lambda: host.KvmFinding(True, "ok", nested="no"))
    verdicts = {f.check: (f.verdict, f.detail) for f in doctor.check_kvm(cfg)}
    assert verdicts["nested-virt"][0] == doctor.WARN and "nested=1" in verdicts["nested-virt"][1]


def test_missing_tool_fails_with_the_fix(cfg, monkeypatch):
    monkeypatch.setattr(doctor, "tool_version", lambda argv, timeout=20: None if argv[0] == "packer" else "1.0")
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None if name == "packer" else "/usr/bin/" + name)
    findings = {f.check: f for f in doctor.check_tools(cfg)}
    assert findings["tool packer"].verdict == doctor.FAIL
    assert "./bootstrap" in findings["tool packer"].detail


def test_exit_code_reflects_failures(cfg, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "CHECKS", [lambda c: [doctor.Finding("a", doctor.WARN, "meh")]])
    assert doctor.run(cfg) == 0
    monkeypatch.setattr(doctor, "CHECKS", [lambda c: [doctor.Finding("a", doctor.FAIL, "bad")]])
    assert doctor.run(cfg) == 3
    assert "1 failures" in capsys.readouterr().out
