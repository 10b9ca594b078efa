"""os-xenapi's dom0 plugins: the sdist from PyPI, pinned by sha256, and the plugin
files in it (os_xenapi/dom0/etc/xapi.d/plugins/*, which run as root in dom0).

The sdist is downloaded once on the host (pip, in the root namespace: lab machines
have no uplink) into ${XDG_CACHE_HOME:-~/.cache}/xenlab/os-xenapi/ and checked
against the digest below every time it is used.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

from ..core import proc
from ..core.files import ensure_dir, file_digest, write_file
from ..core.paths import cache_dir
from ..errors import ToolError

PLUGIN_PREFIX = "os_xenapi/dom0/etc/xapi.d/plugins/"
# sha256 of each os-xenapi sdist xenlab may install, as PyPI serves it
# (https://pypi.org/project/os-xenapi/0.3.4/#files).
SDIST_SHA256 = {
    "0.3.4": "85d9d4bff4086a9c36eb9b2b9dfce542fa8336821a63826180dc0e8637e8ad72",
}


def pinned(version: str) -> str:
    try:
        return SDIST_SHA256[version]
    except KeyError:
        raise ToolError(f"os-xenapi {version} has no pinned sha256 (known: {', '.join(sorted(SDIST_SHA256))}): "
                        "add it to xenlab/xenserver/osxenapi.py SDIST_SHA256") from None


def sdist_dir(version: str) -> Path:
    return cache_dir() / "os-xenapi" / version


def _checked(path: Path, version: str) -> Path:
    got = file_digest(path)
    if got != pinned(version):
        raise ToolError(f"{path}: sha256 {got} is not os-xenapi {version}'s pinned {pinned(version)}: "
                        "remove the file to fetch it again")
    return path


def sdist(version: str, log: Path | None = None) -> Path:
    """The os-xenapi sdist, downloaded once into the cache and checked against its pin."""
    want = pinned(version)
    target = sdist_dir(version)
    found = sorted(target.glob(f"os*xenapi-{version}.tar.gz"))
    if found:
        return _checked(found[0], version)
    ensure_dir(target)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        # pip checks the hash itself (--require-hashes), before anything is kept.
        requirements = Path(tmp) / "requirements.txt"
        write_file(requirements, f"os-xenapi=={version} --hash=sha256:{want}\n")
        proc.run([proc.python(), "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--require-hashes",
                  "--disable-pip-version-check", "-q", "-d", tmp, "-r", requirements],
                 log=log, timeout=300, quiet=True, what="pip download os-xenapi")
        got = sorted(Path(tmp).glob("*.tar.gz"))
        if not got:
            raise ToolError(f"pip download os-xenapi=={version} gave no sdist")
        final = target / got[0].name
        os.replace(got[0], final)
    return _checked(final, version)


def plugins(sdist_path: Path) -> dict[str, bytes]:
    """The dom0 plugin files in the sdist, by name."""
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(sdist_path) as tar:
            for member in tar.getmembers():
                _, sep, rest = member.name.partition(PLUGIN_PREFIX)
                if sep and member.isfile() and rest and "/" not in rest:
                    out[rest] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError) as exc:
        raise ToolError(f"{sdist_path}: not a readable os-xenapi sdist ({exc})") from None
    if "dom0_plugin_version.py" not in out:
        raise ToolError(f"{sdist_path}: no dom0 plugins in it")
    return out
