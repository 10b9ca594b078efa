"""The lab's password: DevStack's rules, and the pin that stops a silent switch."""

import json
import stat

import pytest

from xenlab.core import config, password
from xenlab.stages import lifecycle
from xenlab.core.paths import LabPaths
from xenlab.errors import ConfigError


def load(root, env):
    (root / "xenlab.toml").write_text('[lab]\nname = "p"\nflavour = "standin"\n')
    return config.load(root / "xenlab.toml", environ=env)


def test_nothing_is_pinned_until_a_stage_runs(tmp_path):
    load(tmp_path, {"XENLAB_PASSWORD": "first-pw"})
    # A changed password before anything ran is fine: nothing holds the old one.
    assert load(tmp_path, {"XENLAB_PASSWORD": "second-pw"}).password.get_secret_value() == "second-pw"
    assert not LabPaths(tmp_path, "p").password_pin.exists()


def test_a_pinned_password_that_differs_is_refused_with_what_to_do(tmp_path):
    cfg = load(tmp_path, {"XENLAB_PASSWORD": "first-pw"})
    password.pin(cfg.paths, "first-pw", "XENLAB_PASSWORD")
    pin = cfg.paths.password_pin
    assert stat.S_IMODE(pin.stat().st_mode) == 0o600
    assert "first-pw" not in pin.read_text() and json.loads(pin.read_text())["source"] == "XENLAB_PASSWORD"
    with pytest.raises(ConfigError) as err:
        load(tmp_path, {"XENLAB_PASSWORD": "second-pw"})
    assert "not the one lab 'p' was set up with" in err.value.message
    assert "invoke down --purge" in err.value.message and "second-pw" not in err.value.message
    assert load(tmp_path, {"XENLAB_PASSWORD": "first-pw"}).password.get_secret_value() == "first-pw"


def test_an_absent_variable_is_not_replaced_by_a_generated_password(tmp_path):
    cfg = load(tmp_path, {"XENLAB_PASSWORD": "first-pw"})
    password.pin(cfg.paths, "first-pw", "XENLAB_PASSWORD")
    with pytest.raises(ConfigError, match="XENLAB_PASSWORD, which is not set now: set it again"):
        load(tmp_path, {})
    assert not cfg.paths.generated_password.exists()


def test_a_generated_password_stays_the_lab_password(tmp_path):
    cfg = load(tmp_path, {})
    password.pin(cfg.paths, cfg.password.get_secret_value(), cfg.password_source)
    assert load(tmp_path, {}).password == cfg.password
    with pytest.raises(ConfigError, match="not the one"):
        load(tmp_path, {"XENLAB_PASSWORD": "another-pw"})


def test_running_a_stage_pins_it(tmp_path, monkeypatch):
    import types

    cfg = load(tmp_path, {"XENLAB_PASSWORD": "first-pw"})
    mod = types.ModuleType("fake_stage_pin")
    mod.inputs, mod.present, mod.run = (lambda c: "i"), (lambda c: True), (lambda c, force=False: None)
    monkeypatch.setattr(lifecycle, "SEQUENCE", [lifecycle.Stage("one", mod, "")])
    lifecycle.run_stage(cfg, "one")
    with pytest.raises(ConfigError, match="not the one"):
        load(tmp_path, {"XENLAB_PASSWORD": "second-pw"})
    password.unpin(cfg.paths)
    assert load(tmp_path, {"XENLAB_PASSWORD": "second-pw"})


def test_a_damaged_pin_says_so(tmp_path):
    cfg = load(tmp_path, {"XENLAB_PASSWORD": "first-pw"})
    password.pin(cfg.paths, "first-pw", "XENLAB_PASSWORD")
    cfg.paths.password_pin.write_text('{"salt": "zz"}')
    with pytest.raises(ConfigError, match="damaged"):
        load(tmp_path, {"XENLAB_PASSWORD": "first-pw"})
