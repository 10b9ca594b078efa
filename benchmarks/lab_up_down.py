#!/usr/bin/env python3
"""Time the stand-in lab's lifecycle: first `invoke up`, `invoke up` again (the
no-op), `invoke down`. Prints figures and ratios; asserts nothing.

Runs like the integration test: libvirtd and every command inside a network
namespace made here, daemons stopped by PID at the end. Needs root and the
stand-in boxes (`invoke build --flavour standin`).

    sudo .venv/bin/python benchmarks/lab_up_down.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.netns import Libvirt, Netns  # noqa: E402
from tests.support.standin_lab import PASSWORD, config_toml  # noqa: E402
from xenlab.core.paths import PROJECT_DIR  # noqa: E402



def main() -> int:
    invoke = str(PROJECT_DIR / ".venv" / "bin" / "invoke")
    figures: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="xenlab-bench-") as tmp:
        (Path(tmp) / "xenlab.toml").write_text(config_toml("bench"))
        env = {"XENLAB_CONFIG": f"{tmp}/xenlab.toml",
               "XENLAB_PASSWORD": PASSWORD}
        with Netns() as ns, Libvirt(ns):
            for label, args, timeout in (("up (first)", ["up"], 1800), ("up (no-op)", ["up"], 600),
                                         ("down", ["down"], 900)):
                started = time.monotonic()
                done = ns.run([invoke, *args], env=env, cwd=PROJECT_DIR, timeout=timeout, check=False)
                figures.append((label, time.monotonic() - started))
                if done.returncode:
                    print(f"{label} failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
                    return 1
    for label, seconds in figures:
        print(f"{label:<12} {seconds:7.1f} s")
    first, noop = figures[0][1], figures[1][1]
    print(f"no-op / first up: {noop / first:.3f} ({first / noop:.0f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
