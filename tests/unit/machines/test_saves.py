"""Snapshots' own rules: names, providers, and only a verified lab is saved."""

import pytest

from tests.support import labs
from xenlab.commands import snapshot
from xenlab.errors import ConfigError, UnsupportedHost
from xenlab.machines import saves as snapshots


@pytest.mark.parametrize("name", ["default", "ci", "before-upgrade", "v1.2_x"])
def test_good_names(name):
    assert snapshots.check_name(name) == name


@pytest.mark.parametrize("name", ["", "Bad Name", "../escape", "x" * 40, "-dash", "a/b"])
def test_bad_names_are_refused(name):
    with pytest.raises(ConfigError, match="snapshot name"):
        snapshots.check_name(name)


def test_only_local_libvirt_can_snapshot(tmp_path):
    cfg = labs.load(tmp_path / "remote")
    snapshots.check_provider(cfg)  # the default: qemu:///system
    remote = cfg.model_copy(update={"settings": cfg.settings.model_copy(update={
        "lab": cfg.lab.model_copy(update={"libvirt_uri": "qemu+ssh://big-host/system"})})})
    with pytest.raises(UnsupportedHost, match="libvirt on this machine") as err:
        snapshots.check_provider(remote)
    assert err.value.exit_code == 6
    vb = cfg.model_copy(update={"settings": cfg.settings.model_copy(update={
        "lab": cfg.lab.model_copy(update={"provider": "virtualbox"})})})
    with pytest.raises(UnsupportedHost, match="need the libvirt provider"):
        snapshots.check_provider(vb)


def test_a_lab_that_is_not_verified_is_not_saved(tmp_path):
    cfg = labs.load(tmp_path)
    with pytest.raises(ConfigError, match="is not verified and current .*run `invoke lab` first"):
        snapshot.take(cfg, "ci")
    assert snapshots.names(cfg) == []


def test_restoring_a_missing_snapshot_names_the_ones_there_are(tmp_path):
    cfg = labs.load(tmp_path)
    (cfg.paths.snapshots / "ci").mkdir(parents=True)
    (cfg.paths.snapshots / "ci" / "snapshot.json").write_text("{}")
    with pytest.raises(ConfigError, match="no snapshot 'nope' of lab 't' \\(snapshots: ci"):
        snapshots.read(cfg, "nope")


def test_a_restore_points_ssh_at_the_snapshots_machines_not_the_last_ones(tmp_path, monkeypatch):
    """A warm `up` after the snapshot left its own addresses in the lab's ssh-config."""
    from xenlab.core.files import write_file
    from xenlab.machines import sshconfig

    cfg = labs.load(tmp_path)
    ended = []
    monkeypatch.setattr(sshconfig, "stop_shared", lambda c, path=None: ended.append(
        sorted(h["HostName"] for h in sshconfig.hosts(c.paths.ssh_config.read_text()).values())))
    sshconfig.write(cfg, "Host xenserver\n  HostName 192.168.121.218\nHost devstack\n  HostName 192.168.121.28\n")
    write_file(cfg.paths.vagrant_ssh_config,
               "Host xenserver\n  HostName 192.168.121.40\nHost devstack\n  HostName 192.168.121.41\n", secret=True)
    snapshots.ssh_config_back(cfg)
    hosts = sshconfig.hosts(cfg.paths.ssh_config.read_text())
    assert {h: v["HostName"] for h, v in hosts.items()} == {"xenserver": "192.168.121.40",
                                                           "devstack": "192.168.121.41"}
    assert hosts["xenserver"]["ControlMaster"] == "auto"  # still multiplexed
    # Shared connections to both the old and the restored addresses are ended.
    assert ended == [["192.168.121.218", "192.168.121.28"], ["192.168.121.40", "192.168.121.41"]]
