"""The preflight of lab/build/up: doctor's checks for the stages asked for, stopping at the first failure."""

import pytest

from xenlab.commands import doctor, preflight
from xenlab.core import config, kvm
from xenlab.stages import lifecycle
from xenlab.errors import EXIT_HOST, EXIT_TOOL, EXIT_UNSUPPORTED, HostError, ToolError, UnsupportedHost
from xenlab.stages import build

PVM = "/dev/kvm is a paravirtual KVM (kvm_pvm), which cannot boot a stock kernel"


def load(tmp_path, toml=""):
    (tmp_path / "xenlab.toml").write_text(toml)
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})


@pytest.fixture
def host(monkeypatch):
    """A host with every tool, libvirtd up, room on disk and KVM as each test says."""
    calls = []
    monkeypatch.setattr(doctor.shutil, "which", lambda name, path=None: f"/usr/bin/{name}")
    monkeypatch.setattr(doctor, "_vagrant_plugins", lambda: {"vagrant-libvirt"})
    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(True, "a guest booted", nested="yes"))
    monkeypatch.setattr(preflight.libvirt, "check", lambda cfg: calls.append("libvirtd"))
    monkeypatch.setattr(preflight.clashes, "check", lambda cfg: calls.append("clashes"))
    monkeypatch.setattr(build, "present", lambda cfg: False)
    return calls


def test_a_real_flavour_on_a_host_whose_kvm_cannot_run_guests_stops_before_packer(tmp_path, host, monkeypatch):
    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(False, PVM))
    for stages in (["build"], lifecycle.machine_span(), lifecycle.names()):
        with pytest.raises(UnsupportedHost) as err:
            preflight.check(load(tmp_path), stages)
        assert err.value.exit_code == EXIT_UNSUPPORTED
        assert err.value.message == (f"XCP-ng 8.3 LTS runs Xen inside a VM: this host's KVM cannot run a guest "
                                     f"({PVM}): use a host with nested KVM, or --flavour standin")


def test_a_real_flavour_asked_to_run_under_tcg_by_name_goes_on_with_a_warning(tmp_path, host, monkeypatch, capsys):
    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(False, PVM))
    preflight.check(load(tmp_path, '[lab]\naccelerator = "tcg"\n'), ["build"])
    assert "preflight: the host can run build for xcp-ng-8.3" in capsys.readouterr().out
    findings = {f.check: f for f in doctor.check_kvm(load(tmp_path, '[lab]\naccelerator = "tcg"\n'))}
    assert findings["nested-virt"].verdict == doctor.WARN and "takes hours" in findings["nested-virt"].detail


def test_the_stand_in_runs_under_tcg(tmp_path, host, monkeypatch, capsys):
    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(False, PVM))
    preflight.check(load(tmp_path, '[lab]\nflavour = "standin"\n'), lifecycle.names())
    assert "preflight: the host can run build" in capsys.readouterr().out


def test_a_forced_kvm_accelerator_on_a_host_without_it_stops(tmp_path, host, monkeypatch):
    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(False, PVM))
    with pytest.raises(UnsupportedHost, match="set it to auto or tcg"):
        preflight.check(load(tmp_path, '[lab]\nflavour = "standin"\naccelerator = "kvm"\n'), ["build"])


def test_kvm_without_nested_virtualisation_is_only_a_warning(tmp_path, host, monkeypatch):
    # Xen still boots and runs PV guests; doctor says what to set.
    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(True, "booted", nested="no"))
    preflight.check(load(tmp_path), ["build"])


def test_a_missing_tool_of_the_stages_stops_naming_its_package(tmp_path, host, monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name, path=None: None if name == "parted" else name)
    standin = load(tmp_path, '[lab]\nflavour = "standin"\n')
    with pytest.raises(ToolError) as err:
        preflight.check(standin, ["build"])
    assert err.value.exit_code == EXIT_TOOL
    assert err.value.message.startswith("tool parted: missing (partitions the stand-in's base image): "
                                        "install the Debian package parted")
    preflight.check(standin, ["wire"])  # wire needs no parted


def test_a_missing_vagrant_plugin_stops_up_but_not_build(tmp_path, host, monkeypatch):
    monkeypatch.setattr(doctor, "_vagrant_plugins", lambda: set())
    standin = load(tmp_path, '[lab]\nflavour = "standin"\n')
    preflight.check(standin, ["build"])
    with pytest.raises(ToolError, match="vagrant-libvirt: Vagrant plugin missing"):
        preflight.check(standin, lifecycle.machine_span())


def test_libvirtd_and_clashes_are_asked_for_by_the_machine_stages_only(tmp_path, host, monkeypatch):
    standin = load(tmp_path, '[lab]\nflavour = "standin"\n')
    preflight.check(standin, ["build"])
    assert host == []
    preflight.check(standin, lifecycle.machine_span())
    assert host == ["libvirtd", "clashes"]  # clashes are read from a libvirtd that answers

    def down(cfg):
        raise HostError("libvirtd is not reachable at qemu:///system: start it")

    monkeypatch.setattr(preflight.libvirt, "check", down)
    with pytest.raises(HostError) as err:
        preflight.check(standin, lifecycle.names())
    assert err.value.exit_code == EXIT_HOST


def test_too_little_disk_stops_a_build_that_has_to_run(tmp_path, host, monkeypatch):
    monkeypatch.setattr(doctor, "check_disk", lambda cfg: [doctor.Finding("disk", doctor.WARN, "3 GiB free")])
    standin = load(tmp_path, '[lab]\nflavour = "standin"\n')
    with pytest.raises(UnsupportedHost, match="not enough disk for the build: 3 GiB free"):
        preflight.check(standin, ["build"])
    preflight.check(standin, ["wire"])
    monkeypatch.setattr(build, "present", lambda cfg: True)  # built already: nothing to store
    preflight.check(standin, ["build"])


def test_a_lab_on_a_remote_host_is_judged_by_that_host_s_kvm_not_this_one_s(tmp_path, host, monkeypatch):
    from xenlab.machines import libvirthost

    monkeypatch.setattr(kvm, "verdict", lambda: kvm.KvmFinding(False, PVM))  # no usable KVM here
    monkeypatch.setattr(preflight.libvirt, "answers", lambda cfg: True)
    monkeypatch.setattr(libvirthost, "kvm_offered", lambda cfg: True)
    monkeypatch.setattr(libvirthost, "facts", lambda cfg, pool: libvirthost.Facts(64000, 900, "yes"))
    remote = load(tmp_path, '[lab]\nlibvirt_uri = "qemu+ssh://you@big-host/system"\n')
    preflight.check(remote, lifecycle.machine_span())  # up: the machines run on big-host
    assert host == ["libvirtd", "clashes"]
    with pytest.raises(UnsupportedHost, match="this host's KVM cannot run a guest"):
        preflight.check(remote, ["build"])  # the build runs here, where Packer runs
    monkeypatch.setattr(libvirthost, "facts", lambda cfg, pool: libvirthost.Facts(64000, 900, "no"))
    with pytest.raises(UnsupportedHost) as err:
        preflight.check(remote, lifecycle.machine_span())
    assert err.value.message.startswith("XCP-ng 8.3 LTS runs Xen inside a VM, and nested virtualisation on big-host "
                                        "is no: set 'options kvm_intel nested=1'")
