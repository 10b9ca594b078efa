"""Vagrant through the one runner: its errors in one line, every call bounded."""

from __future__ import annotations

import os
import time

import pytest
import vagrant as pyvagrant

from tests.support import labs
from xenlab.core.proc import pid_alive
from xenlab.errors import ToolError
from xenlab.machines import vagrantcli


def test_machine_readable_error_becomes_one_line():
    lines = [
        "1700000000,,ui,info,hello",
        "1700000000,,error-exit,Vagrant::Errors::X,The box 'a/b' could not be found%!(VAGRANT_COMMA) sorry.\\n"
        "Try again.",
    ]
    assert vagrantcli.error_message(lines) == "The box 'a/b' could not be found, sorry. Try again."


def test_last_paragraph_is_the_error():
    lines = ["==> xenserver: Creating domain", "", "Error while connecting to Libvirt:", "no socket", ""]
    assert vagrantcli.error_message(lines) == "Error while connecting to Libvirt: no socket"


def test_environment_keeps_the_users_and_points_at_the_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_USER_SETTING", "kept")
    cfg = labs.load(tmp_path)
    env = vagrantcli.environment(cfg)
    assert env["SOME_USER_SETTING"] == "kept"
    assert env["PATH"] == os.environ["PATH"]
    assert env["XENLAB_LAB_SPEC"] == str(cfg.paths.spec)
    # Vagrant's data about the machines is the lab's own: labs under one root each have theirs.
    assert env["VAGRANT_DOTFILE_PATH"] == str(tmp_path / ".xenlab" / "t" / "vagrant")
    other = labs.load(tmp_path, extra="", **{"XENLAB_LAB_NAME": "other"})
    assert vagrantcli.environment(other)["VAGRANT_DOTFILE_PATH"] == str(tmp_path / ".xenlab" / "other" / "vagrant")
    assert env["XENLAB_DRIVEN"] == "1"  # the Vagrantfile's triggers leave the lifecycle to xenlab


def test_box_upload_progress_keeps_only_its_last_line():
    assert vagrantcli._quiet_progress("Progress: 37% (Rate: 1M/s)") is None
    assert vagrantcli._quiet_progress("\x1b[KProgress: 100% (Rate: 1M/s)") == "Progress: 100% (Rate: 1M/s)"
    assert vagrantcli._quiet_progress("==> xenserver: Creating image") == "==> xenserver: Creating image"


def test_a_vagrant_call_that_overruns_is_stopped_with_what_it_started(tmp_path, monkeypatch):
    # A `vagrant` that never finishes (and starts a child of its own), on PATH for this test only.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "vagrant").write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {tmp_path}/child\nwait\n")
    (fake / "vagrant").chmod(0o755)
    monkeypatch.setattr(pyvagrant, "get_vagrant_executable", lambda: str(fake / "vagrant"))
    cfg = labs.load(tmp_path)
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"vagrant up took longer than 1 s and was stopped"):
        vagrantcli.client(cfg, "up", timeout=1).up("xenserver")
    assert time.monotonic() - started < 30
    assert not pid_alive(int((tmp_path / "child").read_text()))


def test_a_failing_vagrant_is_summarised_by_its_error_paragraph(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "vagrant").write_text("#!/bin/sh\necho '==> xenserver: Creating image'\necho\n"
                                  "echo 'xenlab: pip download os-xenapi failed (exit 1): no network'\nexit 1\n")
    (fake / "vagrant").chmod(0o755)
    monkeypatch.setattr(pyvagrant, "get_vagrant_executable", lambda: str(fake / "vagrant"))
    cfg = labs.load(tmp_path)
    with pytest.raises(ToolError) as err:
        vagrantcli.client(cfg, "up", timeout=30).up("xenserver")
    assert "vagrant up failed (exit 1): xenlab: pip download os-xenapi failed" in err.value.message
    assert f"full log: {cfg.paths.log('up')}" in err.value.message
