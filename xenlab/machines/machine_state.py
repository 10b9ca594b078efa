"""What the lab's machines are now: their state (from libvirt, else Vagrant), their
boxes being installed, and the `vagrant ssh-config` recorded for verify and status."""

from __future__ import annotations

from ..core.files import write_file
from ..errors import ToolError
from . import labspec, libvirt, sshconfig, vagrantcli
from .labspec import MACHINES

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
