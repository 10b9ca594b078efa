"""Which installer ISO a build uses, and proof that a local one is the right file.

Sources, in order: `iso.path` (a local file), `iso.url` (+ required checksum), else
the flavour's published ISO pinned to the vendor's published checksum. A local file is hashed
here, before any VM starts, and a mismatch is refused with both digests. Digests of
local files are cached by (path, size, mtime) so a no-op build does not re-read a
gigabyte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.files import file_digest
from ..errors import ConfigError

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")


@dataclass(frozen=True)
class Iso:
    url: str  # what Packer's iso_url gets: a URL or a local path
    checksum: str  # what Packer's iso_checksum gets
    local: bool


def verify(path: Path, checksum: str, cache: Path | None = None) -> str:
    """Checks a local file against "algo:hex"; returns the checksum Packer should get."""
    if not path.is_file():
        raise ConfigError(f"iso.path: {path}: no such file")
    if not checksum or checksum == "none":
        return f"sha256:{file_digest(path, 'sha256', cache)}"
    if checksum.startswith("file:"):
        return checksum  # the vendor's checksum file: Packer fetches and checks it
    algorithm, _, want = checksum.partition(":")
    if algorithm not in ALGORITHMS or not want:
        raise ConfigError(f"iso.checksum: {checksum!r} is not <{'|'.join(ALGORITHMS)}>:<hex> or file:<url>")
    got = file_digest(path, algorithm, cache)
    if got.lower() != want.lower():
        raise ConfigError(f"ISO checksum mismatch for {path}: expected {algorithm}:{want.lower()}, "
                          f"got {algorithm}:{got} (wrong file, or a wrong iso.checksum)")
    return checksum


def resolve(cfg, flavour) -> Iso:
    """The ISO for this build; local files verified now. Not used by the stand-in."""
    cache = cfg.paths.iso_digests
    if cfg.iso_path:
        path = cfg.iso_path.resolve()
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
