"""`plan`: render what the stages and Vagrant need before anything runs; run no tool.

Pure: the same Config gives byte-identical files, none of them secret. plan owns
exactly these files; what a stage renders from what it learns (wire's local.conf
and nova.conf, say) is that stage's to write, never plan's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core import console
from ..core.files import write_file
from ..images import packer
from ..machines import labspec


@dataclass(frozen=True)
class Artifact:
    path: str  # a LabPaths attribute
    renderer: Callable  # called with the Config, returns str or bytes

    def render(self, cfg) -> bytes:
        out = self.renderer(cfg)
        return out.encode() if isinstance(out, str) else out


ARTIFACTS: list[Artifact] = [
    Artifact("spec", labspec.render),
    Artifact("packer_vars", packer.render_vars),
    # .xenlab/active: which lab a plain `vagrant up` in the checkout brings up.
    Artifact("active", labspec.render_active),
]


def render_all(cfg, quiet: bool = False) -> list[Path]:
    """Render every artifact; returns the paths written, changed or not."""
    paths = []
    for artifact in ARTIFACTS:
        path = getattr(cfg.paths, artifact.path)
        changed = write_file(path, artifact.render(cfg))
        paths.append(path)
        if not quiet:
            console.say(f"    {'wrote' if changed else 'unchanged':9} {path.relative_to(cfg.root)}")
    return paths
