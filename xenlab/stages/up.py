"""The machine stages, `up-xenserver` and `up-devstack`; `down`; what `status`
shows of the machines; and what the Vagrantfile's triggers report back.

Each machine stage brings up one machine with `vagrant up --provision <machine>`.
Its inputs are the machine's part of the lab spec, the Vagrantfile and the
provisioning scripts, the version of the box it boots, and (devstack) the files
wire rendered for it. A machine made from an older version of the lab's box is
destroyed and made anew: a disposable lab never runs on a stale box.
"""

from __future__ import annotations

import json

from ..core import console, flavours, lifecycle
from ..core.files import digest, digest_tree, keyed_digest, write_file
from ..core.paths import VAGRANT_SCRIPTS, VAGRANTFILE
from ..errors import ToolError, XenlabError
from ..images import boxes
from ..machines import labspec, libvirt, sshconfig, vagrantcli
from ..machines.labspec import MACHINES

DESTROY_TIMEOUT = 600.0


class MachineStage:
    """Bring up one Vagrant machine.

    `consumes` names the LabPaths files it is provisioned with (synced in before
    its provisioning); `boots_with` names machines that boot beside it, unprovisioned,
    so that their boot overlaps this one's and only their provisioning waits;
    `gets_probe`: it is given Nova's compute probe when the flavour says so.
    """

    def __init__(self, machine: str, consumes: tuple[str, ...] = (), boots_with: tuple[str, ...] = (),
                 gets_probe: bool = False):
        self.machine = machine
        self.consumes = consumes
        self.boots_with = boots_with
        self.gets_probe = gets_probe

    def _probe(self, cfg) -> bool:
        return self.gets_probe and flavours.load(cfg).nova_probe

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
        consumed = [getattr(cfg.paths, attr) for attr in self.consumes]
        return digest(
            json.dumps(mine, sort_keys=True),
            digest_tree(VAGRANTFILE, VAGRANT_SCRIPTS),
            "@".join(self.box(cfg)),
            # The files it is provisioned with hold the password: keyed, see files.keyed_digest.
            keyed_digest(cfg.paths.digest_key, *(p.read_bytes() if p.is_file() else b"" for p in consumed)),
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
        if self.consumes:
            clear_handoff(cfg)  # xenlab runs wire itself, before this machine's provisioning
        others = [STAGES[m] for m in self.boots_with]
        check_boxes(cfg, [self.machine, *self.boots_with])
        why = self.stale(cfg)
        if why:
            console.say(f"    {why}: destroying it to make it anew")
            vagrantcli.client(cfg, "destroy", DESTROY_TIMEOUT, quiet=False).destroy(self.machine)
        vagrant = vagrantcli.client(cfg, "up", flavours.load(cfg).up_timeout_s, quiet=False)
        self.prepare(cfg)
        if state(cfg, self.machine) != "running":
            beside = [o for o in others if state(cfg, o.machine) != "running" and not o.stale(cfg)]
            for other in beside:
                other.prepare(cfg)  # what it is given is synced in when it boots
            beside = [o.machine for o in beside]
            boot = [self.machine, *beside]
            console.header(f"vagrant up --no-provision {' '.join(boot)}"
                           + (f" ({', '.join(beside)} boots alongside, provisioned later)" if beside else ""))
            # One Vagrant for both: vagrant-libvirt boots a command's machines in parallel.
            vagrant.up(None if set(boot) == set(MACHINES) else self.machine, no_provision=True,
                       provider=cfg.lab.provider)
        elif self.consumes or self._probe(cfg):
            # A machine already up gets the files it is provisioned with synced in first.
            console.header(f"vagrant rsync {self.machine}")
            vagrant.rsync(self.machine)
        console.header(f"vagrant provision {self.machine}")
        vagrant.provision(self.machine)
        record_ssh_config(cfg)


XENSERVER = MachineStage("xenserver", boots_with=("devstack",))
DEVSTACK = MachineStage("devstack", consumes=("local_conf", "nova_conf", "domzero_pub"), gets_probe=True)
STAGES = {s.machine: s for s in (XENSERVER, DEVSTACK)}


def _probe_inputs() -> str:
    from ..devstack import probe

    return probe.inputs()


def _built_box_names(cfg) -> list[str]:
    flavour = flavours.load(cfg)
    return [flavour.name, *flavour.companion_boxes]


# ---------------------------------------------------------------- machine state


def state(cfg, machine: str) -> str:
    """The machine's state: from libvirt directly, else from `vagrant status`."""
    if cfg.lab.provider == "libvirt":
        return libvirt.domain_state(cfg, machine)
    try:
        return {s.name: s.state for s in vagrantcli.client(cfg, "status").status()}.get(machine, "unknown")
    except ToolError:
        return "unknown"


def check_boxes(cfg, machines) -> None:
    """xenlab's own boxes cannot be downloaded: say which command makes them."""
    spec = labspec.spec(cfg)
    wanted = [spec[m]["box"] for m in machines if spec[m]["box"].startswith("xenlab/")]
    if not wanted:
        return
    have = {(b.name, b.provider) for b in vagrantcli.client(cfg, "box list").box_list()}
    for name in wanted:
        if (name, cfg.lab.provider) not in have:
            raise ToolError(
                f"box {name} ({cfg.lab.provider}) is not installed: run `invoke build --flavour "
                f"{cfg.lab.flavour}` first (it builds and adds the lab's boxes)"
            )


def record_ssh_config(cfg) -> None:
    """`vagrant ssh-config` of the running machines, kept for verify and status."""
    running = [m for m in MACHINES if state(cfg, m) == "running"]
    text = "".join(vagrantcli.client(cfg, "ssh-config").ssh_config(m) for m in running)
    write_file(cfg.paths.vagrant_ssh_config, text, secret=True)


def ssh_config(cfg) -> str:
    """The recorded `vagrant ssh-config` of the running machines (asked for when missing)."""
    path = cfg.paths.vagrant_ssh_config
    if not path.is_file():
        record_ssh_config(cfg)
    return path.read_text()


def describe(cfg) -> list[dict]:
    """Both machines: state, private address, SSH endpoint when running."""
    spec = labspec.spec(cfg)
    try:
        states, note = {m: state(cfg, m) for m in MACHINES}, ""
    except ToolError as exc:
        states, note = {}, exc.message
    try:
        hosts = sshconfig.hosts(cfg.paths.vagrant_ssh_config.read_text())
    except OSError:
        hosts = {}
    out = []
    for m in MACHINES:
        st = states.get(m, "unknown")
        entry = {"machine": m, "state": st, "box": spec[m]["box"], "private_ip": spec[m]["ip"], "ssh": None}
        conf = hosts.get(m)
        if st == "running" and conf:
            entry["ssh"] = f"{conf.get('User', '')}@{conf.get('HostName', '')}:{conf.get('Port', '22')}"
        if note:
            entry["note"] = note
        out.append(entry)
    return out


# ---------------------------------------------------------------- down


def down(cfg, purge: bool = False) -> None:
    """Destroy the machines and what vagrant-libvirt keeps of them; forget the machine stages.

    The uploaded box images stay in the libvirt pool, so the next `up` starts warm;
    `purge` removes them too, with the lab's snapshots and its password pin.
    """
    from ..core import password, plan

    plan.render_all(cfg, quiet=True)
    libvirt.check(cfg)
    with console.stage(f"down: destroying lab {cfg.lab.name!r}{' and purging it' if purge else ''}"):
        console.header("vagrant destroy")
        vagrantcli.client(cfg, "destroy", DESTROY_TIMEOUT, quiet=False).destroy()
        if cfg.lab.provider == "libvirt":
            console.header("libvirt: removing leftover domains, volumes and networks")
            libvirt.clean(cfg)
            if purge:
                spec = labspec.spec(cfg)
                shared = libvirt.box_volumes(cfg, [spec[m]["box"] for m in MACHINES])
                if spec["nova_probe"] and spec["nova_probe"]["volume"] in libvirt.volumes_in_pool(cfg):
                    shared.append(spec["nova_probe"]["volume"])
                libvirt.remove_volumes(cfg, shared)
        forget_machines(cfg)
        if purge:
            from ..machines import snapshots

            snapshots.delete_all(cfg)
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


# ---------------------------------------------------------------- plain `vagrant up`


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


# ---------------------------------------------------------------- handing wire's files over


def announce_pending(cfg) -> None:
    """The devstack machine boots before wire has run: its provisioning is to wait."""
    cfg.paths.wire_failed.unlink(missing_ok=True)
    write_file(cfg.paths.wire_pending, "wire runs on the host once the xenserver machine is up\n", secret=True)


def clear_handoff(cfg) -> None:
    cfg.paths.wire_pending.unlink(missing_ok=True)
    cfg.paths.wire_failed.unlink(missing_ok=True)


def hand_off(cfg, machine: str, failure: str = "") -> None:
    """Sync wire's files (or WIRE-FAILED) into a machine that boots beside this one and waits.

    Twice on success: the files first, then without WIRE-PENDING, so the machine
    never goes on with half of them (each synced folder is its own rsync).
    """
    if not cfg.paths.wire_pending.exists():
        return  # it booted with wire's files already current, and waits for nothing
    if failure:
        write_file(cfg.paths.wire_failed, console.redact(failure) + "\n", secret=True)
        _push(cfg, machine)
        return
    cfg.paths.wire_failed.unlink(missing_ok=True)
    _push(cfg, machine)
    cfg.paths.wire_pending.unlink(missing_ok=True)
    _push(cfg, machine)
    console.say(f"xenlab: wire's files handed to {machine}; its provisioning goes on")


PUSH_RETRY_S = 5.0


def _push(cfg, machine: str) -> None:
    """`vagrant rsync <machine>`, retried (bounded) while the machine is still booting."""
    import time

    deadline = time.monotonic() + flavours.load(cfg).up_timeout_s
    while True:
        try:
            vagrantcli.client(cfg, "rsync").rsync(machine)
            return
        except ToolError as exc:
            if time.monotonic() + PUSH_RETRY_S > deadline:
                raise ToolError(f"cannot hand wire's files to {machine}: {exc.message}") from None
        time.sleep(PUSH_RETRY_S)
