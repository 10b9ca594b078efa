"""The lab's lifecycle as data: one ordered list of stages.

Each stage names a module that provides three functions, imported only when the
stage runs (so `invoke --list` stays fast):

    inputs(cfg) -> str         digest of everything the stage's result depends on
    present(cfg) -> bool       is its result still there (box file, running VMs)?
    run(cfg, force=False)      do the work; raise XenlabError on failure

A stage is skipped when its recorded digest equals its current inputs chained
with the previous stage's record and its result is present; otherwise it and
every stage after it run again. `down` is not part of the sequence: it undoes.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from types import ModuleType

from . import console
from .errors import ConfigError
from .state import State, digest


@dataclass(frozen=True)
class Stage:
    name: str
    module: str  # e.g. "xenlab.build"
    summary: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


# The order in which `invoke lab` runs the stages. Each issue that delivers a
# stage adds it here.
SEQUENCE: list[Stage] = [
    Stage("build", "xenlab.build", "Packer builds the lab's box"),
    Stage("up", "xenlab.lab", "bring up the xenserver and devstack machines (vagrant up)"),
    Stage("wire", "xenlab.wire", "XenAPI facts, dom0 plugins and key, DevStack local.conf/nova.conf"),
    Stage("verify", "xenlab.verify", "testinfra checks both hosts"),
]


def names() -> list[str]:
    return [s.name for s in SEQUENCE]


def stage(name: str) -> Stage:
    for s in SEQUENCE:
        if s.name == name:
            return s
    raise ConfigError(f"unknown stage {name!r} (stages: {', '.join(names()) or 'none'})")


def chained_inputs(cfg, st: State, s: Stage) -> str:
    """The stage's own inputs plus the record of the stage before it."""
    index = SEQUENCE.index(s)
    before = st.get(SEQUENCE[index - 1].name) if index else None
    upstream = f"{before['digest']}@{before['finished']}" if before else ""
    return digest(s.load().inputs(cfg), upstream)


def run_stage(cfg, name: str, force: bool = False) -> bool:
    """Run one stage unless it is current. Returns True when it did work."""
    s = stage(name)
    module = s.load()
    st = State(cfg.lab_dir)
    inputs = chained_inputs(cfg, st, s)
    if not force and st.is_current(s.name, inputs) and module.present(cfg):
        console.say(f"==> {s.name}: up to date (inputs unchanged), nothing to do")
        return False
    started = time.monotonic()
    with console.stage(f"{s.name}: {s.summary}"):
        module.run(cfg, force=force)
    # Re-read: the stage may have recorded details of its own.
    st = State(cfg.lab_dir)
    st.record(s.name, inputs, time.monotonic() - started)
    return True


def run_sequence(cfg, force_from: str | None = None) -> None:
    """Run the stages in order; from `force_from` on, each runs even if current."""
    forcing = False
    for s in SEQUENCE:
        if force_from == s.name:
            forcing = True
        run_stage(cfg, s.name, force=forcing)
