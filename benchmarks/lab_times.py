#!/usr/bin/env python3
"""Stand-in lab timings: cold and warm `invoke lab`, and verify against its SSH floor.

Cold: from nothing (no box, no state). No-op: again on the running lab. Warm:
after `invoke down`, with the box still built (up + wire + verify).
Goals (TCG, this kind of machine): cold `invoke lab` <= 10 min, warm <= 4 min;
`invoke verify` <= 2x the multiplexed round-trip floor and <= 10 s for both hosts.

The floor: verify's suites send N commands per host (counted by the suites
themselves); one multiplexed `ssh host true` takes t; the hosts run in parallel,
so the floor is max over hosts of N x t.

Runs as root, inside a network namespace it makes (only `lo`), with libvirtd
started there, like the integration tests; it tears everything down at the end.
    sudo .venv/bin/python benchmarks/lab_times.py [--keep-box]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import standin_lab  # noqa: E402
from tests.support.netns import Libvirt, Netns  # noqa: E402
from xenlab.core import config  # noqa: E402
from xenlab.xenserver import osxenapi  # noqa: E402
from xenlab.core.paths import PROJECT_DIR  # noqa: E402

INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")
PASSWORD = "bench-Pw-1"

def timed(ns, env, *args, timeout=3600):
    started = time.monotonic()
    done = ns.run([INVOKE, *args], env=env, cwd=PROJECT_DIR, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    if done.returncode:
        print(done.stdout[-4000:], done.stderr[-2000:])
        raise SystemExit(f"invoke {' '.join(args)} failed (exit {done.returncode})")
    return seconds


def ssh_floor(ns, cfg, host, runs=10):
    conf = cfg.lab_dir / "ssh-config"
    ns.run(["ssh", "-F", conf, host, "true"], timeout=60)  # open the master connection
    times = []
    for _ in range(runs):
        started = time.monotonic()
        ns.run(["ssh", "-F", conf, host, "true"], timeout=60)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def main():
    root = Path(tempfile.mkdtemp(prefix="xenlab-bench-"))
    (root / "xenlab.toml").write_text(standin_lab.config_toml("bench"))
    env = {"XENLAB_PASSWORD": PASSWORD, "XENLAB_CONFIG": str(root / "xenlab.toml")}
    cfg = config.load(root / "xenlab.toml", environ=env)
    osxenapi.sdist(cfg.devstack.os_xenapi_version)  # PyPI is out of the namespace's reach
    with Netns() as ns, Libvirt(ns):
        try:
            cold = timed(ns, env, "lab")
            noop = timed(ns, env, "lab")
            verify_times = [timed(ns, env, "verify") for _ in range(3)]
            counts = {h: json.loads((cfg.lab_dir / "reports" / f".{h}-round-trips.json").read_text())["count"]
                      for h in ("xenserver", "devstack")}
            rtt = {h: ssh_floor(ns, cfg, h) for h in counts}
            timed(ns, env, "down", timeout=900)
            warm = timed(ns, env, "lab")
        finally:
            ns.run([INVOKE, "down"], env=env, cwd=PROJECT_DIR, timeout=900, check=False)
    verify = statistics.median(verify_times)
    floor = max(counts[h] * rtt[h] for h in counts)
    print(f"cold invoke lab:  {cold:7.1f} s   (goal <= 600 s; ratio {cold / 600:.2f})")
    print(f"warm invoke lab:  {warm:7.1f} s   (goal <= 240 s; ratio {warm / 240:.2f}); cold/warm {cold / warm:.1f}x")
    print(f"no-op invoke lab: {noop:7.1f} s   (on the running lab); cold/no-op {cold / noop:.0f}x")
    for h in counts:
        print(f"{h:<10} {counts[h]:3d} ssh round trips x {rtt[h] * 1000:5.0f} ms = {counts[h] * rtt[h]:5.1f} s")
    ratio = f"{verify / floor:.2f}x" if floor else "n/a (no round trips counted)"
    print(f"verify (median of 3): {verify:5.1f} s; floor {floor:5.1f} s; ratio {ratio} (goal <= 2x, <= 10 s)")


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("run as root: it makes a network namespace and starts libvirtd")
    main()
