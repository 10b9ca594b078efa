"""Checks that a secret appears nowhere it must not."""

from __future__ import annotations

import stat
from pathlib import Path


def files_leaking(secret: str, root: Path) -> list[str]:
    """Files under root that hold the secret but are readable by others than the owner."""
    leaks = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077 and secret.encode() in path.read_bytes():
                leaks.append(f"{path} ({mode:04o})")
    return leaks


def assert_no_leak(secret: str, root: Path, *outputs: str) -> None:
    for text in outputs:
        assert secret not in text, "secret printed"
    assert files_leaking(secret, root) == []
