"""wire's inputs and result: a new password rewires, and no secret is in the state."""

import pytest

from xenlab.core import config
from xenlab.stages import wire


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return config.load(None, environ={"XENLAB_PASSWORD": "one"})


def test_a_changed_password_changes_the_inputs_which_hold_no_secret(cfg, tmp_path):
    other = config.load(None, environ={"XENLAB_PASSWORD": "two"})
    assert wire.inputs(cfg) != wire.inputs(other)
    assert wire.inputs(cfg) == wire.inputs(config.load(None, environ={"XENLAB_PASSWORD": "one"}))
    assert "one" not in wire.inputs(cfg)


def test_present_means_every_file_wire_writes(cfg):
    assert not wire.present(cfg)
    p = cfg.paths
    for path in (p.local_conf, p.nova_conf, p.facts, p.domzero_key, p.domzero_pub):
        assert not wire.present(cfg)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert wire.present(cfg)


def test_host_option_changes_inputs(cfg):
    other = config.load(None, overrides={"wire": {"host": "xs.example.org"}}, environ={"XENLAB_PASSWORD": "one"})
    assert wire.inputs(cfg) != wire.inputs(other)
