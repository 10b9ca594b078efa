"""A minimal Nova checkout for devstack.nova_src: the package, its XenAPI driver, a git HEAD."""

from __future__ import annotations

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
