"""What Glance on the stand-in's devstack machine costs, measured on this host.

The install tree it shares with Nova's probe (download, offline install, the ext4
disk with the lab's VHD image) and its size; then Glance started as the devstack
machine starts it (LoopbackGlance: db sync, then the API until it answers), an
upload of the lab's image, and the API process's memory.

Goal: Glance answers within 30 s of its start on this host, and uploads the image
within 10 s. (The devstack machine runs under software emulation, several times
slower: its unit allows 900 s to start.)

    .venv/bin/python benchmarks/glance_start.py [--cold]

--cold builds in an empty cache of its own (pip's HTTP cache may still hold wheels).
Downloads from PyPI: run it in the root namespace.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from xenlab.devstack import glance, probe, vhd

START_GOAL_S, UPLOAD_GOAL_S = 30.0, 10.0


def megabytes(path: Path) -> float:
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file() and not f.is_symlink()]
    return sum(f.stat().st_size for f in files) / 2**20


def timed(what, *args):
    started = time.monotonic()
    result = what(*args)
    return result, time.monotonic() - started


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="xenlab-glance-bench-"))
    if "--cold" in sys.argv[1:]:
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    log = work / "build.log"
    wheels, t_wheels = timed(probe.ensure_wheels, log)
    tree, t_tree = timed(probe.ensure_tree, log)
    disk, t_disk = timed(probe.ensure_image, log)
    print(f"cache: {probe.cache_root()}")
    print(f"download of {len(probe.pins())} pinned files: {t_wheels:7.1f} s  {megabytes(wheels):6.0f} MiB")
    print(f"offline install into the tree:      {t_tree:7.1f} s  {megabytes(tree):6.0f} MiB")
    print(f"ext4 disk (tree + lab image):       {t_disk:7.1f} s  {disk.stat().st_size / 2**20:6.0f} MiB "
          f"({os.stat(disk).st_blocks * 512 / 2**20:.0f} MiB allocated)")
    image = vhd.ensure(log)
    started = time.monotonic()
    with glance.LoopbackGlance(work / "glance", tree=tree) as server:
        t_start = time.monotonic() - started
        record, t_upload = timed(server.upload, image)
        status = Path(f"/proc/{server.process.popen.pid}/status").read_text().splitlines()
        rss = next(line.split()[1] for line in status if line.startswith("VmHWM"))
        t_again = timed(server.upload, image)[1]
    print(f"Glance start (db sync + API up):    {t_start:7.1f} s  (goal <= {START_GOAL_S:.0f} s)")
    print(f"upload of the lab's image ({record['size']} bytes): {t_upload:5.1f} s  (goal <= {UPLOAD_GOAL_S:.0f} s); "
          f"again, kept: {t_again:.1f} s")
    print(f"glance-api peak memory:             {int(rss) / 1024:7.0f} MiB")
    print(f"state, logs: {work}")


if __name__ == "__main__":
    main()
