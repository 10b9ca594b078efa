"""doctor's verdicts, with the host facts replaced (unit) and for real (this machine)."""

import pytest

from xenlab.core import config, kvm as host
from tests.support.prereq import missing
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


def without(monkeypatch, *missing):
    """A host where the given tools are nowhere on PATH (nor in /usr/sbin)."""
    monkeypatch.setattr(doctor.shutil, "which",
                        lambda name, path=None: None if name in missing else "/usr/bin/" + name)
    monkeypatch.setattr(doctor, "tool_version", lambda argv, timeout=20: "1.0")
    monkeypatch.setattr(doctor, "_vagrant_plugins", lambda: {"vagrant-libvirt"})


def test_missing_tool_fails_with_the_fix(cfg, monkeypatch):
    without(monkeypatch, "packer")
    findings = {f.check: f for f in doctor.check_tools(cfg)}
    assert findings["tool packer"].verdict == doctor.FAIL
    assert "./bootstrap" in findings["tool packer"].detail


def test_a_missing_tool_of_the_flavour_s_build_fails_naming_its_debian_package(cfg, tmp_path, monkeypatch):
    # The fresh machine of issue 12: parted was missing and doctor said 0 failures.
    without(monkeypatch, "parted", "mkfs.ext4")
    findings = {f.check: f for f in doctor.check_tools(cfg)}
    assert findings["tool parted"].verdict == doctor.FAIL
    assert "install the Debian package parted" in findings["tool parted"].detail
    assert "install the Debian package e2fsprogs" in findings["tool mkfs.ext4"].detail
    # A flavour installed from an ISO makes no base image: parted is not its business.
    (tmp_path / "real.toml").write_text("")
    real = config.load(tmp_path / "real.toml", environ={"XENLAB_PASSWORD": "pw"})
    assert "tool parted" not in {f.check for f in doctor.check_tools(real)}


def test_the_provider_decides_the_provider_s_tools(tmp_path, monkeypatch):
    without(monkeypatch, "VBoxManage")
    (tmp_path / "x.toml").write_text('[lab]\nprovider = "virtualbox"\n')
    vbox = config.load(tmp_path / "x.toml", environ={"XENLAB_PASSWORD": "pw"})
    findings = {f.check: f for f in doctor.check_tools(vbox)}
    assert findings["tool VBoxManage"].verdict == doctor.FAIL and "virtualbox.org" in findings["tool VBoxManage"].detail
    assert "tool virsh" not in findings and "vagrant-libvirt" not in findings


def test_a_missing_vagrant_plugin_fails_naming_its_package(cfg, monkeypatch):
    without(monkeypatch)
    monkeypatch.setattr(doctor, "_vagrant_plugins", lambda: {"vagrant-share"})
    findings = {f.check: f for f in doctor.check_tools(cfg)}
    assert findings["vagrant-libvirt"].verdict == doctor.FAIL
    assert "install the Debian package vagrant-libvirt" in findings["vagrant-libvirt"].detail


def test_a_real_flavour_without_usable_kvm_fails_naming_the_fix(tmp_path, monkeypatch):
    (tmp_path / "xenlab.toml").write_text("")
    real = config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})
    monkeypatch.setattr(host, "verdict", lambda: host.KvmFinding(False, "kvm_pvm"))
    verdicts = {f.check: f for f in doctor.check_kvm(real)}
    assert verdicts["nested-virt"].verdict == doctor.FAIL
    assert verdicts["nested-virt"].detail == ("XCP-ng 8.3 LTS runs Xen inside a VM: this host's KVM cannot run a "
                                              "guest (kvm_pvm): use a host with nested KVM, or --flavour standin")


def test_exit_code_reflects_failures(cfg, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "CHECKS", [lambda c: [doctor.Finding("a", doctor.WARN, "meh")]])
    assert doctor.run(cfg) == 0
    monkeypatch.setattr(doctor, "CHECKS", [lambda c: [doctor.Finding("a", doctor.FAIL, "bad")]])
    assert doctor.run(cfg) == 3
    assert "1 failures" in capsys.readouterr().out


def test_a_kvm_device_the_qemu_user_cannot_open_is_warned_with_the_fix(cfg, tmp_path, monkeypatch):
    import grp
    import os

    device = tmp_path / "kvm"
    device.write_text("")
    os.chmod(device, 0o600)
    monkeypatch.setattr(host, "KVM_DEVICE", device)
    (finding,) = doctor.check_kvm_device(cfg)
    assert finding.verdict == doctor.WARN and "libvirt probes QEMU again on every call" in finding.detail
    assert f"chgrp kvm {device} && chmod 0660 {device}" in finding.detail
    try:
        kvm_gid = grp.getgrnam("kvm").gr_gid
    except KeyError:
        missing("no kvm group on this machine (the qemu/libvirt packages make it)")
    os.chown(device, -1, kvm_gid)
    os.chmod(device, 0o660)
    (finding,) = doctor.check_kvm_device(cfg)
    assert finding.verdict == doctor.OK


def test_no_kvm_device_is_no_finding(cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(host, "KVM_DEVICE", tmp_path / "absent")
    assert doctor.check_kvm_device(cfg) == []


def test_the_libvirtd_finding_says_who_runs_it_and_starts_nothing(cfg, monkeypatch):
    from xenlab.errors import HostError
    from xenlab.machines import libvirtd

    monkeypatch.setattr(doctor.shutil, "which", lambda name, path=None: "/usr/bin/" + name)
    asked = []

    def reachable(cfg, start):
        asked.append(start)

    def unreachable(cfg, start):
        asked.append(start)
        raise HostError("libvirtd is not reachable at qemu:///system: start it (...)")

    cases = [(reachable, libvirtd.Daemon(libvirtd.SYSTEMD), False, doctor.OK, "systemd-managed"),
             (reachable, libvirtd.Daemon(libvirtd.XENLAB, 42), False, doctor.OK, "started by xenlab, no service "
                                                                                  "manager here (pid 42)"),
             (reachable, libvirtd.Daemon(libvirtd.OTHER, 7), False, doctor.OK, "not started by xenlab (pid 7)"),
             (unreachable, libvirtd.Daemon(libvirtd.NOT_RUNNING), True, doctor.WARN,
              "the first `invoke up` or `lab` starts it"),
             (unreachable, libvirtd.Daemon(libvirtd.SYSTEMD), False, doctor.WARN, "systemd-managed")]
    for check, daemon, startable, verdict, said in cases:
        monkeypatch.setattr(doctor.libvirt, "check", check)
        monkeypatch.setattr(doctor.libvirtd, "who", lambda daemon=daemon: daemon)
        monkeypatch.setattr(doctor.libvirtd, "startable", lambda uri, startable=startable: startable)
        (finding,) = doctor.check_libvirt(cfg)
        assert (finding.check, finding.verdict) == ("libvirtd", verdict) and said in finding.detail, finding
    assert asked == [False] * len(cases)


# ------------------------------------------------------------------ a remote libvirt host


def remote(tmp_path, toml=""):
    (tmp_path / "xenlab.toml").write_text(f'[lab]\nlibvirt_uri = "qemu+ssh://you@big-host/system"\n{toml}')
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})


@pytest.fixture
def big_host(monkeypatch):
    """libvirt answers on big-host; its KVM, nested KVM, memory and disk as each test says."""
    from xenlab.machines import libvirt, libvirthost

    state = {"offered": True, "facts": libvirthost.Facts(32000, 500, "yes")}
    monkeypatch.setattr(doctor.shutil, "which", lambda name, path=None: f"/usr/bin/{name}")
    monkeypatch.setattr(libvirt, "answers", lambda cfg: True)
    monkeypatch.setattr(libvirthost, "kvm_offered", lambda cfg: state["offered"])
    monkeypatch.setattr(libvirthost, "facts", lambda cfg, pool: state["facts"])
    monkeypatch.setattr(host, "verdict", lambda: pytest.fail("probed KVM here for a lab that runs elsewhere"))
    return state


def test_a_remote_host_with_nested_kvm_room_and_memory_is_ok(tmp_path, big_host):
    findings = {f.check: f for f in doctor.check_libvirt_host(remote(tmp_path))}
    assert findings["kvm (host)"].verdict == doctor.OK
    assert findings["kvm (host)"].detail == "the machines run under KVM on big-host, nested virtualisation yes"
    assert findings["memory (host)"].detail == "32000 MiB available on big-host, the lab's machines ask for 12288 MiB"
    assert findings["disk (host)"].verdict == doctor.OK


@pytest.mark.parametrize("offered, nested, said", [
    (False, "unknown", "XCP-ng 8.3 LTS runs Xen inside a VM, and libvirt on big-host offers no KVM: use a host with "
                       "KVM (kvm_intel or kvm_amd loaded), or --flavour standin"),
    (True, "no", "XCP-ng 8.3 LTS runs Xen inside a VM, and nested virtualisation on big-host is no: set 'options "
                 "kvm_intel nested=1' (or kvm_amd) there and reload the module"),
])
def test_a_remote_host_without_nested_kvm_fails_a_real_flavour_naming_the_fix(tmp_path, big_host, offered, nested,
                                                                               said):
    from xenlab.machines import libvirthost

    big_host.update(offered=offered, facts=libvirthost.Facts(32000, 500, nested))
    findings = {f.check: f for f in doctor.check_libvirt_host(remote(tmp_path))}
    assert findings["nested-virt (host)"] == doctor.Finding("nested-virt (host)", doctor.FAIL, said)


def test_a_remote_host_short_of_memory_or_disk_is_warned(tmp_path, big_host):
    from xenlab.machines import libvirthost

    big_host["facts"] = libvirthost.Facts(2000, 3, "yes")
    findings = {f.check: f for f in doctor.check_libvirt_host(remote(tmp_path))}
    assert findings["memory (host)"].verdict == findings["disk (host)"].verdict == doctor.WARN
    assert findings["disk (host)"].detail.endswith("free some there (`virsh pool-info default`)")


def test_the_stand_in_under_tcg_needs_no_kvm_on_the_host(tmp_path, big_host):
    big_host["offered"] = False
    remote(tmp_path)
    cfg = config.load(tmp_path / "xenlab.toml", overrides={"lab": {"flavour": "standin", "accelerator": "tcg"}},
                      environ={"XENLAB_PASSWORD": "pw"})
    findings = {f.check: f for f in doctor.check_libvirt_host(cfg)}
    assert findings["kvm (host)"] == doctor.Finding("kvm (host)", doctor.OK, "the machines run under TCG on big-host")


def test_this_machine_s_memory_and_kvm_device_are_not_the_remote_lab_s(tmp_path, big_host):
    cfg = remote(tmp_path)
    assert doctor.check_memory(cfg) == [] and doctor.check_kvm_device(cfg) == []
    local = config.load(tmp_path / "xenlab.toml", overrides={"lab": {"libvirt_uri": "qemu:///system"}},
                        environ={"XENLAB_PASSWORD": "pw"})
    assert doctor.check_libvirt_host(local) == []


def test_a_remote_host_whose_libvirtd_is_down_fails_in_one_line(tmp_path, monkeypatch):
    from xenlab.errors import HostError
    from xenlab.machines import libvirt

    monkeypatch.setattr(doctor.shutil, "which", lambda name, path=None: f"/usr/bin/{name}")

    def down(cfg, start=True):
        raise HostError("libvirtd is not running on big-host: start it there (`sudo systemctl enable --now libvirtd`)")
    monkeypatch.setattr(libvirt, "check", down)
    (finding,) = doctor.check_libvirt(remote(tmp_path))
    assert finding == doctor.Finding("libvirtd", doctor.FAIL, "libvirtd is not running on big-host: start it there "
                                                              "(`sudo systemctl enable --now libvirtd`)")
