"""The lab's one secret: where it comes from, what DevStack can carry, and the pin
that keeps a lab on the password it was set up with.

Sources, in order: `XENLAB_PASSWORD`, a 0600 `credentials.password_file`, else one
xenlab generates once per lab into `.xenlab/<lab>/secrets/password` (0600).

A box bakes the password in (dom0's root password, the stand-in's XenAPI), so a
lab must not switch passwords silently: the first stage that runs pins it (a
scrypt hash, 0600) and every later load must give the same one, or stops with a
line saying what to do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from .console import shown
from .files import file_mode, read_text, write_file, write_json
from .paths import LabPaths

ENV_PASSWORD = "XENLAB_PASSWORD"
GENERATED = "generated"
MAX_BYTES = 4096

# What DevStack ussuri/train cannot carry from local.conf into nova.conf:
# lib/... iniset writes values raw (a backslash is dropped, and oslo.config then
# substitutes `$name`), and stack.sh tests the password unquoted (whitespace).
_RULES = (
    (lambda p: not p, "is empty"),
    (lambda p: "\\" in p, "contains a backslash, which DevStack's iniset drops from nova.conf"),
    (lambda p: "$" in p,
     "contains '$': DevStack's iniset writes it raw into nova.conf and oslo.config then reads "
     "'$name' as a reference to another option"),
    (lambda p: any(ch.isspace() for ch in p),
     "contains whitespace or a newline, which DevStack's stack.sh cannot read unquoted"),
    (lambda p: any(ord(ch) < 32 or ord(ch) == 127 for ch in p), "contains a control character"),
    (lambda p: len(p.encode()) > 256, "is longer than 256 bytes"),
)


def check(password: str, source: str) -> None:
    for broken, why in _RULES:
        if broken(password):
            raise ConfigError(f"config error: password from {source} {why}")


def generate() -> str:
    # URL-safe alphabet: nothing that bash, XML or an ini file would treat specially.
    return secrets.token_urlsafe(18)


def read_file(path: Path, setting: str) -> str:
    """A password file: a regular file, mode 0600, UTF-8, first line."""
    text = read_text(path, f"{setting}: {shown(path)}", MAX_BYTES)
    mode = file_mode(path)
    if mode & 0o077:
        raise ConfigError(f"config error: {setting}: {shown(path)} is mode {mode:04o}, must be 0600 (chmod 600 it)")
    return text.split("\n", 1)[0].removesuffix("\r")


def resolve(password_file: str, root: Path, paths: LabPaths, environ: Mapping[str, str]) -> tuple[str, str]:
    """(password, where it came from), checked against DevStack's rules and the lab's pin."""
    if ENV_PASSWORD in environ:
        password, source = environ[ENV_PASSWORD], ENV_PASSWORD
    elif password_file:
        path = Path(password_file).expanduser()
        path = path if path.is_absolute() else root / path
        password, source = read_file(path, "credentials.password_file"), str(path)
    else:
        pinned = read_pin(paths)
        if pinned and pinned.get("source") != GENERATED and not paths.generated_password.exists():
            raise ConfigError(f"config error: lab {paths.lab_dir.name!r} was set up with the password from "
                              f"{pinned['source']}, which is not set now: set it again (xenlab does not store it)")
        if paths.generated_password.exists():
            password = read_file(paths.generated_password, "the generated password")
        else:
            password = generate()
            write_file(paths.generated_password, password + "\n", secret=True)
        source = GENERATED
    check(password, source)
    check_pin(paths, password, source)
    return password, source


# ------------------------------------------------------------------ the pin


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()


def read_pin(paths: LabPaths) -> dict | None:
    try:
        return json.loads(paths.password_pin.read_text())
    except (OSError, ValueError):
        return None


def pin(paths: LabPaths, password: str, source: str) -> None:
    """Fix the lab's password, once; later calls change nothing."""
    if read_pin(paths):
        return
    salt = secrets.token_bytes(16)
    write_json(paths.password_pin, {
        "source": source, "salt": salt.hex(), "scrypt": _hash(password, salt),
        "pinned": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, secret=True)


def check_pin(paths: LabPaths, password: str, source: str) -> None:
    pinned = read_pin(paths)
    if not pinned:
        return
    try:
        ok = hmac.compare_digest(_hash(password, bytes.fromhex(pinned["salt"])), pinned["scrypt"])
    except (KeyError, ValueError, TypeError):
        raise ConfigError(f"config error: {shown(paths.password_pin)} is damaged: remove it and set up "
                          "the lab again (`invoke down --purge`)") from None
    if not ok:
        raise ConfigError(
            f"config error: the password from {source} is not the one lab {paths.lab_dir.name!r} was set up "
            f"with (from {pinned.get('source', '?')}, {pinned.get('pinned', '?')}): use that one, or start "
            "the lab over with the new one (`invoke down --purge`, then `invoke lab`)")


def unpin(paths: LabPaths) -> None:
    paths.password_pin.unlink(missing_ok=True)
