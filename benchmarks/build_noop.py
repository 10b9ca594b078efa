"""Cold vs no-op `xenlab build` of the stand-in, as a ratio.

Goal: a no-op build (inputs unchanged, box present) takes <= 1 s and is >= 50x
faster than a cold one. "Cold" here is a forced Packer build from the cached base
image (the debootstrap step, ~150 s more, is cached across labs and not repeated).

    sudo .venv/bin/python benchmarks/build_noop.py [LAB_DIR]

Needs root, Packer, QEMU and Vagrant; uses its own VAGRANT_HOME inside LAB_DIR.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

XENLAB = str(Path(sys.executable).parent / "xenlab")
NOOP_RUNS = 5


def timed(args: list[str], cwd: Path, env: dict) -> float:
    started = time.monotonic()
    done = subprocess.run([XENLAB, *args], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode:
        sys.exit(f"xenlab {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="xenlab-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "xenlab.toml").write_text('[lab]\nname = "bench"\nflavour = "standin"\naccelerator = "tcg"\n')
    env = {**os.environ, "VAGRANT_HOME": str(root / "vagrant-home"),
           "XENLAB_PASSWORD": os.environ.get("XENLAB_PASSWORD", "bench-password-1")}
    print(f"lab: {root}")
    cold = timed(["build", "--force"], root, env)
    print(f"cold build (forced, base image cached): {cold:8.2f} s")
    noops = [timed(["build"], root, env) for _ in range(NOOP_RUNS)]
    noop = statistics.median(noops)
    print(f"no-op build, median of {NOOP_RUNS}:       {noop:8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in noops)})")
    print(f"ratio cold / no-op:                     {cold / noop:8.1f}x  (goal: no-op <= 1 s, >= 50x)")
    box = root / ".xenlab" / "boxes"
    for f in sorted(box.glob("*.box")):
        print(f"box {f.name}: {f.stat().st_size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
