"""The libvirt provider: is libvirtd there, what state a machine's domain is in
(read straight from libvirt, in milliseconds rather than a `vagrant status`), and
what vagrant-libvirt leaves behind on `destroy` (domains, volumes, networks).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from ..core import console, proc
from ..errors import HostError, ToolError
from . import labspec, libvirtd, libvirthost
from .vagrantcli import machine_dir

STORAGE_POOL = "default"  # vagrant-libvirt's default pool
# Where vagrant-libvirt would put that pool (lib/vagrant-libvirt/util/storage_util.rb).
SYSTEM_POOL_PATH = "/var/lib/libvirt/images"
SESSION_POOL_PATH = "~/.local/share/libvirt/images"
VIRSH_TIMEOUT = 60.0


def virsh(cfg, *args: str, timeout: float = VIRSH_TIMEOUT) -> str:
    return proc.run(["virsh", "-c", cfg.lab.libvirt_uri, "-q", *args], quiet=True, timeout=timeout,
                    log=cfg.paths.log("virsh"), what=f"virsh {args[0]}", split_stderr=True)


def virsh_each(cfg, calls: list[tuple[str, ...]], timeout: float = VIRSH_TIMEOUT) -> None:
    """Several virsh calls at once (each machine's save or restore), all bounded by `timeout`."""
    started = [(args, proc.start(["virsh", "-c", cfg.lab.libvirt_uri, "-q", *args], quiet=True,
                                 log=cfg.paths.log("virsh"), what=f"virsh {args[0]}", split_stderr=True))
               for args in calls]
    failed = []
    for args, p in started:
        code = p.wait(timeout)
        if code != 0:
            failed.append(f"virsh {' '.join(args[:2])} " + ("took too long" if code is None else
                                                           f"failed: {proc.failing_line(p.lines + p.err_lines)}"))
    if failed:
        raise ToolError(f"{failed[0]}; full log: {cfg.paths.log('virsh')}")


def stop_domain(cfg, uuid: str) -> None:
    """Power a domain off (a running one only), keeping its definition."""
    if virsh(cfg, "domstate", uuid).strip() not in ("shut off", "crashed"):
        virsh(cfg, "destroy", uuid)


def failure(cfg) -> str:
    """Why libvirt does not answer at lab.libvirt_uri ('' when it does)."""
    try:
        virsh(cfg, "uri")
    except ToolError as exc:
        return exc.message
    return ""


def answers(cfg) -> bool:
    return not failure(cfg)


def check(cfg, start: bool = True) -> None:
    """libvirtd answers at lab.libvirt_uri, or one line saying what is missing and the fix.
    With `start`, a local libvirtd that no service manager runs is started first
    (libvirtd.py); a remote host's is never xenlab's to start (libvirthost.py names the fix)."""
    if cfg.lab.provider != "libvirt":
        return
    proc.require("virsh")
    if answers(cfg):
        return
    host = libvirthost.of(cfg)
    if host.remote:
        raise HostError(libvirthost.diagnose(host, failure(cfg)))
    if start and libvirtd.startable(cfg.lab.libvirt_uri):
        libvirtd.start(cfg.paths.log("libvirtd"), lambda: answers(cfg))
        return
    raise HostError(
        f"libvirtd is not reachable at {cfg.lab.libvirt_uri}: start it (`systemctl start libvirtd`, "
        "or `virtlogd -d && libvirtd -d` without systemd) or fix lab.libvirt_uri"
    )


def domain_id(cfg, machine: str) -> str:
    """The domain's UUID, as vagrant-libvirt recorded it ('' when not created)."""
    try:
        return (machine_dir(cfg, machine, "libvirt") / "id").read_text().strip()
    except OSError:
        return ""


def domain_state(cfg, machine: str) -> str:
    """'running', 'shut off', 'paused', ... or 'not_created'."""
    uuid = domain_id(cfg, machine)
    if not uuid:
        return "not_created"
    try:
        return virsh(cfg, "domstate", uuid).strip() or "unknown"
    except ToolError:
        return "not_created"


def leftovers(cfg) -> dict[str, list[str]]:
    """The lab's domains, volumes and networks that libvirt still has."""
    prefix = labspec.domain_prefix(cfg)
    domains = [d for d in virsh(cfg, "list", "--all", "--name").split() if d.startswith(prefix)]
    volumes = [v for v in volumes_in_pool(cfg) if v.startswith(prefix)]
    nets = set(virsh(cfg, "net-list", "--all", "--name").split())
    networks = [n for n in labspec.network_names(cfg).values() if n in nets]
    return {"domains": domains, "volumes": volumes, "networks": networks}


def volumes_in_pool(cfg) -> list[str]:
    pools = virsh(cfg, "pool-list", "--all", "--name").split()
    if STORAGE_POOL not in pools:
        return []
    return [line.split()[0] for line in virsh(cfg, "vol-list", STORAGE_POOL).splitlines() if line.strip()]


def box_volumes(cfg, boxes: list[str]) -> list[str]:
    """The images vagrant-libvirt uploaded for these boxes (shared by every lab that uses them)."""
    prefixes = tuple(box.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_" for box in boxes)
    return [v for v in volumes_in_pool(cfg) if v.startswith(prefixes)]


def pool_path(uri: str) -> str:
    """The directory vagrant-libvirt gives the default pool for this connection."""
    session = uri.split("?", 1)[0].rstrip("/").endswith("/session")
    return str(Path(SESSION_POOL_PATH).expanduser()) if session else SYSTEM_POOL_PATH


def ensure_pool(cfg, name: str = STORAGE_POOL, target: str = "") -> None:
    """A dir pool, defined, built and started as vagrant-libvirt makes its default one on its
    first upload (lib/vagrant-libvirt/action/handle_storage_pool.rb): a fresh libvirtd has
    none, and the probe disk goes into it before Vagrant runs. `target`: the pool's
    directory on the libvirt host (the default pool's: where vagrant-libvirt would put it)."""
    if name not in virsh(cfg, "pool-list", "--all", "--name").split():
        target = target or pool_path(cfg.lab.libvirt_uri)
        console.say(f"    libvirt: defining storage pool {name} at {target}")
        virsh(cfg, "pool-define-as", name, "dir", "--target", target)
        virsh(cfg, "pool-build", name)
    if name not in virsh(cfg, "pool-list", "--name").split():
        virsh(cfg, "pool-start", name)


def pool_target(cfg, name: str = STORAGE_POOL) -> str:
    """A pool's directory on the libvirt host, as libvirt has it."""
    found = re.search(r"<target>\s*<path>([^<]+)</path>", virsh(cfg, "pool-dumpxml", name))
    if not found:
        raise ToolError(f"libvirt's storage pool {name} has no directory")
    return found.group(1)


def remove_pool(cfg, name: str) -> None:
    """A pool with every volume in it, its directory and its definition (gone already: nothing to do)."""
    if name not in virsh(cfg, "pool-list", "--all", "--name").split():
        return
    if name not in virsh(cfg, "pool-list", "--name").split():
        virsh(cfg, "pool-start", name)
    for vol in [line.split()[0] for line in virsh(cfg, "vol-list", name).splitlines() if line.strip()]:
        virsh(cfg, "vol-delete", vol, "--pool", name)
    virsh(cfg, "pool-destroy", name)
    virsh(cfg, "pool-delete", name)
    virsh(cfg, "pool-undefine", name)


def ensure_volume(cfg, name: str, source: Path) -> None:
    """A volume in the pool with `source`'s bytes, uploaded once (read by the machines, never written)."""
    ensure_pool(cfg)
    if name in volumes_in_pool(cfg):
        return
    console.say(f"    libvirt: uploading {source.name} as volume {name}")
    virsh(cfg, "vol-create-as", STORAGE_POOL, name, str(source.stat().st_size), "--format", "raw")
    virsh(cfg, "vol-upload", "--pool", STORAGE_POOL, name, str(source), timeout=600)


def _backing_paths(cfg, keep: list[str]) -> set[str]:
    """Paths other volumes are built on: a box image still in use must stay."""
    used = set()
    for vol in keep:
        xml = virsh(cfg, "vol-dumpxml", vol, "--pool", STORAGE_POOL)
        used.update(re.findall(r"<backingStore>\s*<path>([^<]+)</path>", xml))
    return used


def built_on(cfg) -> set[str]:
    """Paths the default pool's volumes are built on (box images, snapshots' copies of disks)."""
    return _backing_paths(cfg, volumes_in_pool(cfg))


def attached_paths(cfg) -> set[str]:
    """Every file disk of every domain libvirt has (another lab's machine uses Nova's probe disk too)."""
    used = set()
    for dom in virsh(cfg, "list", "--all", "--name").split():
        for line in virsh(cfg, "domblklist", dom, "--details").splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[0] == "file":
                used.add(fields[3])
    return used


def remove_volumes(cfg, names: list[str]) -> None:
    """Delete volumes, except those another volume is built on or a machine has attached."""
    others = [v for v in volumes_in_pool(cfg) if v not in names]
    in_use = _backing_paths(cfg, others) | attached_paths(cfg)
    for vol in names:
        path = virsh(cfg, "vol-path", vol, "--pool", STORAGE_POOL).strip()
        if path in in_use:
            console.say(f"    kept volume {vol} (another lab's machine is built on it or uses it)")
            continue
        virsh(cfg, "vol-delete", vol, "--pool", STORAGE_POOL)
        console.say(f"    removed volume {vol}")


def clean(cfg) -> None:
    """Remove the lab's domains, their volumes and its networks (not the box images)."""
    for dom in leftovers(cfg)["domains"]:
        with contextlib.suppress(ToolError):
            virsh(cfg, "destroy", dom)
        virsh(cfg, "undefine", dom, "--remove-all-storage")
        console.say(f"    removed domain {dom}")
    left = leftovers(cfg)
    remove_volumes(cfg, left["volumes"])
    for net in left["networks"]:
        with contextlib.suppress(ToolError):
            virsh(cfg, "net-destroy", net)
        virsh(cfg, "net-undefine", net)
        console.say(f"    removed network {net}")
