"""The machine stages' own logic: inputs, stale machines, what down and the hooks forget."""

from __future__ import annotations

from xenlab.core import config
from xenlab.stages import up as lab
from xenlab.core.state import State


def load(tmp_path):
    (tmp_path / "xenlab.toml").write_text("")
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "s3cret-pw"})


def test_down_forgets_the_machine_stages_and_later_but_keeps_build(tmp_path):
    cfg = load(tmp_path)
    st = State(cfg.paths.state)
    for name in ("build", "up-xenserver", "wire", "up-devstack", "verify"):
        st.record(name, "d", 1.0)
    known = cfg.paths.known_hosts
    known.parent.mkdir(parents=True)
    known.write_text("192.168.57.10 ssh-ed25519 AAAA\n")
    lab.forget_machines(cfg)
    assert list(State(cfg.paths.state).stages) == ["build"]
    assert not known.exists()  # the next machine's new host key must not be refused


def test_destroying_devstack_alone_forgets_only_it_and_after(tmp_path):
    cfg = load(tmp_path)
    st = State(cfg.paths.state)
    for name in ("build", "up-xenserver", "wire", "up-devstack", "verify"):
        st.record(name, "d", 1.0)
    cfg.paths.known_hosts.parent.mkdir(parents=True)
    cfg.paths.known_hosts.write_text("dom0 key\n")
    lab.vagrant_hook(cfg, "devstack", "destroy", provisioned=False)
    assert list(State(cfg.paths.state).stages) == ["build", "up-xenserver", "wire"]
    assert cfg.paths.known_hosts.exists()


def test_ssh_config_is_read_per_host():
    from xenlab.machines import sshconfig

    text = ("Host xenserver\n  HostName 192.168.121.4\n  User vagrant\n"
            "Host devstack\n  HostName 192.168.121.5\n  User vagrant\n  Port 22\n"
            '  IdentityFile "/root/.vagrant.d/insecure_private_key"\n')
    hosts = sshconfig.hosts(text)
    assert hosts["devstack"] == {"HostName": "192.168.121.5", "User": "vagrant", "Port": "22",
                                 "IdentityFile": "/root/.vagrant.d/insecure_private_key"}
    assert hosts["xenserver"]["HostName"] == "192.168.121.4"


def test_a_machine_from_an_older_box_is_stale(tmp_path, monkeypatch):
    import json

    from xenlab.images import boxes
    from xenlab.machines import vagrantcli

    cfg = load(tmp_path)
    stage = lab.MachineStage("xenserver")
    monkeypatch.setattr(stage, "box", lambda c: ("xenlab/xcp-ng-8.3", "0.20261201.2"))
    meta = vagrantcli.machine_dir(cfg, "xenserver", "libvirt") / "box_meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"name": "xenlab/xcp-ng-8.3", "version": "0.20261201.2"}))
    assert stage.stale(cfg) == ""
    meta.write_text(json.dumps({"name": "xenlab/xcp-ng-8.3", "version": "0.20261130.1"}))
    assert "was made from box xenlab/xcp-ng-8.3 0.20261130.1, the lab's box is now 0.20261201.2" in stage.stale(cfg)


def test_devstack_inputs_follow_wires_files_without_holding_them(tmp_path):
    cfg = load(tmp_path)
    before = lab.DEVSTACK.inputs(cfg)
    assert lab.XENSERVER.inputs(cfg) != before
    cfg.paths.local_conf.parent.mkdir(parents=True)
    cfg.paths.local_conf.write_text("XENAPI_PASSWORD='s3cret-pw'\n")
    after = lab.DEVSTACK.inputs(cfg)
    assert after != before and "s3cret" not in after


# ---------------------------------------------------------------- a plain parallel `vagrant up`


class FakeVagrant:
    """Records each `vagrant rsync` and what the staging folder held then; fails the first `fail` calls."""

    def __init__(self, cfg, fail=0):
        self.cfg, self.fail, self.pushes = cfg, fail, []

    def rsync(self, machine):
        from xenlab.errors import ToolError

        if self.fail:
            self.fail -= 1
            raise ToolError("The machine is not ready for rsync")
        held = sorted(p.name for p in self.cfg.paths.devstack_files.iterdir() if not p.name.startswith("."))
        self.pushes.append((machine, held))


def parallel(monkeypatch, cfg, fail=0, current=False, up_timeout=30.0):
    from types import SimpleNamespace

    fake = FakeVagrant(cfg, fail)
    monkeypatch.setattr(lab.vagrantcli, "client", lambda c, what, *a, **k: fake)
    monkeypatch.setattr(lab.lifecycle, "is_current", lambda c, name: current)
    monkeypatch.setattr(lab.flavours, "load", lambda c: SimpleNamespace(up_timeout_s=up_timeout, nova_probe=False))
    monkeypatch.setattr(lab, "PUSH_RETRY_S", 0.01)
    return fake


def test_devstack_booting_beside_xenserver_before_wire_waits_for_it(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    parallel(monkeypatch, cfg, current=False)
    lab.vagrant_hook(cfg, "devstack", "before-up", provisioned=False, beside=("xenserver",))
    assert cfg.paths.wire_pending.is_file() and oct(cfg.paths.wire_pending.stat().st_mode & 0o777) == "0o600"


def test_devstack_alone_or_after_a_current_wire_does_not_wait(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    parallel(monkeypatch, cfg, current=False)
    lab.vagrant_hook(cfg, "devstack", "before-up", provisioned=False, beside=())
    assert not cfg.paths.wire_pending.exists()  # nothing beside it will run wire
    parallel(monkeypatch, cfg, current=True)
    lab.vagrant_hook(cfg, "devstack", "before-up", provisioned=False, beside=("xenserver",))
    assert not cfg.paths.wire_pending.exists()  # wire's files are already what they should be


def test_xenserver_up_hands_wires_files_over_then_lifts_the_wait(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    lab.announce_pending(cfg)

    def wire(c, machine, s, provisioned):
        cfg.paths.local_conf.write_text("[[local|localrc]]\n")

    fake = parallel(monkeypatch, cfg, fail=2, current=True)
    monkeypatch.setattr(lab, "_after_up", wire)
    lab.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    # The files first (still pending), then without WIRE-PENDING; retried while devstack booted.
    assert fake.pushes == [("devstack", ["WIRE-PENDING", "local.conf"]), ("devstack", ["local.conf"])]


def test_a_failed_wire_hands_its_reason_over_and_fails_the_trigger(tmp_path, monkeypatch):
    import pytest

    from xenlab.errors import AuthError

    cfg = load(tmp_path)
    lab.announce_pending(cfg)

    def wire(c, machine, s, provisioned):
        raise AuthError("XenAPI refused the lab password for root at http://192.168.57.10")

    fake = parallel(monkeypatch, cfg, current=False)
    monkeypatch.setattr(lab, "_after_up", wire)
    with pytest.raises(AuthError):
        lab.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    assert fake.pushes == [("devstack", ["WIRE-FAILED", "WIRE-PENDING"])]
    assert "refused the lab password" in cfg.paths.wire_failed.read_text()


def test_xenserver_up_without_devstack_beside_pushes_nothing(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    lab.announce_pending(cfg)
    fake = parallel(monkeypatch, cfg, current=True)
    monkeypatch.setattr(lab, "_after_up", lambda *a: None)
    lab.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=())
    assert fake.pushes == []


def test_a_machine_that_never_takes_the_files_fails_within_the_bound(tmp_path, monkeypatch):
    import pytest

    from xenlab.errors import ToolError

    cfg = load(tmp_path)
    lab.announce_pending(cfg)
    parallel(monkeypatch, cfg, fail=10**6, current=True, up_timeout=0.2)
    monkeypatch.setattr(lab, "_after_up", lambda *a: None)
    with pytest.raises(ToolError, match="cannot hand wire's files to devstack: The machine is not ready"):
        lab.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))


def test_xenlab_driving_vagrant_clears_a_stale_hand_off(tmp_path):
    cfg = load(tmp_path)
    lab.announce_pending(cfg)
    cfg.paths.wire_failed.write_text("old\n")
    lab.clear_handoff(cfg)
    assert not cfg.paths.wire_pending.exists() and not cfg.paths.wire_failed.exists()


def test_a_failure_with_nothing_waiting_leaves_no_stale_reason(tmp_path, monkeypatch):
    import pytest

    from xenlab.errors import AuthError

    cfg = load(tmp_path)

    def wire(c, machine, s, provisioned):
        raise AuthError("XenAPI refused the lab password")

    fake = parallel(monkeypatch, cfg, current=False)
    monkeypatch.setattr(lab, "_after_up", wire)
    with pytest.raises(AuthError):
        lab.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    assert fake.pushes == [] and not cfg.paths.wire_failed.exists()


def test_a_hand_off_that_cannot_reach_devstack_does_not_hide_wires_error(tmp_path, monkeypatch, capsys):
    import pytest

    from xenlab.errors import AuthError

    cfg = load(tmp_path)
    lab.announce_pending(cfg)

    def wire(c, machine, s, provisioned):
        raise AuthError("XenAPI refused the lab password")

    parallel(monkeypatch, cfg, fail=10**6, current=False, up_timeout=0.1)
    monkeypatch.setattr(lab, "_after_up", wire)
    with pytest.raises(AuthError, match="refused the lab password"):
        lab.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    assert "cannot hand wire's files to devstack" in capsys.readouterr().err
