"""Nova checkouts for devstack.nova_src: a minimal one (the package, its XenAPI driver, a git
HEAD), and Nova 21.2.4's own package with a planted change to its XenAPI driver."""

from __future__ import annotations

import shutil
from pathlib import Path

from xenlab.core import config


def make(path: Path, branch: str | None = "my-fix", detached: str = "0" * 40) -> Path:
    """nova/__init__.py and the XenAPI driver; .git/HEAD on `branch` (None: a detached HEAD)."""
    for name in ("nova/__init__.py", config.NOVA_XENAPI_DRIVER, "nova/virt/xenapi/host.py"):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(f"# {name}\n")
    (path / ".git").mkdir(exist_ok=True)
    (path / ".git/HEAD").write_text(f"ref: refs/heads/{branch}\n" if branch else f"{detached}\n")
    return path


PLANTED_VCPUS = 97
PLANTED_SUFFIX = "-planted"
# Planted in nova/virt/xenapi/host.py HostState.update_status, where the driver's host
# stats are made: vcpus comes from host_cpu_info's cpu_count, the hypervisor's name
# from host_hostname (nova 21.2.4 nova/virt/xenapi/driver.py get_available_resource).
ANCHOR = "            data['hypervisor_hostname'] = data['host_hostname']\n"
PLANT = (f"            data['host_cpu_info']['cpu_count'] = {PLANTED_VCPUS}\n"
         f"            if not data['host_hostname'].endswith({PLANTED_SUFFIX!r}):\n"
         f"                data['host_hostname'] += {PLANTED_SUFFIX!r}\n")


def planted(tree: Path, into: Path) -> Path:
    """A checkout holding the probe tree's Nova (21.2.4) with the change planted in its XenAPI driver,
    and a test module under nova/tests (which is not synced)."""
    shutil.copytree(tree / "nova", into / "nova", ignore=shutil.ignore_patterns("__pycache__"))
    host = into / "nova/virt/xenapi/host.py"
    text = host.read_text()
    assert text.count(ANCHOR) == 1, "nova/virt/xenapi/host.py is not Nova 21.2.4's"
    host.write_text(text.replace(ANCHOR, PLANT + ANCHOR))
    (into / "nova/tests").mkdir(exist_ok=True)
    (into / "nova/tests/test_x.py").write_text("not synced\n")
    return into
