"""The build stage against the session's lab: a second build is a no-op, and a
build killed while QEMU runs leaves the previous boxes and nothing else."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.standin_lab import INVOKE
from xenlab.core.paths import PROJECT_DIR

# After the cold lab built the boxes, before the lab is used and taken down (tests/vm/conftest.py).
pytestmark = [pytest.mark.vm, pytest.mark.root, pytest.mark.step(20)]


def manifest(cfg, name="standin"):
    return json.loads((cfg.paths.boxes / f"{name}.manifest.json").read_text())


def test_a_second_build_is_a_no_op(lab):
    box = lab.cfg.paths.boxes / "standin.libvirt.box"
    before = box.stat().st_mtime_ns
    done = lab.invoke("build", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "==> build: up to date (inputs unchanged), nothing to do" in done.stdout
    assert box.stat().st_mtime_ns == before


def _wait_for_log_line(cfg, text, since, seconds=900):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for log in cfg.paths.log("x").parent.glob("build-standin-*.log"):
            if log.stat().st_mtime >= since and text in log.read_text(errors="replace"):
                return
        time.sleep(2)
    pytest.fail(f"no {text!r} in a build log within {seconds} s")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_a_killed_build_leaves_the_previous_box_and_the_next_build_succeeds(lab):
    cfg = lab.cfg
    box = cfg.paths.boxes / "standin.libvirt.box"
    box_sum = manifest(cfg)["sha256"]
    since = time.time()
    proc = subprocess.Popen(lab.ns.argv([INVOKE, "build", "--force"]), cwd=PROJECT_DIR,
                            env={**__import__("os").environ, **lab.env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_log_line(cfg, "Waiting for SSH", since)  # QEMU is running the guest now
        assert list(cfg.paths.boxes.glob(".build-standin-*"))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, out[-2000:]
    assert "xenlab: interrupted" in out
    assert not list(cfg.paths.boxes.glob(".build-*")), "a temporary build directory was left behind"
    assert manifest(cfg)["sha256"] == box_sum
    assert hashlib.sha256(box.read_bytes()).hexdigest() == box_sum
    leftovers = [p for p in Path("/proc").glob("[0-9]*/cmdline")
                 if b".build-standin-" in _read(p) and b"qemu" in _read(p)]
    assert not leftovers, "QEMU of the killed build is still running"
    done = lab.invoke("build", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
