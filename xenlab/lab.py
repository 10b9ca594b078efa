"""The lab's machines: `up`, `down` and what `status` shows, through python-vagrant.

The top-level Vagrantfile does the work and reads the lab spec; this module only
renders the spec, checks what Vagrant would otherwise fail on obscurely (boxes,
libvirtd), runs Vagrant with the spec's path in its environment, and cleans up
what vagrant-libvirt leaves behind on `destroy` (base box volumes, networks).

python-vagrant's `env=` replaces the whole environment, so `vagrant_env` starts
from os.environ. Its calls have no timeout: each runs in a worker thread and is
stopped (with every process it started) when its time is up.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import console, labspec, plan
from .config import PROJECT_DIR
from .errors import HostError, ToolError
from .proc import pump_lines, require, run as run_tool
from .state import State, digest, digest_files

MACHINES = ("xenserver", "devstack")
VAGRANTFILE = PROJECT_DIR / "Vagrantfile"
SCRIPTS = PROJECT_DIR / "vagrant"
STORAGE_POOL = "default"  # vagrant-libvirt's default pool

# Bounds on every Vagrant call: a nested XenServer under TCG and DevStack's
# stack.sh are slow, the stand-in lab takes about three minutes.
UP_TIMEOUT = {"standin": 1800.0}
UP_TIMEOUT_REAL = 4 * 3600.0
DESTROY_TIMEOUT = 600.0
QUERY_TIMEOUT = 120.0
VIRSH_TIMEOUT = 60.0


# ---------------------------------------------------------------- Vagrant plumbing

ERASE_LINE = "\x1b[K"
_PROGRESS = re.compile(r"^Progress: \d+%")


def spec_path(cfg) -> Path:
    return cfg.lab_dir / "lab.json"


def log_path(cfg, name: str) -> Path:
    return cfg.lab_dir / "logs" / f"{name}.log"


def vagrant_env(cfg) -> dict[str, str]:
    """The whole environment for Vagrant (python-vagrant's env= replaces it)."""
    return {
        **os.environ,
        # Which lab the Vagrantfile reads, whatever .xenlab/active says.
        "XENLAB_LAB_SPEC": str(spec_path(cfg)),
        # Machine state beside the lab's config: the checkout's .vagrant for a lab
        # configured in the checkout, so plain `vagrant` sees the same machines.
        "VAGRANT_DOTFILE_PATH": str(cfg.root / ".vagrant"),
        "LIBVIRT_DEFAULT_URI": cfg.lab.libvirt_uri,
    }


@contextlib.contextmanager
def _pump(log: Path | None, quiet: bool, sink: list[str]):
    """A pipe a tool writes to; each line is redacted, logged, shown and kept."""
    read_fd, write_fd = os.pipe()
    log_fh = None
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_fh = log.open("a")

    def pump() -> None:
        with os.fdopen(read_fd, errors="replace") as fh:
            # A box upload prints thousands of progress lines: keep only the last.
            pump_lines((raw.replace(ERASE_LINE, "") for raw in fh), sink, log_fh, quiet,
                       keep=lambda line: not _PROGRESS.match(line) or line.startswith("Progress: 100%"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield write_fd
    finally:
        os.close(write_fd)
        reader.join(timeout=10)
        if log_fh:
            log_fh.close()


def _descendants(pid: int) -> list[int]:
    """Every live process below `pid` (from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_new_children(before: set[int]) -> None:
    """Stop the processes this call started (not others this process runs)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [p for p in _descendants(os.getpid()) if p not in before]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if not pids:
            return
        time.sleep(3)


def vagrant_call(cfg, what: str, method: str, *args, timeout: float, quiet: bool = False, **kwargs):
    """Run one python-vagrant method, output streamed and logged, within `timeout`.

    Raises ToolError with the last line Vagrant printed (Vagrant's own errors are
    one sentence, e.g. a missing box or an unreachable libvirtd).
    """
    import vagrant

    require("vagrant")
    lines: list[str] = []
    result: dict = {}
    log = log_path(cfg, what.split()[0])

    def work() -> None:
        try:
            with _pump(log, quiet, lines) as fd:
                client = vagrant.Vagrant(
                    root=str(PROJECT_DIR), env=vagrant_env(cfg),
                    out_cm=lambda: contextlib.nullcontext(fd), err_cm=lambda: contextlib.nullcontext(fd),
                )
                result["value"] = getattr(client, method)(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    before = set(_descendants(os.getpid()))
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _kill_new_children(before)
        worker.join(15)
        raise ToolError(f"vagrant {what} took longer than {timeout:.0f} s and was stopped; full log: {log}")
    error = result.get("error")
    if isinstance(error, subprocess.CalledProcessError):
        last = _machine_readable_error(error.output) or _last_message(lines)
        raise ToolError(f"vagrant {what} failed (exit {error.returncode}): {last}; full log: {log}")
    if error is not None:
        raise error
    return result.get("value")


def _machine_readable_error(output) -> str:
    """The message of `--machine-readable` output's error-exit line, if any."""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    for line in (output or "").splitlines():
        parts = line.split(",", 4)
        if len(parts) == 5 and parts[2] == "error-exit":
            text = parts[4].replace("%!(VAGRANT_COMMA)", ",").replace("\\n", " ")
            return console.redact(" ".join(text.split()))[:400]
    return ""


def _last_message(lines: list[str]) -> str:
    """Vagrant's error: the first line of its last paragraph, plus the rest of it."""
    text = [line.strip() for line in lines]
    while text and not text[-1]:
        text.pop()
    start = len(text)
    while start > 0 and text[start - 1]:
        start -= 1
    return " ".join(text[start:])[:400] or "(no output)"


# ---------------------------------------------------------------- preflight


def check_boxes(cfg) -> None:
    """xenlab's own boxes cannot be downloaded: say which command makes them."""
    spec = labspec.spec(cfg)
    boxes = vagrant_call(cfg, "box list", "box_list", timeout=QUERY_TIMEOUT, quiet=True)
    have = {(b.name, b.provider) for b in boxes}
    for role in MACHINES:
        name = spec[role]["box"]
        if name.startswith("xenlab/") and (name, cfg.lab.provider) not in have:
            raise ToolError(
                f"box {name} ({cfg.lab.provider}) is not installed: run `invoke build --flavour "
                f"{cfg.lab.flavour}` first (it builds and adds the lab's boxes)"
            )


def virsh(cfg, *args: str, quiet: bool = True) -> str:
    return run_tool(["virsh", "-c", cfg.lab.libvirt_uri, "-q", *args], quiet=quiet,
                    timeout=VIRSH_TIMEOUT, log=log_path(cfg, "virsh"))


def check_libvirt(cfg) -> None:
    if cfg.lab.provider != "libvirt":
        return
    require("virsh")
    try:
        virsh(cfg, "uri")
    except ToolError:
        raise HostError(
            f"libvirtd is not reachable at {cfg.lab.libvirt_uri}: start it (`systemctl start libvirtd`, "
            "or `virtlogd -d && libvirtd -d` without systemd) or fix lab.libvirt_uri"
        ) from None


# ---------------------------------------------------------------- the `up` stage


def inputs(cfg) -> str:
    """The spec plus the Vagrantfile and provisioning scripts that read it."""
    return digest(labspec.render(cfg), digest_files(VAGRANTFILE, SCRIPTS))


def machines(cfg) -> dict[str, str]:
    """Machine name -> Vagrant state ("running", "not_created", ...)."""
    statuses = vagrant_call(cfg, "status", "status", timeout=QUERY_TIMEOUT, quiet=True)
    return {s.name: s.state for s in statuses}


def present(cfg) -> bool:
    try:
        states = machines(cfg)
    except ToolError:
        return False  # run() then says why (libvirtd, boxes) in one line
    return all(states.get(m) == "running" for m in MACHINES)


def run(cfg, force: bool = False) -> None:
    plan.render_all(cfg, quiet=True)
    check_libvirt(cfg)
    check_boxes(cfg)
    timeout = UP_TIMEOUT.get(cfg.lab.flavour, UP_TIMEOUT_REAL)
    console.header(f"vagrant up: {', '.join(MACHINES)} (in order; `xenlab wire` runs after xenserver)")
    # --provision when forced, else Vagrant provisions only machines it creates.
    vagrant_call(cfg, "up", "up", provision=True if force else None, provider=cfg.lab.provider,
                 timeout=timeout)


# ---------------------------------------------------------------- down


def down(cfg) -> None:
    """Destroy the machines, then what vagrant-libvirt keeps; forget the lab's stages."""
    plan.render_all(cfg, quiet=True)
    check_libvirt(cfg)
    with console.stage(f"down: destroying lab {cfg.lab.name!r}"):
        console.header("vagrant destroy")
        vagrant_call(cfg, "destroy", "destroy", timeout=DESTROY_TIMEOUT)
        if cfg.lab.provider == "libvirt":
            console.header("libvirt: removing leftover domains, volumes and networks")
            clean_libvirt(cfg)
        forget_stages(cfg)


def forget_stages(cfg) -> None:
    """Every stage from `up` on is undone, and the machines' host keys; a built box stays valid."""
    from . import lifecycle

    names = lifecycle.names()
    st = State(cfg.lab_dir)
    later = names[names.index("up"):] if "up" in names else []
    st.forget(*later, *(n for n in list(st.stages) if n not in names))
    # The next xenserver machine boots with new SSH host keys: forget the old ones,
    # or wire would refuse it as a changed host.
    (cfg.lab_dir / "ssh" / "known_hosts").unlink(missing_ok=True)


def libvirt_leftovers(cfg) -> dict[str, list[str]]:
    """The lab's domains, volumes and networks that libvirt still has."""
    prefix = labspec.domain_prefix(cfg)
    spec = labspec.spec(cfg)
    box_prefixes = tuple(
        spec[m]["box"].replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_" for m in MACHINES
    )
    domains = [d for d in virsh(cfg, "list", "--all", "--name").split() if d.startswith(prefix)]
    volumes = [v for v in _volumes(cfg) if v.startswith(prefix) or v.startswith(box_prefixes)]
    nets = set(virsh(cfg, "net-list", "--all", "--name").split())
    networks = [n for n in labspec.network_names(cfg).values() if n in nets]
    return {"domains": domains, "volumes": volumes, "networks": networks}


def _volumes(cfg) -> list[str]:
    pools = virsh(cfg, "pool-list", "--all", "--name").split()
    if STORAGE_POOL not in pools:
        return []
    return [line.split()[0] for line in virsh(cfg, "vol-list", STORAGE_POOL).splitlines() if line.strip()]


def _backing_paths(cfg, keep: list[str]) -> set[str]:
    """Paths other volumes are built on: a box image still in use must stay."""
    used = set()
    for vol in keep:
        xml = virsh(cfg, "vol-dumpxml", vol, "--pool", STORAGE_POOL)
        used.update(re.findall(r"<backingStore>\s*<path>([^<]+)</path>", xml))
    return used


def clean_libvirt(cfg) -> None:
    left = libvirt_leftovers(cfg)
    for dom in left["domains"]:
        with contextlib.suppress(ToolError):
            virsh(cfg, "destroy", dom)
        virsh(cfg, "undefine", dom, "--remove-all-storage")
        console.say(f"    removed domain {dom}")
    left = libvirt_leftovers(cfg)
    others = [v for v in _volumes(cfg) if v not in left["volumes"]]
    in_use = _backing_paths(cfg, others)
    for vol in left["volumes"]:
        path = virsh(cfg, "vol-path", vol, "--pool", STORAGE_POOL).strip()
        if path in in_use:
            console.say(f"    kept volume {vol} (another lab's machine is built on it)")
            continue
        virsh(cfg, "vol-delete", vol, "--pool", STORAGE_POOL)
        console.say(f"    removed volume {vol}")
    for net in left["networks"]:
        with contextlib.suppress(ToolError):
            virsh(cfg, "net-destroy", net)
        virsh(cfg, "net-undefine", net)
        console.say(f"    removed network {net}")


# ---------------------------------------------------------------- status and ssh


def ssh_config(cfg, machine: str | None = None) -> str:
    """`vagrant ssh-config` for one machine or both (verify and tests use it)."""
    return vagrant_call(cfg, "ssh-config", "ssh_config", machine, timeout=QUERY_TIMEOUT, quiet=True)


def describe(cfg) -> list[dict]:
    """Both machines: Vagrant state, private address, SSH endpoint when running."""
    spec = labspec.spec(cfg)
    if not spec_path(cfg).is_file():
        states: dict[str, str] = {}
        note = "lab spec not rendered yet (run `invoke plan` or `invoke up`)"
    else:
        try:
            states, note = machines(cfg), ""
        except ToolError as exc:
            states, note = {}, exc.message
    out = []
    for m in MACHINES:
        state = states.get(m, "unknown")
        entry = {"machine": m, "state": state, "box": spec[m]["box"], "private_ip": spec[m]["ip"], "ssh": None}
        if state == "running":
            with contextlib.suppress(ToolError):
                conf = _parse_ssh_config(ssh_config(cfg, m))
                entry["ssh"] = f"{conf.get('User', '')}@{conf.get('HostName', '')}:{conf.get('Port', '22')}"
        if note:
            entry["note"] = note
        out.append(entry)
    return out


def _parse_ssh_config(text: str) -> dict[str, str]:
    conf = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            conf.setdefault(parts[0], parts[1])
    return conf
