"""A wrong ISO is refused before anything starts: one line, both digests, exit 2."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.support import labs

XENLAB = str(Path(sys.executable).parent / "xenlab")


def test_wrong_iso_checksum_is_refused_before_qemu_starts(tmp_path):
    iso = tmp_path / "xcp-ng.iso"
    iso.write_bytes(b"\0" * 65536)
    real = hashlib.sha256(iso.read_bytes()).hexdigest()
    labs.write_toml(tmp_path, "xcp-ng-8.3", extra=f'[iso]\npath = "{iso}"\nchecksum = "sha256:{"a" * 64}"\n')
    done = subprocess.run([XENLAB, "build"], cwd=tmp_path, env={**os.environ, "XENLAB_PASSWORD": "x1"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert f"sha256:{'a' * 64}" in lines[0] and f"sha256:{real}" in lines[0]
    assert not list((tmp_path / ".xenlab").rglob("build-*.log")), "Packer was started"
    assert not (tmp_path / ".xenlab" / "boxes").exists()
