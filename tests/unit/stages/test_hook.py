"""What the Vagrantfile tells xenlab on a plain `vagrant up` (stages/hook.py): the
stages recorded as xenlab would record them, wire run when devstack's provisioning
begins, and the Config taken from the lab spec Vagrant read."""

from __future__ import annotations

import pytest

from xenlab.core import config
from xenlab.core.state import State
from xenlab.errors import HostError
from xenlab.stages import hook, lifecycle, plan


def load(tmp_path, environ=None):
    (tmp_path / "xenlab.toml").write_text('[lab]\nflavour = "standin"\n')
    return config.load(tmp_path / "xenlab.toml", environ=environ or {"XENLAB_PASSWORD": "s3cret-pw"})


def current(monkeypatch, *names):
    monkeypatch.setattr(hook.lifecycle, "is_current", lambda cfg, name: name in names)


def test_feed_runs_the_stages_between_the_machine_it_is_fed_after_and_it(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    ran = []
    current(monkeypatch, "up-xenserver")
    monkeypatch.setattr(hook.lifecycle, "run_stage", lambda c, name: ran.append(name))
    hook.vagrant_hook(cfg, "devstack", "feed")
    assert ran == ["wire"] == lifecycle.feeding("up-devstack")


def test_feed_before_the_xenserver_machine_is_up_names_what_to_do(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    current(monkeypatch)
    monkeypatch.setattr(hook.lifecycle, "run_stage", lambda c, name: pytest.fail("nothing may run"))
    with pytest.raises(HostError, match="fed by the stages after xenserver.*`vagrant up xenserver`"):
        hook.vagrant_hook(cfg, "devstack", "feed")


def test_a_provisioned_machine_is_recorded_by_vagrant(tmp_path, monkeypatch):
    cfg = load(tmp_path)
    monkeypatch.setattr(hook.STAGES["xenserver"], "inputs", lambda c: "xs-inputs")
    cfg.paths.vagrant_ssh_config.parent.mkdir(parents=True)
    cfg.paths.vagrant_ssh_config.write_text("Host xenserver\n")
    hook.vagrant_hook(cfg, "xenserver", "up", provisioned=True)
    record = State(cfg.paths.state).get("up-xenserver")
    assert record["by"] == "vagrant"
    assert not cfg.paths.vagrant_ssh_config.exists()  # verify asks Vagrant again, outside its trigger


def test_a_machine_up_but_not_provisioned_with_changed_inputs_is_not_recorded(tmp_path, monkeypatch, capsys):
    cfg = load(tmp_path)
    current(monkeypatch)
    hook.vagrant_hook(cfg, "xenserver", "up", provisioned=False)
    assert State(cfg.paths.state).get("up-xenserver") is None
    assert "run `vagrant provision xenserver`" in capsys.readouterr().err


def test_destroying_devstack_forgets_it_and_after(tmp_path):
    cfg = load(tmp_path)
    st = State(cfg.paths.state)
    for name in lifecycle.names():
        st.record(name, "d", 1.0)
    hook.vagrant_hook(cfg, "devstack", "destroy")
    assert list(State(cfg.paths.state).stages) == ["build", "up-xenserver", "wire"]


def test_the_config_comes_from_the_spec_vagrant_read_not_from_the_environment_now(tmp_path):
    planned = load(tmp_path, {"XENLAB_PASSWORD": "s3cret-pw", "XENLAB_XENSERVER_MEMORY_MB": "8192"})
    plan.render_all(planned, quiet=True)
    (tmp_path / "xenlab.toml").write_text('[lab]\nflavour = "xcp-ng-8.3"\nname = "other"\n')
    now = config.from_spec(planned.paths.spec, environ={"XENLAB_PASSWORD": "s3cret-pw",
                                                         "XENLAB_XENSERVER_MEMORY_MB": "2048"})
    assert now.settings == planned.settings and now.root == planned.root
    assert now.config_path == planned.config_path and now.flavour == planned.flavour
    assert now.password.get_secret_value() == "s3cret-pw"
    # The stages' inputs are what plan rendered, so what the hook records, invoke finds current.
    assert hook.STAGES["xenserver"].inputs(now) == hook.STAGES["xenserver"].inputs(planned)


@pytest.mark.parametrize("text", ["", "{}", '{"config": 3}', '{"config": {"settings": {"lab": {"name": "A B"}}}}',
                                  "[1, 2", '{"config": {"settings": {}, "root": "/", "config_path": 5}}'])
def test_a_spec_xenlab_cannot_read_is_one_line_naming_it(tmp_path, text):
    path = tmp_path / "lab.json"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as err:
        config.from_spec(path, environ={"XENLAB_PASSWORD": "pw"})
    assert "lab.json" in err.value.message and "\n" not in err.value.message
    assert "invoke plan" in err.value.message or "not valid" in err.value.message
