"""KVM detection: the static check and the QEMU probe."""

import pytest

from xenlab import host
from tests.support.prereq import require_tool


@pytest.fixture
def fake_sys(tmp_path, monkeypatch):
    modules = tmp_path / "module"
    modules.mkdir()
    dev = tmp_path / "kvm"
    dev.write_text("")
    monkeypatch.setattr(host, "SYS_MODULE", modules)
    monkeypatch.setattr(host, "KVM_DEVICE", dev)
    return modules, dev


def test_missing_device(fake_sys):
    _, dev = fake_sys
    dev.unlink()
    finding = host.kvm_static()
    assert not finding.usable and "missing" in finding.reason
    assert host.accelerator("auto") == "tcg"


def test_paravirtual_kvm_is_unusable(fake_sys):
    modules, _ = fake_sys
    (modules / "kvm_pvm").mkdir()
    (modules / "kvm_intel").mkdir()
    assert "kvm_pvm" in host.kvm_static().reason
    assert host.accelerator("auto") == "tcg"


def test_real_kvm_with_nested(fake_sys):
    modules, _ = fake_sys
    (modules / "kvm_intel" / "parameters").mkdir(parents=True)
    (modules / "kvm_intel" / "parameters" / "nested").write_text("Y\n")
    finding = host.kvm_static()
    assert finding.usable and finding.nested == "yes"
    assert host.accelerator("auto") == "kvm"


def test_explicit_accelerator_wins(fake_sys):
    assert host.accelerator("kvm") == "kvm"
    assert host.accelerator("tcg") == "tcg"


def test_probe_agrees_with_modules_on_this_machine():
    """A real QEMU start: where kvm_pvm is loaded it must report unusable."""
    require_tool("qemu-system-x86_64")
    finding = host.probe_kvm(seconds=3)
    if (host.SYS_MODULE / "kvm_pvm").is_dir():
        assert not finding.usable
        assert "kvm_pvm" in finding.reason
    elif not host.kvm_static().usable:
        assert not finding.usable
