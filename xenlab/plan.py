"""`plan`: render every artifact the later stages need, run no tool.

Pure: the same Config gives byte-identical files. Each artifact names the
function that renders it; stages add theirs to ARTIFACTS. Files that hold a
secret are written 0600 and everything else 0644.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from . import console


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to .xenlab/<lab>/
    renderer: str  # "module:function", called with the Config, returns str or bytes
    secret: bool = False

    def render(self, cfg) -> bytes:
        module, func = self.renderer.split(":")
        out = getattr(importlib.import_module(module), func)(cfg)
        return out.encode() if isinstance(out, str) else out


ARTIFACTS: list[Artifact] = [
    Artifact("lab.json", "xenlab.labspec:render"),
    Artifact("packer.pkrvars.json", "xenlab.packer:render_vars"),
    Artifact("devstack/local.conf", "xenlab.devstack:render_local_conf", secret=True),
    Artifact("devstack/nova.conf", "xenlab.devstack:render_nova_conf", secret=True),
    # .xenlab/active: which lab a plain `vagrant up` in the checkout brings up.
    Artifact("../active", "xenlab.labspec:render_active"),
]


def write_file(path: Path, data: bytes, secret: bool) -> bool:
    """Write atomically with the right mode; returns False when nothing changed."""
    mode = 0o600 if secret else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), mode)
        fh.write(data)
    os.replace(tmp, path)
    return True


def render_all(cfg, quiet: bool = False) -> list[Path]:
    """Render every artifact; returns the paths written, changed or not."""
    paths = []
    for artifact in ARTIFACTS:
        path = cfg.lab_dir / artifact.path
        changed = write_file(path, artifact.render(cfg), artifact.secret)
        paths.append(path)
        if not quiet:
            mark = "wrote" if changed else "unchanged"
            mode = " (0600, holds a secret)" if artifact.secret else ""
            console.say(f"    {mark:9} {path.relative_to(cfg.root)}{mode}")
    return paths
