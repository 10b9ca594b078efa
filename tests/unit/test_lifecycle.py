"""The lifecycle runner: skip when current, rerun downstream, --from forces."""

import sys
import types

import pytest

from xenlab import lifecycle
from xenlab.errors import ConfigError


class FakeCfg:
    def __init__(self, lab_dir):
        self.lab_dir = lab_dir


@pytest.fixture
def stages(monkeypatch, tmp_path):
    """Two stages backed by in-memory modules that count their runs."""
    runs = []
    knobs = {"one": {"inputs": "a", "present": True}, "two": {"inputs": "b", "present": True}}
    seq = []
    for name in knobs:
        mod = types.ModuleType(f"fake_stage_{name}")
        mod.inputs = lambda cfg, n=name: knobs[n]["inputs"]
        mod.present = lambda cfg, n=name: knobs[n]["present"]
        mod.run = lambda cfg, force=False, n=name: runs.append((n, force))
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
        seq.append(lifecycle.Stage(name, mod.__name__, f"stage {name}"))
    monkeypatch.setattr(lifecycle, "SEQUENCE", seq)
    return FakeCfg(tmp_path), runs, knobs


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

    monkeypatch.setattr(sys.modules["fake_stage_two"], "run", boom)
    with pytest.raises(RuntimeError):
        lifecycle.run_sequence(cfg)
    from xenlab.state import State

    assert State(cfg.lab_dir).get("one") and State(cfg.lab_dir).get("two") is None


def test_unknown_stage(stages):
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        lifecycle.stage("nope")
