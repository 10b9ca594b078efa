import pytest

from xenlab import config, wire


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return config.load(None, environ={"XENLAB_PASSWORD": "one"})


def test_inputs_hold_no_secret_but_present_sees_a_new_password(cfg, tmp_path):
    other = config.load(None, environ={"XENLAB_PASSWORD": "two"})
    assert wire.inputs(cfg) == wire.inputs(other)
    assert not wire.present(cfg)
    for rel, text in wire._renders(cfg).items():
        (cfg.lab_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (cfg.lab_dir / rel).write_text(text)
    (cfg.lab_dir / wire.FACTS).parent.mkdir(parents=True)
    (cfg.lab_dir / wire.FACTS).write_text("{}")
    assert wire.present(cfg) and not wire.present(other)


def test_host_option_changes_inputs(cfg):
    other = config.load(None, overrides={"wire": {"host": "xs.example.org"}}, environ={"XENLAB_PASSWORD": "one"})
    assert wire.inputs(cfg) != wire.inputs(other)
