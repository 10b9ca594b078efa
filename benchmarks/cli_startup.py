#!/usr/bin/env python3
"""How long `invoke --list` takes against a bare `import invoke` (goal: <= 2x).

Heavy modules (pydantic, XenAPI, testinfra) must load only inside the tasks that
need them; this prints the figures and the ratio, and which heavy modules the
listing imported, so a regression shows. Run: .venv/bin/python benchmarks/cli_startup.py
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUNS = 15
HEAVY = ("pydantic", "XenAPI", "testinfra", "jinja2", "hcl2", "vagrant")


def best_and_median(argv):
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, cwd=PROJECT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main():
    base = best_and_median([sys.executable, "-c", "import invoke"])
    listing = best_and_median([str(BIN / "invoke"), "--list"])
    xenlab = best_and_median([str(BIN / "xenlab"), "--list"])
    probe = "import sys, runpy; sys.argv=['invoke','--list'];\ntry: runpy.run_module('invoke', run_name='__main__')\n" \
            "except SystemExit: pass\nprint('HEAVY:' + (','.join(m for m in %r if m in sys.modules) or 'none'))" % (HEAVY,)
    heavy = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT, capture_output=True, text=True).stdout
    print(f"python -c 'import invoke'  best {base[0]*1000:6.0f} ms  median {base[1]*1000:6.0f} ms")
    print(f"invoke --list              best {listing[0]*1000:6.0f} ms  median {listing[1]*1000:6.0f} ms")
    print(f"xenlab --list              best {xenlab[0]*1000:6.0f} ms  median {xenlab[1]*1000:6.0f} ms")
    print(f"ratio invoke --list / import invoke (median): {listing[1]/base[1]:.2f}x (goal <= 2x)")
    print(f"ratio xenlab --list / import invoke (median): {xenlab[1]/base[1]:.2f}x (goal <= 2x)")
    loaded = next((line[6:] for line in heavy.splitlines() if line.startswith("HEAVY:")), "unknown")
    print(f"heavy modules loaded by the listing: {loaded}")


if __name__ == "__main__":
    main()
