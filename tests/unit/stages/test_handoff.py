"""A plain parallel `vagrant up`: the devstack machine waits for wire's files, which
the xenserver machine's trigger hands over (or why wire failed)."""

from __future__ import annotations

from xenlab.core import config
from xenlab.stages import handoff, hook


def load(tmp_path):
    (tmp_path / "xenlab.toml").write_text("")
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "s3cret-pw"})

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
    monkeypatch.setattr(handoff.vagrantcli, "client", lambda c, what, *a, **k: fake)
    monkeypatch.setattr(hook.lifecycle, "is_current", lambda c, name: current)
    object.__setattr__(cfg, "flavour", SimpleNamespace(up_timeout_s=up_timeout, nova_probe=False))  # frozen model
    monkeypatch.setattr(handoff, "PUSH_RETRY_S", 0.01)
    return fake


def test_devstack_booting_beside_xenserver_before_wire_waits_for_it(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    parallel(monkeypatch, cfg, current=False)
    hook.vagrant_hook(cfg, "devstack", "before-up", provisioned=False, beside=("xenserver",))
    assert cfg.paths.wire_pending.is_file() and oct(cfg.paths.wire_pending.stat().st_mode & 0o777) == "0o600"


def test_devstack_alone_or_after_a_current_wire_does_not_wait(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    parallel(monkeypatch, cfg, current=False)
    hook.vagrant_hook(cfg, "devstack", "before-up", provisioned=False, beside=())
    assert not cfg.paths.wire_pending.exists()  # nothing beside it will run wire
    parallel(monkeypatch, cfg, current=True)
    hook.vagrant_hook(cfg, "devstack", "before-up", provisioned=False, beside=("xenserver",))
    assert not cfg.paths.wire_pending.exists()  # wire's files are already what they should be


def test_xenserver_up_hands_wires_files_over_then_lifts_the_wait(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    handoff.announce_pending(cfg)

    def wire(c, machine, s, provisioned):
        cfg.paths.local_conf.write_text("[[local|localrc]]\n")

    fake = parallel(monkeypatch, cfg, fail=2, current=True)
    monkeypatch.setattr(hook, "_after_up", wire)
    hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    # The files first (still pending), then without WIRE-PENDING; retried while devstack booted.
    assert fake.pushes == [("devstack", ["WIRE-PENDING", "local.conf"]), ("devstack", ["local.conf"])]


def test_a_failed_wire_hands_its_reason_over_and_fails_the_trigger(tmp_path, monkeypatch):
    import pytest

    from xenlab.errors import AuthError

    cfg = load(tmp_path)
    handoff.announce_pending(cfg)

    def wire(c, machine, s, provisioned):
        raise AuthError("XenAPI refused the lab password for root at http://192.168.57.10")

    fake = parallel(monkeypatch, cfg, current=False)
    monkeypatch.setattr(hook, "_after_up", wire)
    with pytest.raises(AuthError):
        hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    assert fake.pushes == [("devstack", ["WIRE-FAILED", "WIRE-PENDING"])]
    assert "refused the lab password" in cfg.paths.wire_failed.read_text()


def test_xenserver_up_without_devstack_beside_pushes_nothing(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    handoff.announce_pending(cfg)
    fake = parallel(monkeypatch, cfg, current=True)
    monkeypatch.setattr(hook, "_after_up", lambda *a: None)
    hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=())
    assert fake.pushes == []


def test_a_machine_that_never_takes_the_files_fails_within_the_bound(tmp_path, monkeypatch):
    import pytest

    from xenlab.errors import ToolError

    cfg = load(tmp_path)
    handoff.announce_pending(cfg)
    parallel(monkeypatch, cfg, fail=10**6, current=True, up_timeout=0.2)
    monkeypatch.setattr(hook, "_after_up", lambda *a: None)
    with pytest.raises(ToolError, match="cannot hand wire's files to devstack: The machine is not ready"):
        hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))


def test_xenlab_driving_vagrant_clears_a_stale_hand_off(tmp_path):
    cfg = load(tmp_path)
    handoff.announce_pending(cfg)
    cfg.paths.wire_failed.write_text("old\n")
    handoff.clear_handoff(cfg)
    assert not cfg.paths.wire_pending.exists() and not cfg.paths.wire_failed.exists()


def test_a_failure_with_nothing_waiting_leaves_no_stale_reason(tmp_path, monkeypatch):
    import pytest

    from xenlab.errors import AuthError

    cfg = load(tmp_path)

    def wire(c, machine, s, provisioned):
        raise AuthError("XenAPI refused the lab password")

    fake = parallel(monkeypatch, cfg, current=False)
    monkeypatch.setattr(hook, "_after_up", wire)
    with pytest.raises(AuthError):
        hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    assert fake.pushes == [] and not cfg.paths.wire_failed.exists()


def test_a_hand_off_that_cannot_reach_devstack_does_not_hide_wires_error(tmp_path, monkeypatch, capsys):
    import pytest

    from xenlab.errors import AuthError

    cfg = load(tmp_path)
    handoff.announce_pending(cfg)

    def wire(c, machine, s, provisioned):
        raise AuthError("XenAPI refused the lab password")

    parallel(monkeypatch, cfg, fail=10**6, current=False, up_timeout=0.1)
    monkeypatch.setattr(hook, "_after_up", wire)
    with pytest.raises(AuthError, match="refused the lab password"):
        hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True, beside=("devstack",))
    assert "cannot hand wire's files to devstack" in capsys.readouterr().err
