"""The object store on disk (`--state-db`), and /etc/xensource-inventory.

Like XAPI's /var/lib/xcp/state.db it holds every object but sessions (and tasks), is
written after each change and read at start; unlike it, it is JSON. Every write is
atomic: a temporary file beside it, fsync, rename, so a crash leaves the old or the
new database, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import xmlrpc.client
from pathlib import Path

from .store import TRANSIENT, Store

FORMAT = "xenlab-sim-state"
VERSION = 1
MAX_SIZE = 64 * 2**20  # a larger file is not a state database this simulator wrote


class StateError(Exception):
    """The state database cannot be read (one line for the user)."""


def _encode(value):
    if isinstance(value, xmlrpc.client.DateTime):
        return {"__datetime__": value.value}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict):
    if len(obj) == 1 and "__datetime__" in obj:
        return xmlrpc.client.DateTime(obj["__datetime__"])
    return obj


def save(store: Store, path: Path) -> None:
    classes = {cls: records for cls, records in store.classes.items() if cls not in TRANSIENT}
    data = json.dumps({"format": FORMAT, "version": VERSION, "classes": classes}, default=_encode,
                      sort_keys=True).encode()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(store: Store, path: Path) -> None:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SIZE:
            raise StateError(f"{path} is larger than {MAX_SIZE} bytes")
        data = json.loads(path.read_bytes(), object_hook=_decode)
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise StateError(f"{path} is not a state database ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise StateError(f"{path} is not a {FORMAT} version {VERSION} file")
    classes = data.get("classes")
    if not isinstance(classes, dict) or not all(isinstance(r, dict) for r in classes.values()):
        raise StateError(f"{path}: malformed classes")
    for cls, records in classes.items():
        store.classes[cls] = records


def read_inventory(path: Path) -> dict[str, str]:
    """KEY='value' lines, as /etc/xensource-inventory holds them (shell syntax, single quotes)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise StateError(f"cannot read inventory {path}: {exc.strerror}") from None
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*([A-Z0-9_]+)=(.*)$", line)
        if m:
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            out[m.group(1)] = value
    return out
