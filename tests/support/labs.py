"""Helpers that make a lab directory with a xenlab.toml and load its Config."""

from __future__ import annotations

from pathlib import Path

from xenlab.core import config

PASSWORD = "pw<&\"'#x!`"  # XML, shell and HCL specials: must survive every hop


def write_toml(root: Path, flavour: str = "standin", name: str = "t", extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "xenlab.toml"
    path.write_text(f'[lab]\nname = "{name}"\nflavour = "{flavour}"\naccelerator = "tcg"\n{extra}')
    return path


def load(root: Path, flavour: str = "standin", extra: str = "", password: str = PASSWORD, **env) -> config.Config:
    path = write_toml(root, flavour, extra=extra)
    return config.load(path, environ={"XENLAB_PASSWORD": password, **env})
