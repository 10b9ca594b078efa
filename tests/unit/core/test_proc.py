"""The one process runner: a stopped process takes its whole group with it."""

from __future__ import annotations

import os
import time

from xenlab.core import proc


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_stop_returns_when_no_process_of_the_group_is_left(tmp_path):
    # The leader exits on SIGTERM at once; its child takes a moment, as QEMU does after Packer.
    script = ("trap 'exit 0' TERM; "
              "sh -c 'trap \"sleep 0.5; exit 0\" TERM; while :; do sleep 0.1; done' & "
              "while :; do sleep 0.1; done")
    p = proc.start(["sh", "-c", script], quiet=True, log=tmp_path / "log")
    time.sleep(0.5)
    started = time.monotonic()
    p.stop()
    assert not group_alive(p.popen.pid)
    assert time.monotonic() - started < proc.STOP_GRACE  # ended by TERM, not the grace period


def test_a_group_that_ignores_term_is_killed_after_the_grace(tmp_path, monkeypatch):
    monkeypatch.setattr(proc, "STOP_GRACE", 4.0)  # orphans here are reaped by PID 1 within ~2 s
    p = proc.start(["sh", "-c", "trap '' TERM; sh -c \"trap '' TERM; sleep 30\" & sleep 30"], quiet=True,
                   log=tmp_path / "log")
    time.sleep(0.3)
    p.stop()
    assert not group_alive(p.popen.pid)
