"""The systemd units xenlab puts into boxes: valid for systemd, and none of them can
deadlock first boot the way the old first-boot unit did."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.prereq import require_tool
from xenlab.core.paths import PROJECT_DIR

UNITS = sorted((PROJECT_DIR / "packer" / "scripts").rglob("*.service")) + \
    sorted((PROJECT_DIR / "packer" / "scripts").rglob("*.target"))
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def _execs(path: Path) -> list[str]:
    unit = _unit(path)
    if not unit.has_section("Service"):
        return []
    return [v.split()[0].lstrip("-@") for k, v in unit.items("Service") if k.startswith("Exec") and v.strip()]


def test_there_are_units_to_check():
    names = {p.name for p in UNITS}
    assert {"xapi.service", "network-init.service", "storage-init.service", "xenlab-new-identity.service"} <= names


def test_systemd_accepts_every_unit(tmp_path):
    """systemd-analyze verify in a root holding the system's own units, ours, and stub
    executables at the paths our units start."""
    require_tool("systemd-analyze")
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    targets = []
    for path in UNITS:
        dest = root / "usr/lib/systemd/system" / path.name
        shutil.copy(path, dest)
        targets.append(str(dest))
        for exe in _execs(path):
            stub = root / exe.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    done = subprocess.run(["systemd-analyze", f"--root={root}", "verify", *targets],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_no_unit_ordered_before_xapi_starts_a_unit(path):
    """A oneshot ordered Before=xapi.service that starts xapi waits for itself: oneshot
    units have no start timeout by default (systemd.service(5))."""
    unit = _unit(path)
    before = unit.get("Unit", "Before", fallback="") if unit.has_section("Unit") else ""
    if "xapi.service" not in before.split():
        return
    for command in (v for k, v in unit.items("Service") if k.startswith("Exec")):
        assert not re.search(r"\bsystemctl\b.*\b(start|restart|isolate)\b", command), (path.name, command)
    for script in _execs(path):
        local = next((p for p in (PROJECT_DIR / "packer" / "scripts").rglob(Path(script).name)), None)
        if local:
            assert not re.search(r"\bsystemctl\b[^\n]*\b(start|restart|isolate)\b", local.read_text()), local
