"""The lab's lifecycle as data: one ordered list of stages, and it is what runs.

Each stage holds the object (a stage module, or a MachineStage) that provides

    inputs(cfg) -> str         digest of everything the stage's result depends on
    present(cfg) -> bool       is its result still there (box file, running VM)?
    run(cfg, force=False)      do the work; raise XenlabError on failure

A stage is skipped when its recorded digest equals its current inputs chained
with the recorded digest of the stage before it, and its result is present;
otherwise it runs again. A stage's inputs include what it consumes of earlier
stages (the box version, wire's files, the host's facts), so an earlier stage
that runs again but changes nothing another stage uses does not make it run;
one whose inputs changed makes every stage after it run.

Machine stages are the ones Vagrant can run by itself, one per row of the lab's
machine table (machines.labspec.TABLE). On a plain `vagrant up` the Vagrantfile
calls `xenlab vagrant-hook` (stages/hook.py): after a machine is up, its stage is
recorded exactly as `run_stage` would record it; when a machine's provisioning
starts, the stages that feed it (those since the machine stage before it: wire)
run. When xenlab drives Vagrant (XENLAB_DRIVEN set), the hook leaves all that to
it. `down` is not part of the sequence: it undoes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..core import console, password
from ..core.files import digest
from ..core.state import State
from ..errors import ConfigError
from ..machines.labspec import machine as machine_row
from . import build, machine, verify, wire


@dataclass(frozen=True)
class Stage:
    name: str
    target: object  # inputs(cfg), present(cfg), run(cfg, force)
    summary: str
    machine: str = ""  # the Vagrant machine this stage brings up, if any


def _up(name: str) -> Stage:
    row = machine_row(name)
    return Stage(row.stage, machine.STAGES[name], row.summary, machine=name)


SEQUENCE: list[Stage] = [
    Stage("build", build, "Packer builds the lab's boxes"),
    _up("xenserver"),
    Stage("wire", wire, "XenAPI facts, dom0 plugins and key, DevStack local.conf/nova.conf"),
    _up("devstack"),
    Stage("verify", verify, "testinfra checks both hosts"),
]


def names() -> list[str]:
    return [s.name for s in SEQUENCE]


def stage(name: str) -> Stage:
    for s in SEQUENCE:
        if s.name == name:
            return s
    raise ConfigError(f"unknown stage {name!r} (stages: {', '.join(names()) or 'none'})")


def machine_stage(machine: str) -> Stage:
    for s in SEQUENCE:
        if s.machine == machine:
            return s
    raise ConfigError(f"no stage brings up a machine called {machine!r}")


def machine_span() -> list[str]:
    """From the first machine stage to the last: what `invoke up` runs."""
    index = [i for i, s in enumerate(SEQUENCE) if s.machine]
    return names()[index[0]:index[-1] + 1] if index else []


def between(name: str) -> list[str]:
    """The stages after `name` up to the next machine stage (none after the last one)."""
    after = SEQUENCE[SEQUENCE.index(stage(name)) + 1:]
    upto = next((i for i, s in enumerate(after) if s.machine), None)
    return [s.name for s in after[:upto]] if upto is not None else []


def feeding(name: str) -> list[str]:
    """The stages that feed machine stage `name`: those since the machine stage before it."""
    before = [s for s in SEQUENCE[:SEQUENCE.index(stage(name))] if s.machine]
    return between(before[-1].name) if before else []


def chained_inputs(cfg, st: State, s: Stage) -> str:
    """The stage's own inputs plus the recorded digest of the stage before it."""
    index = SEQUENCE.index(s)
    before = st.get(SEQUENCE[index - 1].name) if index else None
    return digest(s.target.inputs(cfg), before["digest"] if before else "")


def is_current(cfg, name: str) -> bool:
    s = stage(name)
    st = State(cfg.paths.state)
    return st.is_current(s.name, chained_inputs(cfg, st, s)) and s.target.present(cfg)


def pending(cfg) -> list[str]:
    """The stages from the first one that is not current on: what `lab` would run."""
    st = State(cfg.paths.state)
    for i, s in enumerate(SEQUENCE):
        if not (st.is_current(s.name, chained_inputs(cfg, st, s)) and s.target.present(cfg)):
            return names()[i:]
    return []


def say_current(name: str) -> None:
    console.say(f"==> {name}: up to date (inputs unchanged), nothing to do")


def run_stage(cfg, name: str, force: bool = False) -> bool:
    """Run one stage unless it is current. Returns True when it did work."""
    s = stage(name)
    target = s.target
    st = State(cfg.paths.state)
    inputs = chained_inputs(cfg, st, s)
    if not force and st.is_current(s.name, inputs) and target.present(cfg):
        say_current(s.name)
        return False
    # From here on the lab holds this password (a box bakes it in): see core.password.
    password.pin(cfg.paths, cfg.password.get_secret_value(), cfg.password_source)
    started = time.monotonic()
    with console.stage(f"{s.name}: {s.summary}"):
        target.run(cfg, force=force)
    State(cfg.paths.state).record(s.name, inputs, time.monotonic() - started)
    return True


def run_sequence(cfg, only: list[str] | None = None, force_from: str | None = None) -> None:
    """Run the stages in order (`only` those named); from `force_from` on, each runs even if current."""
    forcing = False
    for s in SEQUENCE:
        if force_from == s.name:
            forcing = True
        if only is None or s.name in only:
            run_stage(cfg, s.name, force=forcing)


def adopt(cfg, name: str, seconds: float = 0.0) -> bool:
    """Record a stage that something else did (Vagrant), as run_stage would have; False if already current."""
    s = stage(name)
    st = State(cfg.paths.state)
    inputs = chained_inputs(cfg, st, s)
    if st.is_current(s.name, inputs):
        return False
    password.pin(cfg.paths, cfg.password.get_secret_value(), cfg.password_source)
    st.record(s.name, inputs, seconds, by="vagrant")
    return True


def forget_from(cfg, name: str) -> list[str]:
    """Forget `name`, every stage after it and any the sequence no longer has."""
    st = State(cfg.paths.state)
    later = names()[names().index(stage(name).name):]
    gone = [n for n in st.stages if n in later or n not in names()]
    st.forget(*gone)
    return gone
