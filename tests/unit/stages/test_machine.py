"""The machine stages' own logic: inputs, stale machines, what down and the hooks forget."""

from __future__ import annotations

from xenlab.core import config
from xenlab.stages import down, hook, machine
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
    down.forget_machines(cfg)
    assert list(State(cfg.paths.state).stages) == ["build"]
    assert not known.exists()  # the next machine's new host key must not be refused


def test_destroying_devstack_alone_forgets_only_it_and_after(tmp_path):
    cfg = load(tmp_path)
    st = State(cfg.paths.state)
    for name in ("build", "up-xenserver", "wire", "up-devstack", "verify"):
        st.record(name, "d", 1.0)
    cfg.paths.known_hosts.parent.mkdir(parents=True)
    cfg.paths.known_hosts.write_text("dom0 key\n")
    hook.vagrant_hook(cfg, "devstack", "destroy", provisioned=False)
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

    from xenlab.machines import vagrantcli

    cfg = load(tmp_path)
    stage = machine.STAGES["xenserver"]
    monkeypatch.setattr(stage, "box", lambda c: ("xenlab/xcp-ng-8.3", "0.20261201.2"))
    meta = vagrantcli.machine_dir(cfg, "xenserver", "libvirt") / "box_meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"name": "xenlab/xcp-ng-8.3", "version": "0.20261201.2"}))
    assert stage.stale(cfg) == ""
    meta.write_text(json.dumps({"name": "xenlab/xcp-ng-8.3", "version": "0.20261130.1"}))
    assert "was made from box xenlab/xcp-ng-8.3 0.20261130.1, the lab's box is now 0.20261201.2" in stage.stale(cfg)


def test_devstack_inputs_follow_wires_files_without_holding_them(tmp_path):
    cfg = load(tmp_path)
    before = machine.STAGES["devstack"].inputs(cfg)
    assert machine.STAGES["xenserver"].inputs(cfg) != before
    cfg.paths.local_conf.parent.mkdir(parents=True)
    cfg.paths.local_conf.write_text("XENAPI_PASSWORD='s3cret-pw'\n")
    after = machine.STAGES["devstack"].inputs(cfg)
    assert after != before and "s3cret" not in after
