"""Lab snapshots: the running machines saved, memory and disks, and brought back.

A snapshot of a lab is a folder `.xenlab/<lab>/snapshots/<name>/` holding, for
each machine, libvirt's save file (the running guest's memory and device state,
`virsh save`), a copy of its disk overlay taken while it was saved (so the two
agree), its domain definition and Vagrant's data about it (its id, the box it was
made from, the key Vagrant put in it); and for the lab, its two networks with the
management network's DHCP leases (so Vagrant finds the guests where they were),
the stage records, the recorded ssh-config and dom0's host key. The disk overlays
are built on the uploaded box images, which stay in the libvirt pool across `down`:
a snapshot outlives `down` and goes with `down --purge`.

Restore puts every piece back and starts the guests from their saved memory: no
boot, the machines resume where they were. It needs libvirt on this machine (the
files are copied here) and the same box versions the snapshot was taken on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

from ..core import console, proc
from ..core.files import ensure_dir, replaced_dir, write_file, write_json
from ..errors import ConfigError, HostError, UnsupportedHost
from . import labspec, libvirt, sshconfig
from .labspec import MACHINES
from .vagrantcli import machine_dir

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
DNSMASQ_DIR = Path("/var/lib/libvirt/dnsmasq")  # libvirt's leaseshelper keeps <bridge>.status here
SAVE_TIMEOUT = 600.0


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):  # whole: `$` would let a final newline through
        raise ConfigError(f"snapshot name {name[:40]!r}: use 1-32 of a-z, 0-9, '.', '_', '-'")
    return name


def check_provider(cfg) -> None:
    """Snapshots are libvirt's save/restore plus file copies: libvirt on this machine only."""
    if cfg.lab.provider != "libvirt":
        raise UnsupportedHost(f"snapshots need the libvirt provider (lab.provider is {cfg.lab.provider!r})")
    if not re.match(r"^qemu:///(system|session)$", cfg.lab.libvirt_uri):
        raise UnsupportedHost(f"snapshots copy the machines' disks here: they need libvirt on this machine, "
                              f"not {cfg.lab.libvirt_uri}")


def folder(cfg, name: str) -> Path:
    return cfg.paths.snapshots / check_name(name)


def names(cfg) -> list[str]:
    root = cfg.paths.snapshots
    return sorted(p.name for p in root.iterdir() if (p / "snapshot.json").is_file()) if root.is_dir() else []


def describe(cfg) -> list[dict]:
    out = []
    for name in names(cfg):
        meta = json.loads((cfg.paths.snapshots / name / "snapshot.json").read_text())
        size = sum(f.stat().st_size for f in (cfg.paths.snapshots / name).rglob("*") if f.is_file())
        out.append({"name": name, "taken": meta["taken"], "size_mib": round(size / 2**20),
                    "boxes": meta["boxes"]})
    return out


def delete(cfg, name: str) -> None:
    path = folder(cfg, name)
    if not (path / "snapshot.json").is_file():
        raise ConfigError(f"no snapshot {name!r} of lab {cfg.lab.name!r} (snapshots: {', '.join(names(cfg)) or 'none'})")
    shutil.rmtree(path)


def delete_all(cfg) -> None:
    shutil.rmtree(cfg.paths.snapshots, ignore_errors=True)


# ------------------------------------------------------------------ pieces


def _disks(cfg, uuid: str) -> list[str]:
    """The domain's file-backed disks (vagrant-libvirt's qcow2 overlays)."""
    out = libvirt.virsh(cfg, "domblklist", uuid, "--details")
    return [line.split()[3] for line in out.splitlines()
            if len(line.split()) >= 4 and line.split()[0] == "file" and line.split()[1] == "disk"]


def _backing(disk: str) -> str:
    """The image a qcow2 overlay is built on (vagrant-libvirt's uploaded box image)."""
    info = json.loads(proc.run(["qemu-img", "info", "--output=json", "-U", disk], timeout=60, quiet=True))
    return info.get("full-backing-filename") or info.get("backing-filename") or ""


def _bridge(cfg, network: str) -> str:
    m = re.search(r"<bridge name='([^']+)'", libvirt.virsh(cfg, "net-dumpxml", network))
    return m.group(1) if m else ""


def _copy(src: Path, dst: Path) -> None:
    """A sparse copy, keeping the mode."""
    ensure_dir(dst.parent)
    with src.open("rb") as fin, dst.open("wb") as fout:
        while True:
            block = fin.read(4 * 2**20)
            if not block:
                break
            if block.count(0) == len(block):
                fout.seek(len(block), os.SEEK_CUR)
            else:
                fout.write(block)
        fout.truncate()
    shutil.copymode(src, dst)


def _lab_files(cfg) -> dict[str, Path]:
    """The lab's own files a snapshot keeps, by the name they have in it."""
    p = cfg.paths
    return {"state.json": p.state, "vagrant-ssh-config": p.vagrant_ssh_config, "known_hosts": p.known_hosts}


# ------------------------------------------------------------------ take


def take(cfg, name: str, boxes: dict[str, str]) -> Path:
    """Save the running machines (they run on afterwards) into snapshot `name`."""
    check_provider(cfg)
    target = folder(cfg, name)
    ensure_dir(cfg.paths.snapshots, private=True)
    # Built beside the old snapshot of that name, which it replaces only when complete.
    with replaced_dir(target) as tmp:
        machines = {}
        for m in MACHINES:
            uuid = libvirt.domain_id(cfg, m)
            if libvirt.domain_state(cfg, m) != "running":
                raise HostError(f"the {m} machine is not running: bring the lab up first (`invoke up`)")
            disks = _disks(cfg, uuid)
            machines[m] = {"uuid": uuid, "disks": disks, "backing": [_backing(d) for d in disks],
                           "xml": libvirt.virsh(cfg, "dumpxml", "--inactive", "--security-info", uuid)}
        started = time.monotonic()
        # Saving stops the guests (both at once); their disks are copied while they stand still.
        libvirt.virsh_each(cfg, [("save", info["uuid"], str(tmp / f"{m}.save")) for m, info in machines.items()],
                           timeout=SAVE_TIMEOUT)
        try:
            for m, info in machines.items():
                for i, disk in enumerate(info["disks"]):
                    _copy(Path(disk), tmp / f"{m}.disk{i}")
        finally:
            libvirt.virsh_each(cfg, [("restore", str(tmp / f"{m}.save"), "--running") for m in machines],
                               timeout=SAVE_TIMEOUT)
        for m, info in machines.items():
            write_file(tmp / f"{m}.xml", info.pop("xml"), secret=True)
            shutil.copytree(machine_dir(cfg, m, "libvirt"), tmp / "vagrant" / m)
        networks = {}
        for role, net in labspec.network_names(cfg).items():
            bridge = _bridge(cfg, net)
            write_file(tmp / f"net-{role}.xml", libvirt.virsh(cfg, "net-dumpxml", "--inactive", net), secret=True)
            leases = DNSMASQ_DIR / f"{bridge}.status"
            if leases.is_file():
                shutil.copy(leases, tmp / f"net-{role}.status")
            networks[role] = {"name": net, "bridge": bridge}
        for as_name, path in _lab_files(cfg).items():
            if path.is_file():
                shutil.copy(path, tmp / as_name)
        # Guest memory and disks hold the lab's secrets: owner only, like the folder.
        for f in tmp.rglob("*"):
            if f.is_file():
                f.chmod(0o600)
        write_json(tmp / "snapshot.json", {
            "name": name, "lab": cfg.lab.name, "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machines": machines, "networks": networks, "boxes": boxes,
            "seconds": round(time.monotonic() - started, 1),
        })
    return target


# ------------------------------------------------------------------ restore


def read(cfg, name: str) -> dict:
    path = folder(cfg, name)
    try:
        return json.loads((path / "snapshot.json").read_text())
    except (OSError, ValueError):
        raise ConfigError(f"no snapshot {name!r} of lab {cfg.lab.name!r} "
                          f"(snapshots: {', '.join(names(cfg)) or 'none'}; take one with `invoke snapshot`)") from None


def _network_back(cfg, src: Path, role: str, info: dict) -> None:
    net = info["name"]
    defined = set(libvirt.virsh(cfg, "net-list", "--all", "--name").split())
    active = set(libvirt.virsh(cfg, "net-list", "--name").split())
    if net in active:
        return
    leases = src / f"net-{role}.status"
    if leases.is_file() and info["bridge"]:
        # dnsmasq asks libvirt's leaseshelper for these when it starts: the guests keep their addresses.
        ensure_dir(DNSMASQ_DIR)
        shutil.copy(leases, DNSMASQ_DIR / f"{info['bridge']}.status")
    if net not in defined:
        libvirt.virsh(cfg, "net-define", str(src / f"net-{role}.xml"))
    libvirt.virsh(cfg, "net-start", net)


def ssh_config_back(cfg) -> None:
    """The lab's ssh-config from the restored `vagrant ssh-config`, shared connections ended.

    The ssh-config verify last wrote may hold other addresses: machines that a warm
    `up` made after this snapshot was taken, and destroyed since.
    """
    sshconfig.stop_shared(cfg)  # those that lead to the old addresses
    if cfg.paths.vagrant_ssh_config.is_file():
        sshconfig.write(cfg, cfg.paths.vagrant_ssh_config.read_text())
    sshconfig.stop_shared(cfg)  # those to the restored addresses: their guests never heard of them


def restore(cfg, name: str) -> dict:
    """Put snapshot `name` back and resume its machines; returns its record."""
    check_provider(cfg)
    meta = read(cfg, name)
    src = folder(cfg, name)
    for m, info in meta["machines"].items():
        gone = [b for b in info.get("backing", []) if b and not Path(b).is_file()]
        if gone:
            raise HostError(f"snapshot {name!r} needs the box image {gone[0]} ({m}), which is no longer in the "
                            "libvirt pool: take a new snapshot")
    defined = libvirt.virsh(cfg, "list", "--all", "--uuid").split()
    for m, info in meta["machines"].items():
        later = libvirt.domain_id(cfg, m)
        if later and later != info["uuid"] and later in defined:
            # A machine `up` made since holds the name: it gives way (its disk is overwritten below).
            libvirt.stop_domain(cfg, later)
            libvirt.virsh(cfg, "undefine", later)
        if info["uuid"] in defined:
            libvirt.stop_domain(cfg, info["uuid"])
    for role, info in meta["networks"].items():
        _network_back(cfg, src, role, info)
    for m, info in meta["machines"].items():
        for i, disk in enumerate(info["disks"]):
            _copy(src / f"{m}.disk{i}", Path(disk))
        dest = machine_dir(cfg, m, "libvirt")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src / "vagrant" / m, dest)
    libvirt.virsh(cfg, "pool-refresh", libvirt.STORAGE_POOL)
    for m, info in meta["machines"].items():
        if info["uuid"] not in defined:
            libvirt.virsh(cfg, "define", str(src / f"{m}.xml"))
    libvirt.virsh_each(cfg, [("restore", str(src / f"{m}.save"), "--running") for m in meta["machines"]],
                       timeout=SAVE_TIMEOUT)
    for as_name, path in _lab_files(cfg).items():
        if (src / as_name).is_file():
            ensure_dir(path.parent)
            shutil.copy(src / as_name, path)
    ssh_config_back(cfg)
    sshconfig.wait_answering(cfg)
    console.say(f"    restored {', '.join(m for m in MACHINES if m in meta['machines'])} from snapshot {name} "
                f"({meta['taken']})")
    return meta
