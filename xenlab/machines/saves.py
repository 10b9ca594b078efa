"""Lab snapshots: the running machines saved, memory and disks, and brought back.

Everything that is big stays where libvirtd runs (this machine, or the remote host of
lab.libvirt_uri), done through libvirt's own API (`virsh -c <uri>`), so a remote lab's
snapshots never travel over the network: a storage pool of the lab's own,
`xenlab-<lab>-snapshots-<id>`, in `xenlab-snapshots/` beside the default pool's
directory (/var/lib/libvirt/xenlab-snapshots/ for qemu:///system), holds for each
snapshot and machine libvirt's save file (the running guest's memory and device state,
`virsh save`, written by libvirtd on its host) and a copy of the machine's own disk
taken while it was saved (so the two agree; `vol-create-from`, which libvirt makes with
qemu-img convert: a whole image, not built on the box's).

The lab's folder keeps the rest, `.xenlab/<lab>/snapshots/<name>/`: the record of the
volumes, each machine's domain definition and Vagrant's data about it (its id, the box
it was made from, the key Vagrant put in it); the lab's two networks with the management
network's DHCP leases (libvirt's lease file on its host, so Vagrant finds the guests
where they were), the stage records, the recorded ssh-config and dom0's host key. A
snapshot outlives `down` and goes with `down --purge`.

Restore puts every piece back and starts the guests from their saved memory: no boot,
the machines resume where they were. Each machine's disk comes back as a new overlay
built on the snapshot's copy (at once, whatever its size), so a snapshot's copy stays
while a machine is built on it; copies no snapshot names and no disk is built on are
removed (`collect`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from ..core import console
from ..core.files import digest, ensure_dir, replaced_dir, write_file, write_json
from ..errors import ConfigError, HostError, ToolError, UnsupportedHost
from . import labspec, libvirt, libvirthost, sshconfig
from .labspec import MACHINES
from .vagrantcli import machine_dir

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
# libvirt's leaseshelper keeps <bridge>.status here, on the host where libvirtd runs
# (libvirt src/network/leaseshelper.c, LOCALSTATEDIR/lib/libvirt/dnsmasq).
DNSMASQ_DIR = "/var/lib/libvirt/dnsmasq"
POOLS_DIR = "xenlab-snapshots"  # beside the default pool's directory
SAVE_TIMEOUT = 600.0


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):  # whole: `$` would let a final newline through
        raise ConfigError(f"snapshot name {name[:40]!r}: use 1-32 of a-z, 0-9, '.', '_', '-'")
    return name


def check_provider(cfg) -> None:
    """Snapshots are libvirt's save, restore and volumes: the libvirt provider, here or remote."""
    if cfg.lab.provider != "libvirt":
        raise UnsupportedHost(f"snapshots need the libvirt provider (lab.provider is {cfg.lab.provider!r})")


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
        size += sum(meta.get("volume_bytes", {}).values())
        out.append({"name": name, "taken": meta["taken"], "size_mib": round(size / 2**20),
                    "boxes": meta["boxes"]})
    return out


def delete(cfg, name: str) -> None:
    path = folder(cfg, name)
    if not (path / "snapshot.json").is_file():
        raise ConfigError(f"no snapshot {name!r} of lab {cfg.lab.name!r} (snapshots: {', '.join(names(cfg)) or 'none'})")
    shutil.rmtree(path)
    collect(cfg)


def delete_all(cfg) -> None:
    """Every snapshot of the lab, with its pool (`down --purge`: no machine is built on them any more)."""
    shutil.rmtree(cfg.paths.snapshots, ignore_errors=True)
    if cfg.lab.provider == "libvirt":
        libvirt.remove_pool(cfg, pool_name(cfg))


# ------------------------------------------------------------------ the pool on the libvirt host


def pool_name(cfg) -> str:
    """The lab's snapshot pool: named after the lab and its folder (two checkouts' labs of one
    name on one host keep apart)."""
    return f"xenlab-{cfg.lab.name}-snapshots-{digest(str(cfg.lab_dir))[:8]}"


def pool_dir(cfg) -> str:
    """The pool's directory on the libvirt host: beside the default pool's, which holds the disks."""
    name = pool_name(cfg)
    if name in libvirt.virsh(cfg, "pool-list", "--all", "--name").split():
        return libvirt.pool_target(cfg, name)
    libvirt.ensure_pool(cfg)
    return f"{libvirt.pool_target(cfg).rstrip('/').rsplit('/', 1)[0]}/{POOLS_DIR}/{name}"


def _volumes(cfg) -> list[str]:
    pool = pool_name(cfg)
    if pool not in libvirt.virsh(cfg, "pool-list", "--all", "--name").split():
        return []
    libvirt.ensure_pool(cfg, pool)  # started again after the host restarted
    libvirt.virsh(cfg, "pool-refresh", pool)
    return [line.split()[0] for line in libvirt.virsh(cfg, "vol-list", pool).splitlines() if line.strip()]


def collect(cfg) -> None:
    """Remove the pool's volumes that no snapshot names and no disk of the default pool is built on
    (a replaced or deleted snapshot's, once no restored machine uses them)."""
    named = set()
    for name in names(cfg):
        named.update(json.loads((folder(cfg, name) / "snapshot.json").read_text()).get("volume_bytes", {}))
    unnamed = [v for v in _volumes(cfg) if v not in named]
    if not unnamed:
        return
    in_use = libvirt.built_on(cfg)
    for vol in unnamed:
        path = libvirt.virsh(cfg, "vol-path", vol, "--pool", pool_name(cfg)).strip()
        if path not in in_use:
            libvirt.virsh(cfg, "vol-delete", vol, "--pool", pool_name(cfg))


# ------------------------------------------------------------------ pieces


def _own_disks(cfg, uuid_: str) -> list[str]:
    """The domain's own disks on the libvirt host (vagrant-libvirt's overlays, named after the
    lab), not the volumes the machines share (Nova's probe disk: read-only, never changed)."""
    out = libvirt.virsh(cfg, "domblklist", uuid_, "--details")
    prefix = labspec.domain_prefix(cfg)
    return [f[3] for f in (line.split() for line in out.splitlines())
            if len(f) >= 4 and f[0] == "file" and f[1] == "disk" and f[3].rsplit("/", 1)[-1].startswith(prefix)]


def _volume(cfg, path: str) -> dict:
    """A volume's capacity, format and backing file, as libvirt describes it."""
    xml = libvirt.virsh(cfg, "vol-dumpxml", path)
    capacity = re.search(r"<capacity unit='bytes'>(\d+)</capacity>", xml)
    fmt = re.search(r"<target>.*?<format type='([^']+)'/>", xml, re.S)
    backing = re.search(r"<backingStore>\s*<path>([^<]+)</path>", xml)
    return {"capacity": int(capacity.group(1)) if capacity else 0, "format": fmt.group(1) if fmt else "raw",
            "backing": backing.group(1) if backing else ""}


def _volume_xml(name: str, capacity: int, backing: str = "") -> str:
    """A qcow2 volume; on `backing`, an overlay of it (as vagrant-libvirt makes a machine's disk)."""
    on = (f"<backingStore><path>{backing}</path><format type='qcow2'/></backingStore>" if backing else "")
    return (f"<volume><name>{name}</name><capacity unit='bytes'>{capacity}</capacity>"
            f"<target><format type='qcow2'/></target>{on}</volume>\n")


def _bridge(cfg, network: str) -> str:
    m = re.search(r"<bridge name='([^']+)'", libvirt.virsh(cfg, "net-dumpxml", network))
    return m.group(1) if m else ""


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
    store = pool_dir(cfg)
    libvirt.ensure_pool(cfg, pool_name(cfg), store)
    stamp = f"{name}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    # Built beside the old snapshot of that name, which it replaces only when complete.
    with replaced_dir(target) as tmp:
        machines = {}
        for m in MACHINES:
            uuid_ = libvirt.domain_id(cfg, m)
            if libvirt.domain_state(cfg, m) != "running":
                raise HostError(f"the {m} machine is not running: bring the lab up first (`invoke up`)")
            disks = [{"path": d, "volume": f"{stamp}-{m}-disk{i}.qcow2", **_volume(cfg, d)}
                     for i, d in enumerate(_own_disks(cfg, uuid_))]
            machines[m] = {"uuid": uuid_, "save": f"{stamp}-{m}.save", "disks": disks,
                           "xml": libvirt.virsh(cfg, "dumpxml", "--inactive", "--security-info", uuid_)}
        started = time.monotonic()
        # Saving stops the guests (both at once); their disks are copied while they stand still.
        libvirt.virsh_each(cfg, [("save", info["uuid"], f"{store}/{info['save']}") for info in machines.values()],
                           timeout=SAVE_TIMEOUT)
        try:
            copies = []
            for m, info in machines.items():
                for disk in info["disks"]:
                    write_file(tmp / f"{disk['volume']}.xml", _volume_xml(disk["volume"], disk["capacity"]))
                    copies.append(("vol-create-from", pool_name(cfg), str(tmp / f"{disk['volume']}.xml"),
                                   disk["path"]))
            libvirt.virsh_each(cfg, copies, timeout=SAVE_TIMEOUT)
        finally:
            libvirt.virsh_each(cfg, [("restore", f"{store}/{info['save']}", "--running")
                                     for info in machines.values()], timeout=SAVE_TIMEOUT)
        libvirt.virsh(cfg, "pool-refresh", pool_name(cfg))
        sizes = {}
        for m, info in machines.items():
            for vol in [info["save"], *(d["volume"] for d in info["disks"])]:
                sizes[vol] = _allocation(cfg, vol)
            write_file(tmp / f"{m}.xml", info.pop("xml"), secret=True)
            shutil.copytree(machine_dir(cfg, m, "libvirt"), tmp / "vagrant" / m)
        for f in tmp.glob("*.qcow2.xml"):
            f.unlink()
        networks = {}
        for role, net in labspec.network_names(cfg).items():
            bridge = _bridge(cfg, net)
            write_file(tmp / f"net-{role}.xml", libvirt.virsh(cfg, "net-dumpxml", "--inactive", net), secret=True)
            leases = _leases(cfg, bridge) if bridge else None
            if leases is not None:
                write_file(tmp / f"net-{role}.status", leases, secret=True)
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
            "host": libvirthost.of(cfg).describe(), "pool": pool_name(cfg), "pool_dir": store,
            "machines": machines, "networks": networks, "boxes": boxes, "volume_bytes": sizes,
            "seconds": round(time.monotonic() - started, 1),
        })
    collect(cfg)  # the copies of the snapshot this one replaced, unless a machine is built on them
    return target


def _leases(cfg, bridge: str) -> str | None:
    try:
        return libvirthost.read_file(cfg, f"{DNSMASQ_DIR}/{bridge}.status")
    except ToolError as exc:
        console.warn(f"libvirt's DHCP leases on {bridge} could not be read on {libvirthost.of(cfg).describe()} "
                     f"({exc.message[:120]}): a restore after `down` finds the machines at their next DHCP renewal")
        return None


def _allocation(cfg, vol: str) -> int:
    out = libvirt.virsh(cfg, "vol-info", "--bytes", vol, "--pool", pool_name(cfg))
    found = re.search(r"Allocation:\s+(\d+)", out)
    return int(found.group(1)) if found else 0


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
        try:
            libvirthost.write_file(cfg, f"{DNSMASQ_DIR}/{info['bridge']}.status", leases.read_text())
        except ToolError as exc:
            console.warn(f"libvirt's DHCP leases of {net} could not be put back on {libvirthost.of(cfg).describe()} "
                         f"({exc.message[:120]}): Vagrant finds the machines again at their next DHCP renewal; "
                         "xenlab uses the snapshot's ssh-config meanwhile")
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


def _probed_chain(cfg, save: str) -> str:
    """The saved domain's definition without its disks' backing chains, so libvirt reads each
    chain from the disk again: the save holds the chain the disk had (built on the box's
    image), and libvirt uses a chain the XML gives as it is (qemu_domain.c,
    qemuDomainDetermineDiskChain), but the disk is now built on the snapshot's copy."""
    root = ET.fromstring(libvirt.virsh(cfg, "save-image-dumpxml", "--security-info", save))
    for disk in root.iter("disk"):
        for chain in disk.findall("backingStore"):
            disk.remove(chain)
    return ET.tostring(root, encoding="unicode") + "\n"


def _disk_back(cfg, disk: dict, store: str) -> None:
    """The machine's disk as a new overlay on the snapshot's copy, where the disk was."""
    path = disk["path"]
    try:
        libvirt.virsh(cfg, "vol-delete", path)
    except ToolError:
        pass  # gone with its machine (`down`): made anew below
    name = path.rsplit("/", 1)[-1]
    xml = cfg.paths.snapshots / f".{name}.xml"
    write_file(xml, _volume_xml(name, disk["capacity"], f"{store}/{disk['volume']}"))
    try:
        libvirt.virsh(cfg, "vol-create", libvirt.STORAGE_POOL, str(xml))
    finally:
        xml.unlink(missing_ok=True)
    made = libvirt.virsh(cfg, "vol-path", name, "--pool", libvirt.STORAGE_POOL).strip()
    if made != path:
        raise HostError(f"the restored disk of {name} is at {made}, not {path} where its machine had it: "
                        "the default pool moved since the snapshot; take a new snapshot")


def restore(cfg, name: str) -> dict:
    """Put snapshot `name` back and resume its machines; returns its record."""
    check_provider(cfg)
    meta = read(cfg, name)
    src = folder(cfg, name)
    store = meta["pool_dir"]
    have = set(_volumes(cfg))
    for m, info in meta["machines"].items():
        gone = [v for v in [info["save"], *(d["volume"] for d in info["disks"])] if v not in have]
        if gone:
            raise HostError(f"snapshot {name!r} needs {gone[0]} ({m}), which is no longer in libvirt's pool "
                            f"{meta['pool']} on {libvirthost.of(cfg).describe()}: take a new snapshot")
    defined = libvirt.virsh(cfg, "list", "--all", "--uuid").split()
    for m, info in meta["machines"].items():
        later = libvirt.domain_id(cfg, m)
        if later and later != info["uuid"] and later in defined:
            # A machine `up` made since holds the name: it gives way (its disk is replaced below).
            libvirt.stop_domain(cfg, later)
            libvirt.virsh(cfg, "undefine", later)
        if info["uuid"] in defined:
            libvirt.stop_domain(cfg, info["uuid"])
    for role, info in meta["networks"].items():
        _network_back(cfg, src, role, info)
    libvirt.ensure_pool(cfg)
    for m, info in meta["machines"].items():
        for disk in info["disks"]:
            _disk_back(cfg, disk, store)
        dest = machine_dir(cfg, m, "libvirt")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src / "vagrant" / m, dest)
    for m, info in meta["machines"].items():
        if info["uuid"] not in defined:
            libvirt.virsh(cfg, "define", str(src / f"{m}.xml"))
    with tempfile.TemporaryDirectory(dir=cfg.paths.snapshots) as tmp:
        restores = []
        for m, info in meta["machines"].items():
            write_file(Path(tmp) / f"{m}.xml", _probed_chain(cfg, f"{store}/{info['save']}"), secret=True)
            restores.append(("restore", f"{store}/{info['save']}", "--xml", str(Path(tmp) / f"{m}.xml"), "--running"))
        libvirt.virsh_each(cfg, restores, timeout=SAVE_TIMEOUT)
    for as_name, path in _lab_files(cfg).items():
        if (src / as_name).is_file():
            ensure_dir(path.parent)
            shutil.copy(src / as_name, path)
    ssh_config_back(cfg)
    sshconfig.wait_answering(cfg)
    collect(cfg)  # copies the machines were built on before, if no snapshot names them
    console.say(f"    restored {', '.join(m for m in MACHINES if m in meta['machines'])} from snapshot {name} "
                f"({meta['taken']})")
    return meta
