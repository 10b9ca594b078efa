"""Which installer ISO a build uses, and proof that a local one is the right file.

Sources, in order: `iso.path` (a local file), `iso.url` (+ required checksum), else
the flavour's published ISO with the vendor's checksum file. A local file is hashed
here, before any VM starts, and a mismatch is refused with both digests. Digests of
local files are cached by (path, size, mtime) so a no-op build does not re-read a
gigabyte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .state import write_json_atomic

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
CACHE_FILE = "iso-digests.json"


@dataclass(frozen=True)
class Iso:
    url: str  # what Packer's iso_url gets: a URL or a local path
    checksum: str  # what Packer's iso_checksum gets
    local: bool


def file_digest(path: Path, algorithm: str = "sha256", cache_dir: Path | None = None) -> str:
    """Hex digest of a file; cached by path, size and mtime when cache_dir is given."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{algorithm}"
    cache_path = cache_dir / CACHE_FILE if cache_dir else None
    cache: dict[str, str] = {}
    if cache_path and cache_path.is_file():
        try:
            cache = json.loads(cache_path.read_text())
        except ValueError:
            cache = {}
        if key in cache:
            return cache[key]
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(4 * 2**20), b""):
            h.update(block)
    value = h.hexdigest()
    if cache_path:
        write_json_atomic(cache_path, {**cache, key: value})
    return value


def verify(path: Path, checksum: str, cache_dir: Path | None = None) -> str:
    """Checks a local file against "algo:hex"; returns the checksum Packer should get."""
    if not path.is_file():
        raise ConfigError(f"iso.path: {path}: no such file")
    if not checksum or checksum == "none":
        return f"sha256:{file_digest(path, 'sha256', cache_dir)}"
    if checksum.startswith("file:"):
        return checksum  # the vendor's checksum file: Packer fetches and checks it
    algorithm, _, want = checksum.partition(":")
    if algorithm not in ALGORITHMS or not want:
        raise ConfigError(f"iso.checksum: {checksum!r} is not <{'|'.join(ALGORITHMS)}>:<hex> or file:<url>")
    got = file_digest(path, algorithm, cache_dir)
    if got.lower() != want.lower():
        raise ConfigError(f"ISO checksum mismatch for {path}: expected {algorithm}:{want.lower()}, "
                          f"got {algorithm}:{got} (wrong file, or a wrong iso.checksum)")
    return checksum


def resolve(cfg, flavour) -> Iso:
    """The ISO for this build; local files verified now. Not used by the stand-in."""
    cache = cfg.workdir
    if cfg.iso.path:
        path = (cfg.root / cfg.iso.path).expanduser().resolve()
        return Iso(str(path), verify(path, cfg.iso.checksum, cache), True)
    if cfg.iso.url:
        if cfg.iso.url.startswith("file://"):
            path = Path(cfg.iso.url.removeprefix("file://"))
            return Iso(cfg.iso.url, verify(path, cfg.iso.checksum, cache), True)
        return Iso(cfg.iso.url, cfg.iso.checksum, False)
    if not flavour.iso_url:
        raise ConfigError(f"flavour {flavour.name} has no public ISO download: set iso.path to your "
                          f"{flavour.product or flavour.name} ISO in xenlab.toml")
    if flavour.iso_checksum in ("", "none"):
        raise ConfigError(f"flavour file {flavour.path}: iso_url needs an iso_checksum")
    return Iso(flavour.iso_url, flavour.iso_checksum, False)
