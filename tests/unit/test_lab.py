"""xenlab.lab's own logic: Vagrant's messages, state after down, status shape."""

from __future__ import annotations

import os

import pytest
import vagrant as pyvagrant

from xenlab import config, lab
from xenlab.errors import ToolError
from xenlab.state import State


def load(tmp_path):
    (tmp_path / "xenlab.toml").write_text("")
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "s3cret-pw"})


def test_machine_readable_error_becomes_one_line():
    out = (
        b"1700000000,,ui,info,hello\n"
        b"1700000000,,error-exit,Vagrant::Errors::X,The box 'a/b' could not be found%!(VAGRANT_COMMA) sorry.\\n"
        b"Try again.\n"
    )
    assert lab._machine_readable_error(out) == "The box 'a/b' could not be found, sorry. Try again."


def test_last_paragraph_is_the_error():
    lines = ["==> xenserver: Creating domain", "", "Error while connecting to Libvirt:", "no socket", ""]
    assert lab._last_message(lines) == "Error while connecting to Libvirt: no socket"


def test_vagrant_env_keeps_the_environment_and_points_at_the_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_USER_SETTING", "kept")
    cfg = load(tmp_path)
    env = lab.vagrant_env(cfg)
    assert env["SOME_USER_SETTING"] == "kept"
    assert env["PATH"] == os.environ["PATH"]
    assert env["XENLAB_LAB_SPEC"] == str(tmp_path / ".xenlab" / "xenlab" / "lab.json")
    assert env["VAGRANT_DOTFILE_PATH"] == str(tmp_path / ".vagrant")


def test_down_forgets_up_and_later_stages_but_keeps_build(tmp_path, monkeypatch):
    from xenlab import lifecycle

    cfg = load(tmp_path)
    monkeypatch.setattr(lifecycle, "SEQUENCE", [
        lifecycle.Stage("build", "xenlab.lab", ""), lifecycle.Stage("up", "xenlab.lab", ""),
        lifecycle.Stage("wire", "xenlab.lab", ""),
    ])
    st = State(cfg.lab_dir)
    for name in ("build", "up", "wire"):
        st.record(name, "d", 1.0)
    known = cfg.lab_dir / "ssh" / "known_hosts"
    known.parent.mkdir(parents=True)
    known.write_text("192.168.57.10 ssh-ed25519 AAAA\n")
    lab.forget_stages(cfg)
    assert list(State(cfg.lab_dir).stages) == ["build"]
    assert not known.exists()  # the next machine's new host key must not be refused


def test_ssh_config_parsing():
    text = "Host devstack\n  HostName 192.168.121.5\n  User vagrant\n  Port 22\n"
    assert lab._parse_ssh_config(text) == {"Host": "devstack", "HostName": "192.168.121.5", "User": "vagrant", "Port": "22"}


def test_a_vagrant_call_that_overruns_is_stopped_with_what_it_started(tmp_path, monkeypatch):
    # A `vagrant` that never finishes, on PATH for this test only.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "vagrant").write_text("#!/bin/sh\nsleep 300 &\nwait\n")
    (fake / "vagrant").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    monkeypatch.setattr(pyvagrant, "get_vagrant_executable", lambda: str(fake / "vagrant"))
    cfg = load(tmp_path)
    before = set(lab._descendants(os.getpid()))
    with pytest.raises(ToolError, match=r"vagrant up took longer than 1 s and was stopped"):
        lab.vagrant_call(cfg, "up", "up", timeout=1, quiet=True)
    assert set(lab._descendants(os.getpid())) <= before
