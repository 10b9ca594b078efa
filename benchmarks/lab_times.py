#!/usr/bin/env python3
"""Stand-in lab timings, all from one run, each beside its goal and the ratio.

    cold      `invoke lab` from nothing but the cached base image (build, both machines, wire, verify)
    no-op     `invoke lab` again on the finished lab (median of 5)
    verify    `invoke verify` on the running lab (median of 3), against its floor
    snapshot  `invoke snapshot` of the verified lab
    warm      `invoke lab` after `invoke down` (boxes built, box images still in the pool)
    restore   `invoke restore` after `invoke down`, to a passing verify

The verify floor: the suites count the SSH commands they send per host (N); one
multiplexed `ssh host true` takes t; a testinfra pytest process costs s to start
and load (measured on a trivial local suite); the hosts run in parallel, so the
floor is s + max over hosts of N x t. The issue's reference floor (48 commands
x t, what the xenserver suite used to send) is printed beside it.

Runs as root, inside a network namespace it makes (only `lo`), with libvirtd
started there, like the VM tests; it tears everything down at the end.
    sudo .venv/bin/python benchmarks/lab_times.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.netns import Libvirt, Netns  # noqa: E402
from tests.support.standin_lab import StandinLab  # noqa: E402
from xenlab.core.paths import SUITES_DIR  # noqa: E402

GOALS = {"cold": 600.0, "no-op": 1.0, "verify": 10.0, "warm": 150.0, "restore": 30.0, "snapshot": 60.0}
OLD_XENSERVER_COMMANDS = 48  # what the xenserver suite sent before it gathered facts in one command


def timed(lab, *args, timeout=3600) -> float:
    started = time.monotonic()
    done = lab.invoke(*args, timeout=timeout)
    seconds = time.monotonic() - started
    if done.returncode:
        print(done.stdout[-4000:], done.stderr[-2000:])
        raise SystemExit(f"invoke {' '.join(args)} failed (exit {done.returncode})")
    return seconds


def ssh_rtt(lab, host: str, runs: int = 10) -> float:
    lab.ssh(host, "true")  # the master connection
    times = []
    for _ in range(runs):
        started = time.monotonic()
        lab.ssh(host, "true")
        times.append(time.monotonic() - started)
    return statistics.median(times)


def testinfra_startup(runs: int = 3) -> float:
    """One pytest + testinfra process on a trivial local suite: the fixed cost of each host's check."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "test_one.py").write_text("def test_one(host):\n    assert host.run('true').rc == 0\n")
        times = []
        for _ in range(runs):
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hosts=local://",
                            str(Path(tmp) / "test_one.py")], cwd=tmp, capture_output=True, check=True, timeout=120)
            times.append(time.monotonic() - started)
    return statistics.median(times)


def line(label: str, seconds: float, goal: float, extra: str = "") -> str:
    verdict = "met" if seconds <= goal else "MISSED"
    return f"{label:<9} {seconds:7.2f} s   goal <= {goal:g} s   ratio {seconds / goal:5.2f}  {verdict}{extra}"


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="xenlab-bench-"))
    with Netns() as ns, Libvirt(ns):
        lab = StandinLab(ns, root, "bench", vagrant_home=root / "vagrant-home")
        lab.prefetch()
        try:
            cold = timed(lab, "lab")
            noop = statistics.median(timed(lab, "lab", timeout=600) for _ in range(5))
            verify = statistics.median(timed(lab, "verify", timeout=600) for _ in range(3))
            reports = lab.cfg.paths.reports
            counts = {h: json.loads((reports / f".{h}-round-trips.json").read_text())["count"]
                      for h in ("xenserver", "devstack")}
            rtt = {h: ssh_rtt(lab, h) for h in counts}
            snapshot = timed(lab, "snapshot", "--name", "bench", timeout=900)
            timed(lab, "down", timeout=900)
            warm = timed(lab, "lab")
            timed(lab, "down", timeout=900)
            restore = timed(lab, "restore", "--name", "bench", timeout=900)
        finally:
            lab.invoke("down", "--purge", timeout=900)
            # Every command's output, for the per-stage times behind each figure.
            fd = os.open(root / "outputs.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as log:
                log.write("\n".join(lab.outputs))
            print(f"outputs: {root / 'outputs.log'}; commands (s): {lab.report_timings()}")
    startup = testinfra_startup()
    floor = startup + max(counts[h] * rtt[h] for h in counts)
    reference = OLD_XENSERVER_COMMANDS * rtt["xenserver"]
    print(line("cold", cold, GOALS["cold"], f"   (cold/warm {cold / warm:.1f}x, cold/no-op {cold / noop:.0f}x)"))
    print(line("warm", warm, GOALS["warm"]))
    print(line("no-op", noop, GOALS["no-op"]))
    print(line("snapshot", snapshot, GOALS["snapshot"]))
    print(line("restore", restore, GOALS["restore"], "   (to a passing verify, after down)"))
    print(line("verify", verify, GOALS["verify"]))
    for h in counts:
        print(f"  {h:<10} {counts[h]:3d} ssh round trips x {rtt[h] * 1000:4.0f} ms = {counts[h] * rtt[h]:5.2f} s")
    print(f"  testinfra start-up (pytest, plugins, one local check): {startup:5.2f} s")
    print(f"  floor = start-up + max(N x t) = {floor:5.2f} s; verify / floor = {verify / floor:4.2f}x (goal <= 2x)")
    print(f"  reference floor (the old {OLD_XENSERVER_COMMANDS} commands x t) = {reference:5.2f} s; "
          f"verify / reference = {verify / reference:4.2f}x")
    print(f"  ({SUITES_DIR.relative_to(SUITES_DIR.parents[1])}: one command per host gathers its facts)")
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("run as root: it makes a network namespace and starts libvirtd")
    sys.exit(main())
