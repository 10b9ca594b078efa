"""vagrant/devstack/wait-for-wire.sh, run by the real shell against a staging folder:
it returns at once with nothing pending, waits while WIRE-PENDING is there, stops with
the host's reason on WIRE-FAILED, and gives up at its bound."""

from __future__ import annotations

import subprocess
import threading
import time

from xenlab.core.paths import PROJECT_DIR

SCRIPT = PROJECT_DIR / "vagrant" / "devstack" / "wait-for-wire.sh"


def run(staging, bound="30", step="1"):
    env = {"PATH": "/usr/bin:/bin", "XENLAB_STAGING": str(staging), "XENLAB_WIRE_WAIT_S": bound,
           "XENLAB_WIRE_POLL_S": step}
    started = time.monotonic()
    done = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


def staging_with(tmp_path, *names):
    files = tmp_path / "devstack"
    files.mkdir()
    for name in names:
        (files / name).write_text("wire runs on the host once the xenserver machine is up\n")
    return files


def test_nothing_pending_returns_at_once(tmp_path):
    staging_with(tmp_path, "local.conf")
    done, took = run(tmp_path)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert took < 5


def test_it_waits_while_wire_is_pending_and_goes_on_when_the_files_come(tmp_path):
    files = staging_with(tmp_path, "WIRE-PENDING")
    timer = threading.Timer(3, (files / "WIRE-PENDING").unlink)
    timer.start()
    try:
        done, took = run(tmp_path)
    finally:
        timer.cancel()
    assert done.returncode == 0, done.stderr
    assert "waiting for wire on the host" in done.stdout and "wire's files arrived after" in done.stdout
    assert took >= 2.5


def test_a_failed_wire_stops_it_with_the_hosts_reason_on_one_line(tmp_path):
    files = staging_with(tmp_path, "WIRE-PENDING")
    (files / "WIRE-FAILED").write_text("XenAPI refused the lab password\nfor root\n")
    done, _ = run(tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "xenlab: wire did not finish on the host, so this machine cannot be provisioned: "
        "XenAPI refused the lab password for root"]


def test_it_gives_up_at_its_bound_naming_the_fix(tmp_path):
    staging_with(tmp_path, "WIRE-PENDING")
    done, took = run(tmp_path, bound="2")
    assert done.returncode == 1
    assert "did not arrive within 2 s" in done.stderr and "vagrant provision devstack" in done.stderr
    assert took < 10
