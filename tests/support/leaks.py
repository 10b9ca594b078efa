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


def lab_logs(root: Path) -> list[Path]:
    """Every log a lab under root holds (.xenlab/<lab>/logs/*)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name == "logs"
                  and ".xenlab" in p.parts)


def logs_not_private_or_not_redacted(root: Path, secrets: set[str]) -> list[str]:
    """Lab logs under root that others may read, or that hold one of the secrets."""
    bad = []
    for path in lab_logs(root):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != 0o600:
            bad.append(f"{path} is {mode:04o}, not 0600")
        data = path.read_bytes()
        bad += [f"{path} holds a password" for secret in secrets if secret and secret.encode() in data]
    return bad
