"""One real stand-in build (debootstrap base image, Packer + QEMU under TCG, Vagrant)
in a lab directory of its own, shared by the tests that need the box.

Packer runs inside a network namespace with only `lo` up, and its guest on QEMU user
networking with restrict=on: nothing leaves the machine. The base image (the only
download, from Debian's archive) is made first, outside the namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.support import labs
from tests.support.prereq import require_root, require_tool
from xenlab.images import baseimage

XENLAB = [str(Path(sys.executable).parent / "xenlab")]  # the console script in the venv
BUILD_TIMEOUT = 3600


def run_xenlab(lab, *args, timeout=BUILD_TIMEOUT):
    return subprocess.run(["ip", "netns", "exec", lab.netns, *XENLAB, *args], cwd=lab.root, env=lab.env,
                          capture_output=True, text=True, timeout=timeout)


class Lab:
    def __init__(self, root: Path, netns: str):
        self.root = root
        self.netns = netns
        self.env = {**os.environ, "XENLAB_PASSWORD": labs.PASSWORD, "VAGRANT_HOME": str(root / "vagrant-home"),
                    "CI": os.environ.get("CI", "")}
        self.boxes = root / ".xenlab" / "boxes"
        self.lab_dir = root / ".xenlab" / "t"

    def box(self, name="standin"):
        return self.boxes / f"{name}.libvirt.box"

    def manifest(self, name="standin"):
        return json.loads((self.boxes / f"{name}.manifest.json").read_text())

    def box_image(self, name="standin") -> Path:
        """The registered box's disk image (qcow2), as Vagrant unpacked it."""
        manifest = self.manifest(name)
        return (Path(self.env["VAGRANT_HOME"]) / "boxes" / f"xenlab-VAGRANTSLASH-{name}" / manifest["version"]
                / "libvirt" / "box.img")


@contextmanager
def built(root: Path):
    require_root()
    require_tool("packer", "qemu-system-x86_64", "qemu-img", "vagrant", "debootstrap", "ip")
    labs.write_toml(root, "standin")
    baseimage.ensure(root / "base-image.log")  # needs Debian's archive: outside the namespace
    netns = f"xenlab-build-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True)
        lab = Lab(root, netns)
        started = time.monotonic()
        done = run_xenlab(lab, "build")
        lab.cold_seconds = time.monotonic() - started
        lab.output = done.stdout + done.stderr
        assert done.returncode == 0, lab.output[-3000:]
        print(f"\nstand-in build (cold): {lab.cold_seconds:.0f} s")
        yield lab
    finally:
        subprocess.run(["ip", "netns", "delete", netns], check=False)
