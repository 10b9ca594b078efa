"""The real stand-in build: debootstrap base image, Packer + QEMU (TCG), Vagrant.

One build is shared by the tests of this module and the dom0 scripts' VM test
(tests/integration/conftest.py: the slow part, minutes under TCG);
the base image comes from the user's cache when present. Packer runs inside a
network namespace with only `lo` up, and its guest on QEMU user networking with
restrict=on: nothing leaves the machine. The base image (the only download, from
Debian's archive) is made first, outside the namespace.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.support import labs, standin_build

pytestmark = [pytest.mark.vm, pytest.mark.root]

XENLAB = standin_build.XENLAB
_run_xenlab = standin_build.run_xenlab


@pytest.fixture(scope="module")
def lab(standin_build):
    """The session's stand-in build (tests/integration/conftest.py), made cold here."""
    return standin_build


def test_boxes_are_built_packed_and_registered(lab):
    for name, kind in (("standin", True), ("standin-devstack", True)):
        box = lab.box(name)
        assert box.is_file()
        assert oct(box.stat().st_mode & 0o777) == "0o600"
        with tarfile.open(box) as tar:
            # Packer 1.6 writes GNU headers whose time fields Python reads as a name
            # prefix; Vagrant's bsdtar reads plain names. Compare base names.
            members = {Path(m.name).name: m for m in tar.getmembers()}
            meta = json.load(tar.extractfile(members["metadata.json"]))
        assert {"box.img", "metadata.json", "Vagrantfile"} <= set(members)
        assert meta["provider"] == "libvirt"
        manifest = lab.manifest(name)
        assert manifest["box"] == f"xenlab/{name}"
        assert manifest["standin"] is kind
        assert manifest["sha256"] == hashlib.sha256(box.read_bytes()).hexdigest()
        vagrant_dir = Path(lab.env["VAGRANT_HOME"]) / "boxes" / f"xenlab-VAGRANTSLASH-{name}"
        assert (vagrant_dir / manifest["version"] / "libvirt" / "box.img").is_file()
    assert lab.manifest("standin")["input_digest"] == lab.manifest("standin-devstack")["input_digest"]


def test_output_calls_it_a_stand_in_and_streams_packer(lab):
    assert "stand-in" in lab.output
    assert "==> build:" in lab.output and "<== build:" in lab.output
    assert "smoke test: stand-in XenAPI simulator answers on port 80" in lab.output
    assert "xenlab/standin" in lab.output


def test_no_secret_in_logs_output_or_rendered_files(lab):
    assert labs.PASSWORD not in lab.output
    secrets_dir = lab.lab_dir / "secrets"
    for path in (lab.root / ".xenlab").rglob("*"):
        if path.is_file() and secrets_dir not in path.parents and path.suffix != ".box":
            assert labs.PASSWORD.encode() not in path.read_bytes(), path
    logs = list((lab.lab_dir / "logs").glob("build-standin-*.log"))
    assert logs and "Waiting for SSH" in logs[0].read_text()


def test_second_build_is_a_no_op(lab):
    before = lab.box().stat().st_mtime_ns
    done = _run_xenlab(lab, "build", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "build: up to date (inputs unchanged), nothing to do" in done.stdout
    assert lab.box().stat().st_mtime_ns == before


def _wait_for_log_line(lab, text, since, seconds=900):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for log in (lab.lab_dir / "logs").glob("build-standin-*.log"):
            if log.stat().st_mtime >= since and text in log.read_text():
                return
        time.sleep(2)
    pytest.fail(f"no {text!r} in a build log within {seconds} s")


def test_killed_build_leaves_the_previous_box_and_next_build_succeeds(lab):
    box_sum = lab.manifest()["sha256"]
    since = time.time()
    proc = subprocess.Popen(["ip", "netns", "exec", lab.netns, *XENLAB, "build", "--force"], cwd=lab.root,
                            env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_log_line(lab, "Waiting for SSH", since)  # QEMU is running the guest now
        assert list(lab.boxes.glob(".build-standin-*"))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, out[-2000:]
    assert "xenlab: interrupted" in out
    assert not list(lab.boxes.glob(".build-*")), "a temporary build directory was left behind"
    assert lab.manifest()["sha256"] == box_sum
    assert hashlib.sha256(lab.box().read_bytes()).hexdigest() == box_sum
    leftovers = [p for p in Path("/proc").glob("[0-9]*/cmdline")
                 if b".build-standin-" in _read(p) and b"qemu" in _read(p)]
    assert not leftovers, "QEMU of the killed build is still running"
    done = _run_xenlab(lab, "build", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_wrong_iso_checksum_is_refused_before_qemu_starts(tmp_path):
    iso = tmp_path / "xcp-ng.iso"
    iso.write_bytes(b"\0" * 65536)
    real = hashlib.sha256(iso.read_bytes()).hexdigest()
    labs.write_toml(tmp_path, "xcp-ng-8.2", extra=f'[iso]\npath = "{iso}"\nchecksum = "sha256:{"a" * 64}"\n')
    done = subprocess.run([*XENLAB, "build"], cwd=tmp_path, env={**os.environ, "XENLAB_PASSWORD": "x1"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert f"sha256:{'a' * 64}" in lines[0] and f"sha256:{real}" in lines[0]
    assert not list((tmp_path / ".xenlab").rglob("build-*.log")), "Packer was started"
    assert not (tmp_path / ".xenlab" / "boxes").exists()
