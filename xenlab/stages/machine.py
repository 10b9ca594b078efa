"""The machine stages, `up-xenserver` and `up-devstack`.

Each machine stage brings up one machine: `vagrant up --no-provision` of it and the
machines that boot beside it, then `vagrant provision <machine>`.
Its inputs are the machine's part of the lab spec, the Vagrantfile and the
provisioning scripts, the version of the box it boots, and (devstack) the files
wire rendered for it. A machine made from an older version of the lab's box is
destroyed and made anew: a disposable lab never runs on a stale box.
"""

from __future__ import annotations

import json

from ..core import console
from ..core.files import digest, digest_tree, keyed_digest
from ..core.paths import VAGRANT_SCRIPTS, VAGRANTFILE
from ..images import boxes
from ..machines import labspec, libvirt, vagrantcli
from ..machines.labspec import MACHINES, TABLE, Machine
from ..machines.machine_state import check_boxes, record_ssh_config, state

DESTROY_TIMEOUT = 600.0


class MachineStage:
    """Bring up one Vagrant machine of the lab's table (machines.labspec.TABLE)."""

    def __init__(self, row: Machine):
        self.row = row
        self.machine = row.name

    def _probe(self, cfg) -> bool:
        return self.row.gets_probe and cfg.flavour.nova_probe

    def prepare(self, cfg) -> None:
        """What the machine is given that the host makes first: Nova's probe, its tree
        (PyPI, here) on a disk image in the libvirt pool, which the machine attaches."""
        if self._probe(cfg):
            from ..devstack import probe

            image = probe.ensure_image(cfg.paths.log("nova-probe"))
            libvirt.ensure_volume(cfg, probe.volume_name(), image)

    def box(self, cfg) -> tuple[str, str]:
        """(box name, the version the lab boots now: '' for a box xenlab did not build)."""
        name = labspec.spec(cfg)[self.machine]["box"]
        manifest = next((m for m in map(lambda n: boxes.read_manifest(cfg, n), _built_box_names(cfg))
                         if m.get("box") == name), {})
        return name, manifest.get("version", "")

    def inputs(self, cfg) -> str:
        spec = labspec.spec(cfg)
        mine = {k: spec[k] for k in ("lab", "network", "libvirt", "virtualbox", "paths", self.machine)}
        given = [getattr(cfg.paths, attr) for attr in self.row.files]
        return digest(
            json.dumps(mine, sort_keys=True),
            digest_tree(VAGRANTFILE, VAGRANT_SCRIPTS),
            "@".join(self.box(cfg)),
            # The files it is given hold the password: keyed, see files.keyed_digest.
            keyed_digest(cfg.paths.digest_key, *(p.read_bytes() if p.is_file() else b"" for p in given)),
            _probe_inputs() if self._probe(cfg) else "",
        )

    def made_from(self, cfg) -> str:
        """The box version this machine was created from (Vagrant's box_meta), '' if unknown."""
        meta = vagrantcli.machine_dir(cfg, self.machine, cfg.lab.provider) / "box_meta"
        try:
            return json.loads(meta.read_text()).get("version", "")
        except (OSError, ValueError):
            return ""

    def stale(self, cfg) -> str:
        """Why the running machine must be made anew ('' when it need not)."""
        name, version = self.box(cfg)
        made = self.made_from(cfg)
        if version and made and made != version:
            return f"{self.machine} was made from box {name} {made}, the lab's box is now {version}"
        return ""

    def present(self, cfg) -> bool:
        return state(cfg, self.machine) == "running" and not self.stale(cfg)

    def run(self, cfg, force: bool = False) -> None:
        libvirt.check(cfg)
        others = [STAGES[m] for m in self.row.boots_with]
        check_boxes(cfg, [self.machine, *self.row.boots_with])
        why = self.stale(cfg)
        if why:
            console.say(f"    {why}: destroying it to make it anew")
            vagrantcli.client(cfg, "destroy", DESTROY_TIMEOUT, quiet=False).destroy(self.machine)
        vagrant = vagrantcli.client(cfg, "up", cfg.flavour.up_timeout_s, quiet=False)
        self.prepare(cfg)
        if state(cfg, self.machine) != "running":
            beside = [o for o in others if state(cfg, o.machine) != "running" and not o.stale(cfg)]
            for other in beside:
                other.prepare(cfg)  # what it attaches must be there when it boots
            beside = [o.machine for o in beside]
            boot = [self.machine, *beside]
            console.header(f"vagrant up --no-provision {' '.join(boot)}"
                           + (f" ({', '.join(beside)} boots alongside, provisioned later)" if beside else ""))
            # One Vagrant for both: vagrant-libvirt boots a command's machines in parallel.
            vagrant.up(None if set(boot) == set(MACHINES) else self.machine, no_provision=True,
                       provider=cfg.lab.provider)
        elif labspec.spec(cfg)[self.machine]["synced"]:
            # Folders synced at boot (your own Nova's checkout) are synced again into a running machine.
            console.header(f"vagrant rsync {self.machine}")
            vagrant.rsync(self.machine)
        # Its provisioning starts with xenlab's provisioner, which uploads the files it is given.
        console.header(f"vagrant provision {self.machine}")
        vagrant.provision(self.machine)
        record_ssh_config(cfg)


STAGES = {row.name: MachineStage(row) for row in TABLE}


def _probe_inputs() -> str:
    from ..devstack import probe

    return probe.inputs()


def _built_box_names(cfg) -> list[str]:
    flavour = cfg.flavour
    return [flavour.name, *flavour.companion_boxes]
