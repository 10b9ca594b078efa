"""`down`: the machines destroyed with what vagrant-libvirt keeps of them, and
their stages forgotten (a destroy trigger forgets one machine's the same way)."""

from __future__ import annotations

from ..core import console, password
from ..machines import labspec, libvirt, saves, vagrantcli
from ..machines.labspec import MACHINES
from . import lifecycle, plan
from .machine import DESTROY_TIMEOUT

def down(cfg, purge: bool = False) -> None:
    """Destroy the machines and what vagrant-libvirt keeps of them; forget the machine stages.

    The uploaded box images stay in the libvirt pool, so the next `up` starts warm;
    `purge` removes them too, with the lab's snapshots and its password pin.
    """
    plan.render_all(cfg, quiet=True)
    libvirt.check(cfg)
    with console.stage(f"down: destroying lab {cfg.lab.name!r}{' and purging it' if purge else ''}"):
        console.header("vagrant destroy")
        vagrantcli.client(cfg, "destroy", DESTROY_TIMEOUT, quiet=False).destroy()
        if cfg.lab.provider == "libvirt":
            console.header("libvirt: removing leftover domains, volumes and networks")
            libvirt.clean(cfg)
            if not purge:
                saves.collect(cfg)  # snapshots' copies only the removed machines were built on
            else:
                spec = labspec.spec(cfg)
                shared = libvirt.box_volumes(cfg, [spec[m]["box"] for m in MACHINES])
                if spec["nova_probe"] and spec["nova_probe"]["volume"] in libvirt.volumes_in_pool(cfg):
                    shared.append(spec["nova_probe"]["volume"])
                libvirt.remove_volumes(cfg, shared)
        forget_machines(cfg)
        if purge:
            saves.delete_all(cfg)
            password.unpin(cfg.paths)
            console.say("    purged: box images, snapshots and the lab's password pin")


def forget_machines(cfg, machine: str | None = None) -> None:
    """A machine stage (the first, by default) and all after it are undone; a built box stays valid."""
    first = lifecycle.machine_stage(machine) if machine else lifecycle.stage(lifecycle.machine_span()[0])
    lifecycle.forget_from(cfg, first.name)
    if first.name == lifecycle.machine_span()[0]:
        # The next xenserver machine boots with new SSH host keys: forget the old ones,
        # or wire would refuse it as a changed host.
        cfg.paths.known_hosts.unlink(missing_ok=True)
    cfg.paths.vagrant_ssh_config.unlink(missing_ok=True)
