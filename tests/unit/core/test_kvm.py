"""KVM detection: the static checks, then a guest kernel that must really boot."""

import os

import pytest

from xenlab.core import kvm as host

# A stand-in for QEMU: prints what a guest would print on its serial console.
BOOTS = ("#!/bin/sh\necho run >> \"$(dirname \"$0\")/runs\"\necho 'SeaBIOS (version 1.16)'\n"
         "echo '[    0.9] VFS: Unable to mount root fs on unknown-block(0,0)'\n")
HANGS = "#!/bin/sh\necho 'SeaBIOS (version 1.16)'\necho 'Booting from ROM...'\nexec sleep 300\n"


@pytest.fixture
def fake_sys(tmp_path, monkeypatch):
    modules = tmp_path / "module"
    modules.mkdir()
    dev = tmp_path / "kvm"
    dev.write_text("")
    monkeypatch.setattr(host, "SYS_MODULE", modules)
    monkeypatch.setattr(host, "KVM_DEVICE", dev)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return modules, dev


def fake_qemu(tmp_path, monkeypatch, script):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    qemu = bin_dir / "qemu-system-x86_64"
    qemu.write_text(script)
    qemu.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"kernel")
    monkeypatch.setattr(host, "probe_kernel", lambda: kernel)


def kvm_intel(modules):
    (modules / "kvm_intel" / "parameters").mkdir(parents=True)
    (modules / "kvm_intel" / "parameters" / "nested").write_text("Y\n")


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


def test_kvm_whose_guest_kernel_boots_is_usable_and_the_verdict_is_kept(fake_sys, tmp_path, monkeypatch):
    modules, _ = fake_sys
    kvm_intel(modules)
    fake_qemu(tmp_path, monkeypatch, BOOTS)
    finding = host.verdict()
    assert finding.usable and finding.nested == "yes" and "VFS" in finding.reason
    assert host.accelerator("auto") == "kvm"
    # Kept: asked again, the same host and QEMU are not probed again.
    assert host.verdict().usable
    assert (tmp_path / "bin" / "runs").read_text().count("run") == 1


def test_kvm_whose_guest_kernel_prints_nothing_is_unusable(fake_sys, tmp_path, monkeypatch):
    """What kvm_pvm-like hosts do: BIOS and boot loader run, the kernel stays silent."""
    modules, _ = fake_sys
    kvm_intel(modules)
    fake_qemu(tmp_path, monkeypatch, HANGS)
    monkeypatch.setattr(host, "PROBE_TIMEOUT", 2.0)
    finding = host.verdict()
    assert not finding.usable and "did not boot under KVM" in finding.reason
    assert "Booting from ROM" in finding.reason
    assert host.accelerator("auto") == "tcg"


def test_no_kernel_to_probe_with_means_tcg_and_says_how_to_fix(fake_sys, monkeypatch):
    modules, _ = fake_sys
    kvm_intel(modules)
    monkeypatch.setattr(host, "probe_kernel", lambda: None)
    finding = host.verdict()
    assert not finding.usable and "run ./bootstrap" in finding.reason
    assert host.accelerator("auto") == "tcg"


def test_explicit_accelerator_wins(fake_sys):
    assert host.accelerator("kvm") == "kvm"
    assert host.accelerator("tcg") == "tcg"


def test_verdict_agrees_with_modules_on_this_machine():
    """Where kvm_pvm is loaded, the verdict (doctor's and the lab's) is TCG."""
    finding = host.verdict()
    if (host.SYS_MODULE / "kvm_pvm").is_dir():
        assert not finding.usable and "kvm_pvm" in finding.reason
        assert host.accelerator("auto") == "tcg"
    elif not host.kvm_static().usable:
        assert not finding.usable
