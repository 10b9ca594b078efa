"""The one place for file writes and digests.

Every write is atomic (a temporary file beside the target, then rename), so a
reader never sees half a file, even after a crash; files that hold a secret are
0600 from the first byte, in a folder only their owner can enter. Digests are
length-prefixed, so parts cannot blur into each other; digests of secrets are
keyed with a per-lab key, so a digest in a world-readable file reveals nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

SECRET_MODE, PUBLIC_MODE = 0o600, 0o644
CHUNK = 4 * 2**20


class NotRegular(OSError):
    """Not a regular file (a directory, FIFO, device...): never read as one."""


class TooLarge(OSError):
    """Longer than the caller allows."""


def read_regular(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them; a FIFO or a device never blocks or streams.

    Raises NotRegular, TooLarge, or the OSError of opening it.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(f"{path} is not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise TooLarge(f"{path} is larger than {limit} bytes")
    return b"".join(chunks)


def read_text(path: Path, what: str, limit: int) -> str:
    """A user's file as UTF-8 text (regular, at most `limit` bytes), or one ConfigError line
    that starts with `what` (e.g. "--config ./xenlab.toml")."""
    from ..errors import ConfigError

    try:
        data = read_regular(path, limit)
    except FileNotFoundError:
        dangling = os.path.lexists(path)
        raise ConfigError(f"config error: {what}: no such file{' (a dangling symlink)' if dangling else ''}") from None
    except NotRegular:
        raise ConfigError(f"config error: {what}: not a regular file") from None
    except TooLarge:
        raise ConfigError(f"config error: {what}: larger than {limit} bytes") from None
    except OSError as exc:
        raise ConfigError(f"config error: {what}: cannot read: {exc.strerror}") from None
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config error: {what}: not UTF-8 (byte {exc.start})") from None


def file_mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write_file(path: Path, data: bytes | str, secret: bool = False, mode: int | None = None) -> bool:
    """Write `data` atomically; False when the file already held exactly it (with its mode)."""
    data = data.encode() if isinstance(data, str) else data
    mode = mode if mode is not None else (SECRET_MODE if secret else PUBLIC_MODE)
    if path.is_file() and stat.S_IMODE(path.stat().st_mode) == mode and path.read_bytes() == data:
        return False
    ensure_dir(path.parent, private=secret)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def write_json(path: Path, data: Any, secret: bool = False) -> bool:
    return write_file(path, json.dumps(data, indent=2, sort_keys=True) + "\n", secret=secret)


def ensure_dir(path: Path, private: bool = False) -> Path:
    """A directory (and its parents); `private` ones are 0700."""
    if private:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    else:
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def replaced_dir(target: Path):
    """A fresh folder beside `target` that takes its place when the block ends well:
    an interrupted build never leaves half a tree where a finished one is looked for."""
    ensure_dir(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_log(path: Path):
    """A log opened for appending, 0600: tool output can quote secrets we cannot foresee."""
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, SECRET_MODE)
    os.fchmod(fd, SECRET_MODE)
    return os.fdopen(fd, "a", errors="replace")


# ------------------------------------------------------------------ digests


def digest(*parts: str | bytes) -> str:
    """A stable digest of the given parts."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def tree_files(root: Path) -> list[Path]:
    """A file, or the files under a directory in sorted order (no bytecode)."""
    if not root.is_dir():
        return [root] if root.is_file() else []
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def digest_tree(*roots: Path) -> str:
    """Digest of file names (relative to each root's parent) and contents."""
    parts: list[str | bytes] = []
    for root in roots:
        for f in tree_files(root):
            parts += [str(f.relative_to(root.parent)), f.read_bytes()]
    return digest(*parts)


def file_digest(path: Path, algorithm: str = "sha256", cache: Path | None = None) -> str:
    """Hex digest of a file's content; cached by path, size and mtime in `cache` (a JSON file)."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{algorithm}"
    known: dict[str, str] = {}
    if cache and cache.is_file():
        try:
            known = json.loads(cache.read_text())
        except ValueError:
            known = {}
        if key in known:
            return known[key]
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    value = h.hexdigest()
    if cache:
        write_json(cache, {**known, key: value})
    return value


def _key(key_file: Path) -> bytes:
    """The key, made once: written whole beside it, then linked into place (link fails if a
    key is there), so two processes, two labs' builds say, never make or read two keys."""
    if not key_file.is_file():
        ensure_dir(key_file.parent, private=True)
        fd, tmp = tempfile.mkstemp(prefix=".key-", dir=key_file.parent)  # 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return key_file.read_bytes()


def keyed_digest(key_file: Path, *parts: str | bytes) -> str:
    """HMAC of `parts` with the key in `key_file` (made once, 0600)."""
    return hmac.new(_key(key_file), digest(*parts).encode(), hashlib.sha256).hexdigest()
