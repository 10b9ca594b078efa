"""The lifecycle runner: skip when current, rerun downstream, --from forces; what
Vagrant did is recorded as xenlab would have."""

import types

import pytest

from tests.support import labs
from xenlab.stages import lifecycle
from xenlab.core.state import State
from xenlab.errors import ConfigError


def fake_sequence(monkeypatch, names, machines=()):
    """Stages backed by in-memory modules that count their runs."""
    runs = []
    knobs = {name: {"inputs": name, "present": True} for name in names}
    seq = []
    for name in names:
        mod = types.ModuleType(f"fake_stage_{name}")
        mod.inputs = lambda cfg, n=name: knobs[n]["inputs"]
        mod.present = lambda cfg, n=name: knobs[n]["present"]
        mod.run = lambda cfg, force=False, n=name: runs.append((n, force))
        seq.append(lifecycle.Stage(name, mod, f"stage {name}", machine=name if name in machines else ""))
    monkeypatch.setattr(lifecycle, "SEQUENCE", seq)
    return runs, knobs


@pytest.fixture
def stages(monkeypatch, tmp_path):
    runs, knobs = fake_sequence(monkeypatch, ["one", "two"])
    return labs.load(tmp_path), runs, knobs


def test_second_run_is_a_noop(stages, capsys):
    cfg, runs, _ = stages
    lifecycle.run_sequence(cfg)
    assert runs == [("one", False), ("two", False)]
    lifecycle.run_sequence(cfg)
    assert len(runs) == 2
    assert "up to date" in capsys.readouterr().out


def test_changed_inputs_rerun_that_stage_and_the_ones_after(stages):
    cfg, runs, knobs = stages
    lifecycle.run_sequence(cfg)
    knobs["one"]["inputs"] = "changed"
    lifecycle.run_sequence(cfg)
    assert [r[0] for r in runs[2:]] == ["one", "two"]


def test_missing_result_reruns(stages):
    cfg, runs, knobs = stages
    lifecycle.run_sequence(cfg)
    knobs["two"]["present"] = False
    lifecycle.run_sequence(cfg)
    assert runs[2:] == [("two", False)]


def test_force_from_reruns_from_that_stage(stages):
    cfg, runs, _ = stages
    lifecycle.run_sequence(cfg)
    lifecycle.run_sequence(cfg, force_from="two")
    assert runs[2:] == [("two", True)]


def test_failed_stage_is_not_recorded(stages, monkeypatch):
    cfg, runs, _ = stages

    def boom(cfg, force=False):
        raise RuntimeError("broken")

    monkeypatch.setattr(lifecycle.stage("two").target, "run", boom)
    with pytest.raises(RuntimeError):
        lifecycle.run_sequence(cfg)
    from xenlab.core.state import State

    assert State(cfg.paths.state).get("one") and State(cfg.paths.state).get("two") is None


def test_unknown_stage(stages):
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        lifecycle.stage("nope")


def test_the_sequence_names_each_step_as_it_happens():
    assert lifecycle.names() == ["build", "up-xenserver", "wire", "up-devstack", "verify"]
    assert lifecycle.machine_span() == ["up-xenserver", "wire", "up-devstack"]
    assert [s.machine for s in lifecycle.SEQUENCE if s.machine] == ["xenserver", "devstack"]
    for s in lifecycle.SEQUENCE:  # every target exists and speaks the stage API
        target = s.target
        assert callable(target.inputs) and callable(target.present) and callable(target.run)


def test_between_machine_stages_is_what_a_trigger_runs(monkeypatch):
    fake_sequence(monkeypatch, ["build", "m1", "mid", "m2", "last"], machines=("m1", "m2"))
    assert lifecycle.between("m1") == ["mid"]
    assert lifecycle.between("m2") == []  # after the last machine: nothing (verify is not Vagrant's)
    assert lifecycle.machine_span() == ["m1", "mid", "m2"]


def test_adopt_records_what_vagrant_did_like_a_run(monkeypatch, tmp_path):
    runs, _ = fake_sequence(monkeypatch, ["build", "m1", "mid"], machines=("m1",))
    cfg = labs.load(tmp_path)
    lifecycle.run_stage(cfg, "build")
    assert lifecycle.adopt(cfg, "m1") is True
    assert State(cfg.paths.state).get("m1")["by"] == "vagrant"
    assert lifecycle.adopt(cfg, "m1") is False  # already current: nothing new recorded
    # Recorded exactly as a run would be: lab then finds m1 current and runs only mid.
    lifecycle.run_sequence(cfg)
    assert [r[0] for r in runs] == ["build", "mid"]


def test_forget_from_drops_that_stage_the_later_ones_and_unknown_ones(monkeypatch, tmp_path):
    fake_sequence(monkeypatch, ["a", "b", "c"])
    cfg = labs.load(tmp_path)
    st = State(cfg.paths.state)
    for name in ("a", "b", "c", "gone"):
        st.record(name, "d", 1.0)
    assert sorted(lifecycle.forget_from(cfg, "b")) == ["b", "c", "gone"]
    assert list(State(cfg.paths.state).stages) == ["a"]


def test_only_runs_the_named_stages_in_sequence_order(stages):
    cfg, runs, _ = stages
    lifecycle.run_sequence(cfg, only=["two", "one"])
    assert [r[0] for r in runs] == ["one", "two"]


def test_a_forced_rerun_that_changes_nothing_leaves_later_stages_current(stages):
    cfg, runs, _ = stages
    lifecycle.run_sequence(cfg)
    lifecycle.run_stage(cfg, "one", force=True)
    lifecycle.run_sequence(cfg)
    assert runs == [("one", False), ("two", False), ("one", True)]


def test_pending_is_what_lab_would_run_from_the_first_stage_not_current(stages):
    cfg, runs, knobs = stages
    assert lifecycle.pending(cfg) == ["one", "two"]
    lifecycle.run_sequence(cfg)
    assert lifecycle.pending(cfg) == []  # `lab` then needs no preflight
    knobs["two"]["present"] = False
    assert lifecycle.pending(cfg) == ["two"]
    knobs["one"]["inputs"] = "changed"
    assert lifecycle.pending(cfg) == ["one", "two"]
    assert len(runs) == 2  # asking runs nothing


def test_feeding_is_what_a_machines_provisioning_runs_first(monkeypatch):
    fake_sequence(monkeypatch, ["build", "m1", "mid", "m2", "last"], machines=("m1", "m2"))
    assert lifecycle.feeding("m2") == ["mid"]
    assert lifecycle.feeding("m1") == []  # no machine before it
