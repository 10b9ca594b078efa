#!/usr/bin/env python3
"""How many XenAPI calls `xenlab wire` makes against pools of 1, 8 and 64 hosts.

Runs the real thing (as root): the simulator seeded with N hosts and a test sshd
as dom0 in a private network namespace, `xenlab wire --force`, then reads the
simulator's own call counts. The count must not grow with the pool.

    sudo .venv/bin/python benchmarks/wire_calls.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.dom0lab import Dom0Lab  # noqa: E402
from xenlab.xenserver import osxenapi  # noqa: E402

SIZES = (1, 8, 64)
PASSWORD = "bench-password"


def measure(size: int) -> tuple[int, dict, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        work = tmp / "work"
        work.mkdir()
        with Dom0Lab(tmp, PASSWORD) as lab:
            lab.start_sim(pool_size=size)
            lab.start_sshd()
            started = time.monotonic()
            out = lab.run_xenlab(work, "wire", "--force")
            seconds = time.monotonic() - started
            if out.returncode:
                raise SystemExit(f"wire failed for pool size {size}: {out.stderr.strip()}")
        line = next(l for l in (tmp / "sim.log").read_text().splitlines() if "stopped after" in l)
        counts = json.loads(line.split("calls: ", 1)[1])
        return sum(counts.values()), counts, seconds


def main() -> int:
    osxenapi.sdist("0.3.4")
    results = {size: measure(size) for size in SIZES}
    base = results[SIZES[0]][0]
    print(f"{'pool hosts':>10} {'XenAPI calls':>12} {'ratio':>6} {'wire s':>7}")
    for size, (total, counts, seconds) in results.items():
        print(f"{size:>10} {total:>12} {total / base:>6.2f} {seconds:>7.2f}")
    print("calls per method (pool of 64):", json.dumps(results[SIZES[-1]][1]))
    grows = any(total != base for total, _, _ in results.values())
    print("call count grows with pool size: " + ("YES (regression)" if grows else "no"))
    return 1 if grows else 0


if __name__ == "__main__":
    sys.exit(main())
