"""The tool list against this Debian machine: the packages it names really provide
the tools, and ./bootstrap can read it with the system python3 before .venv exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.prereq import missing, require_tool
from xenlab.core import hosttools
from xenlab.core.paths import PROJECT_DIR

SYSTEM_PYTHON = "/usr/bin/python3"
SYSTEM_DIRS = "/usr/sbin:/usr/bin:/sbin:/bin"


def dpkg(*argv: str) -> str:
    return subprocess.run(["dpkg-query", *argv], capture_output=True, text=True, timeout=60).stdout


def owner(path: str) -> str | None:
    """The package that installed `path` (Debian registers /usr/sbin/x as /sbin/x, or the other way)."""
    real = os.path.realpath(path)
    for candidate in dict.fromkeys([path, real, re.sub(r"^/usr", "", path), re.sub(r"^/usr", "", real)]):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, timeout=60).stdout
        # A diverted file (dash diverts /bin/sh) is listed with its diversions first.
        owners = [line.split(":", 1)[0] for line in out.splitlines() if not line.startswith("diversion by ")]
        if owners:
            return owners[0]
    return None


def depends(package: str, depth: int = 2) -> set[str]:
    """The package and what it depends on, `depth` levels down (alternatives included)."""
    found, frontier = {package}, {package}
    for _ in range(depth):
        names = set()
        for pkg in frontier:
            names |= set(re.findall(r"([a-z0-9][a-z0-9+.-]+)(?::\w+)?(?: \([^)]*\))?",
                                    dpkg("-W", "-f=${Depends},${Pre-Depends}", pkg)))
        frontier = names - found
        found |= names
    return found


def test_each_listed_package_provides_its_tool_here():
    require_tool("dpkg", "dpkg-query")
    checked = 0
    for tool in hosttools.tools():
        # Where Debian puts it (this machine's PATH also holds pyenv's shims).
        path = shutil.which(tool.name, path=SYSTEM_DIRS)
        if not tool.install or path is None:
            continue  # not installed here (VirtualBox); doctor and the preflight say so
        pkg = owner(path)
        assert pkg is not None, f"{tool.name}: {path} belongs to no package (installed by hand?)"
        assert pkg in depends(tool.package), f"{tool.name}: {path} is from {pkg}, not from {tool.package}"
        checked += 1
    assert checked >= 20


def test_bootstrap_reads_the_list_with_the_system_python():
    if not Path(SYSTEM_PYTHON).is_file():
        missing("no /usr/bin/python3")
    done = subprocess.run([SYSTEM_PYTHON, "-E", "-s", "-m", "xenlab.core.hosttools", "packages"], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == hosttools.packages()


def test_every_package_bootstrap_installs_is_installed_here():
    require_tool("dpkg-query")
    absent = [p for p in hosttools.packages() if "install ok installed" not in dpkg("-W", "-f=${Status}", p)]
    assert absent == [], f"run ./bootstrap: {absent}"


@pytest.mark.parametrize("line", ["mapfile -t PACKAGES < <(\"$PY\" -m xenlab.core.hosttools packages)"])
def test_bootstrap_installs_from_the_list_and_nothing_else(line):
    text = (PROJECT_DIR / "bootstrap").read_text()
    assert line in text
    assert "apt_get install -y -qq --no-install-recommends \"${missing[@]}\"" in text
