"""What the Vagrantfile's triggers report on a plain `vagrant up` or `destroy`
(`xenlab vagrant-hook`): the machine's stage recorded as xenlab would record it,
and the stages between it and the next machine stage (wire) run."""

from __future__ import annotations

from ..core import console
from ..errors import XenlabError
from . import lifecycle
from .down import forget_machines
from .handoff import announce_pending, hand_off
from .machine import STAGES

def vagrant_hook(cfg, machine: str, event: str, provisioned: bool, beside: tuple[str, ...] = ()) -> None:
    """What a Vagrantfile trigger reports: `up` (provisioned or not) or `destroy` of a machine.

    `beside`: the machines the same `vagrant up` brings up at the same time (parallel).
    A machine booting beside the one whose trigger runs wire waits for wire's files
    (vagrant/devstack/wait-for-wire.sh): its before-up leaves WIRE-PENDING, and this
    trigger, once wire is done, hands the files over (or WIRE-FAILED and why).
    """
    s = lifecycle.machine_stage(machine)
    if event == "before-up":
        STAGES[machine].prepare(cfg)
        feeders = [m for m in beside if machine in STAGES[m].boots_with]
        if STAGES[machine].consumes and any(not _fed(cfg, m) for m in feeders):
            announce_pending(cfg)
            console.say(f"xenlab: {machine} boots now; its provisioning waits for wire, after {feeders[0]} is up")
        return
    if event == "destroy":
        forget_machines(cfg, machine)
        console.say(f"xenlab: {machine} destroyed: stages from {s.name} on forgotten")
        return
    waiting = [m for m in beside if m in STAGES[machine].boots_with and STAGES[m].consumes]
    try:
        _after_up(cfg, machine, s, provisioned)
    except XenlabError as exc:
        for other in waiting:
            try:
                hand_off(cfg, other, failure=exc.message)
            except XenlabError as lost:  # the trigger's own error is the one to report
                console.warn(lost.message)
        raise
    for other in waiting:
        hand_off(cfg, other, failure="" if _fed(cfg, machine) else
                 f"{machine} was not provisioned again and wire did not run (see the {machine} machine's output)")


def _after_up(cfg, machine: str, s, provisioned: bool) -> None:
    if provisioned:
        if lifecycle.adopt(cfg, s.name):
            console.say(f"xenlab: {s.name} recorded (vagrant up)")
    elif not lifecycle.is_current(cfg, s.name):
        console.warn(f"{machine} was already up and was not provisioned again, but its inputs changed: "
                     f"run `vagrant provision {machine}` (or `invoke up`)")
        return
    # No `vagrant ssh-config` from inside Vagrant's own trigger: verify asks for it when it needs it.
    cfg.paths.vagrant_ssh_config.unlink(missing_ok=True)
    for name in lifecycle.between(s.name):
        lifecycle.run_stage(cfg, name)


def _fed(cfg, machine: str) -> bool:
    """Are the stages this machine's trigger runs (wire, after xenserver) current?"""
    return all(lifecycle.is_current(cfg, n) for n in lifecycle.between(lifecycle.machine_stage(machine).name))
