"""Flavour data: the small `packer/flavours/<name>.pkrvars.hcl` files.

A flavour is data for the Packer templates (ISO, checksum, boot line, installer
quirks); xenlab reads the few values it needs itself (is it the stand-in, which ISO,
which answerfile quirks) from the same file, so adding a version is one file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from .errors import ConfigError

STANDIN = "standin"


@dataclass(frozen=True)
class Flavour:
    name: str
    kind: str  # "xenserver" or "standin"
    product: str
    iso_url: str
    iso_checksum: str
    network_backend: str
    path: Path

    @property
    def standin(self) -> bool:
        return self.kind == STANDIN

    @property
    def box_name(self) -> str:
        return f"xenlab/{self.name}"


def plain(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on strings: give back the string itself."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def read(path: Path) -> dict[str, Any]:
    try:
        with path.open() as fh:
            raw = hcl2.load(fh)
    except OSError as exc:
        raise ConfigError(f"flavour file {path}: {exc.strerror}") from None
    except Exception as exc:  # python-hcl2 raises lark errors of several kinds
        raise ConfigError(f"flavour file {path}: not valid HCL: {str(exc).splitlines()[0]}") from None
    return {k: plain(v) for k, v in raw.items() if not k.startswith("__")}


def load(cfg) -> Flavour:
    data = read(cfg.flavour_file)
    kind = data.get("kind", "xenserver")
    if kind not in ("xenserver", STANDIN):
        raise ConfigError(f"flavour file {cfg.flavour_file}: kind must be xenserver or standin, not {kind!r}")
    return Flavour(
        name=data.get("flavour", cfg.lab.flavour),
        kind=kind,
        product=data.get("product", ""),
        iso_url=data.get("iso_url", ""),
        iso_checksum=data.get("iso_checksum", "none"),
        network_backend=data.get("network_backend", ""),
        path=cfg.flavour_file,
    )
