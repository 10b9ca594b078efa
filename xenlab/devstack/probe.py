"""Nova's compute probe, host side: the install tree it runs from, and how to run it.

The probe (vagrant/devstack/nova-probe.py) runs Nova 21.2.4's real XenAPI driver on
the devstack machine, which has no uplink. So its dependency set
(vagrant/devstack/nova-probe-requirements.txt: 83 sha256-pinned cp311 wheels) is
downloaded here, on the host, from PyPI with pip in the root namespace, cached under
${XDG_CACHE_HOME:-~/.cache}/xenlab/nova-probe/<digest of the requirements>/, and
installed offline from that cache into a `pip install --target` tree that can be
copied into the machine as it is:

    tree = probe.ensure_tree(log)                        # builds once, then reuses
    run = probe.command(tree_in_guest, nova_conf_in_guest)
    # run.argv: ["/usr/bin/python3", "-S", <script>, "--tree", ..., "--config-file", ...]
    # run.env:  the whole environment to give it (no PYTHONPATH: the tree is all it imports)

It prints one JSON document (the hypervisor as Nova reports it) and exits 0, or one
line naming what failed and exits 1.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..core import proc
from ..core.files import digest, replaced_dir, write_file
from ..core.paths import VAGRANT_SCRIPTS, cache_dir
from ..errors import ToolError

REQUIREMENTS = VAGRANT_SCRIPTS / "devstack" / "nova-probe-requirements.txt"
SCRIPT = VAGRANT_SCRIPTS / "devstack" / "nova-probe.py"
GUEST_PYTHON = "/usr/bin/python3"  # Debian 12's, as the devstack machine has it
# The wheels' platform: CPython 3.11 on manylinux2014 x86_64 (Debian 12's python3 is 3.11).
PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp",
            "--abi", "cp311"]
DOWNLOAD_TIMEOUT = 1200
INSTALL_TIMEOUT = 1200
COMPLETE = ".complete"
# The devstack machine gets the tree on a disk of its own (an ext4 image in the
# libvirt pool), found by its label: nothing to copy over SSH into a slow guest.
IMAGE_LABEL = "xenlab-probe"
IMAGE_SLACK = 64 * 2**20
# pip options that may come from the environment and would change what is resolved
# (find-links, extra indexes, constraints): dropped; the hashes pin every file anyway.
KEPT_PIP_ENV = ("PIP_CERT", "PIP_CLIENT_CERT", "PIP_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
                "PIP_PROXY", "PIP_RETRIES")


@dataclass(frozen=True)
class Run:
    argv: list[str]
    env: dict[str, str]


def requirements_digest() -> str:
    return digest(REQUIREMENTS.read_bytes(), *PLATFORM)[:16]


def cache_root() -> Path:
    return cache_dir() / "nova-probe" / requirements_digest()


def pins() -> list[str]:
    """The `name==version` lines of the requirements (each with its hash)."""
    lines = REQUIREMENTS.read_text().replace("\\\n", " ").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in KEPT_PIP_ENV}
    # No pip.conf either: a machine-wide constraint or find-links must not decide the set.
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _pip(args: list[str], log: Path | None, timeout: float, what: str) -> None:
    proc.run([proc.python(), "-m", "pip", *args], log=log, timeout=timeout, quiet=True, what=what,
             env=_pip_env(), replace_env=True)


def _complete(directory: Path) -> bool:
    return (directory / COMPLETE).is_file()


def ensure_wheels(log: Path | None = None) -> Path:
    """The 83 wheels, downloaded once (hash-checked by pip) into the cache."""
    wheels = cache_root() / "wheels"
    if _complete(wheels):
        return wheels
    with replaced_dir(wheels) as tmp:
        _pip(["download", "--no-deps", "--only-binary=:all:", *PLATFORM, "--require-hashes", "-r",
              str(REQUIREMENTS), "-d", str(tmp), "-q"], log, DOWNLOAD_TIMEOUT, "pip download (Nova probe wheels)")
        got = sorted(tmp.glob("*.whl"))
        if len(got) != len(pins()):
            raise ToolError(f"pip download gave {len(got)} wheels for {len(pins())} pins in {REQUIREMENTS}")
        write_file(tmp / COMPLETE, "".join(f"{w.name}\n" for w in got))
    return wheels


def tree_dir() -> Path:
    """Where the install tree is (or will be) for these requirements."""
    return cache_root() / "tree"


def inputs() -> str:
    """What a machine that runs the probe is given: the pinned set and the script."""
    return digest(REQUIREMENTS.read_bytes(), SCRIPT.read_bytes(), *PLATFORM)


def ensure_tree(log: Path | None = None) -> Path:
    """The install tree (`pip install --target`, --no-deps, offline from the cached wheels).

    Built once per requirements digest, atomically (a temporary tree renamed into
    place), so an interrupted build is never taken for a finished one."""
    tree = tree_dir()
    if _complete(tree):
        return tree
    wheels = ensure_wheels(log)
    with replaced_dir(tree) as tmp:
        _pip(["install", "--no-index", "--find-links", str(wheels), "--no-deps", "--require-hashes", "-r",
              str(REQUIREMENTS), "--target", str(tmp), "-q"], log, INSTALL_TIMEOUT,
             "pip install --target (Nova probe tree)")
        # Test suites are not the probe's to run: a third of the tree, gone.
        for tests in tmp.glob("*/tests"):
            if tests.is_dir():
                shutil.rmtree(tests)
        write_file(tmp / COMPLETE, requirements_digest() + "\n")
    return tree


def image_path() -> Path:
    return cache_root() / "tree.img"


def volume_name() -> str:
    """The image's name in the libvirt pool (shared by every lab that uses this set)."""
    return f"xenlab-nova-probe-{requirements_digest()}.img"


def ensure_image(log: Path | None = None) -> Path:
    """An ext4 file system image holding the install tree (`mkfs.ext4 -d`: no mount, no root)."""
    image = image_path()
    if image.is_file():
        return image
    tree = ensure_tree(log)
    size = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())
    blocks = (size * 3 // 2 + IMAGE_SLACK) // 4096  # room for metadata and inodes
    tmp = image.with_name(f".{image.name}.{os.getpid()}.tmp")
    try:
        proc.run([proc.require("mkfs.ext4"), "-q", "-F", "-L", IMAGE_LABEL, "-b", "4096", "-d", str(tree),
                  str(tmp), str(blocks)], log=log, timeout=600, quiet=True, what="mkfs.ext4 (Nova probe disk)")
        os.replace(tmp, image)
    finally:
        tmp.unlink(missing_ok=True)
    return image


def command(tree: str | Path, nova_conf: str | Path, script: str | Path = SCRIPT, refreshes: int = 0,
            python: str = GUEST_PYTHON, serve: str | Path | None = None) -> Run:
    """How to run the probe (once, or as a service on a socket), with paths as the machine that runs it sees them."""
    argv = [python, "-S", str(script), "--tree", str(tree), "--config-file", str(nova_conf)]
    if refreshes:
        argv += ["--refreshes", str(refreshes)]
    if serve:
        argv += ["--serve", str(serve)]
    # A bare environment: no PYTHONPATH or user site can add anything to the tree.
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp",
           "PYTHONDONTWRITEBYTECODE": "1"}
    return Run(argv, env)


# Asks the probe service for a report: connects (the service may still be starting:
# retried, bounded), sends the request line if there is one, reads the answer to its
# end, prints it. Standard library only.
ASK = """\
import socket, sys, time
path, limit = sys.argv[1], float(sys.argv[2])
request = sys.argv[3].encode() + b"\\n" if len(sys.argv) > 3 else b""
deadline = time.monotonic() + limit
while True:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(max(1.0, deadline - time.monotonic()))
    try:
        s.connect(path)
        break
    except OSError as exc:
        s.close()
        if time.monotonic() >= deadline:
            sys.exit("nova-probe service: no answer on %s within %.0f s (%s)" % (path, limit, exc))
        time.sleep(1)
if request:
    s.sendall(request)
    s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"""


def ask(socket_path: str | Path, timeout: float = 240, python: str = GUEST_PYTHON, request: str = "") -> list[str]:
    """argv that asks a running probe service for a fresh report (or, with `request`, that line's answer)."""
    return [python, "-S", "-c", ASK, str(socket_path), str(timeout), *([request] if request else [])]
