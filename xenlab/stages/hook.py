"""What the Vagrantfile tells xenlab on a plain `vagrant up` or `destroy`
(`xenlab vagrant-hook --spec <lab.json> --machine M --event E`).

The hook rebuilds the Config from the lab spec Vagrant read (core.config.from_spec),
so what it records and runs is what `plan` rendered, whatever the environment says
now (only the password comes from where it always does). Events:

    before-up   the host prepares what the machine attaches (Nova's probe disk)
    feed        the machine's provisioning starts: run the stages that feed it (wire,
                for devstack), after the machine it is fed after is up; xenlab's
                provisioner then uploads their files (the Vagrantfile)
    up          the machine is up: record its stage as `run_stage` would have, if
                this `vagrant up` provisioned it
    destroy     forget its stage and every stage after it
"""

from __future__ import annotations

from ..core import console
from ..errors import HostError
from ..machines import labspec
from . import lifecycle
from .down import forget_machines
from .machine import STAGES

EVENTS = ("before-up", "feed", "up", "destroy")


def vagrant_hook(cfg, machine: str, event: str, provisioned: bool = False) -> None:
    s = lifecycle.machine_stage(machine)
    if event == "before-up":
        STAGES[machine].prepare(cfg)
    elif event == "feed":
        feed(cfg, machine)
    elif event == "destroy":
        forget_machines(cfg, machine)
        console.say(f"xenlab: {machine} destroyed: stages from {s.name} on forgotten")
    elif provisioned:
        if lifecycle.adopt(cfg, s.name):
            console.say(f"xenlab: {s.name} recorded (vagrant up)")
        # No `vagrant ssh-config` from inside Vagrant: verify asks for it when it needs it.
        cfg.paths.vagrant_ssh_config.unlink(missing_ok=True)
    elif not lifecycle.is_current(cfg, s.name):
        console.warn(f"{machine} was already up and was not provisioned again, but its inputs changed: "
                     f"run `vagrant provision {machine}` (or `invoke up`)")


def feed(cfg, machine: str) -> None:
    """Run the stages that feed this machine's provisioning (a no-op when they are current)."""
    after = labspec.machine(machine).fed_after
    if after and not lifecycle.is_current(cfg, lifecycle.machine_stage(after).name):
        raise HostError(f"{machine} is fed by the stages after {after}, which is not up and current: "
                        f"`vagrant up {after}` (or `vagrant provision {after}`) first")
    for name in lifecycle.feeding(lifecycle.machine_stage(machine).name):
        lifecycle.run_stage(cfg, name)
