"""Where libvirtd runs: this machine, or a remote host reached over SSH (lab.libvirt_uri).

vagrant-libvirt and virsh reach a remote host by themselves (`qemu+ssh://you@big-host/
system`: libvirt's SSH transport, vagrant-libvirt's `ssh ... -W %h:%p` jump to the
guests). What else xenlab needs on that host goes over the same SSH, as the same user
with the same key and port, never a shell of its own choosing:

- the lab's networks live there, so wire and verify reach the xenserver machine
  through it (machines/labnet.py: a forwarded port for XenAPI, a jump for dom0's SSH);
- doctor reads the host's own facts there (memory, the pool's disk, nested KVM);
- libvirt's DHCP leases of the lab's networks are files there (machines/saves.py).

Everything else is libvirt's remote API (`virsh -c <uri>`). libvirt's errors when the
host lacks something are read here into one line that names the fix.
"""

from __future__ import annotations

import base64
import functools
import re
import shlex
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..core import kvm, proc
from ..core.config import remote_host
from ..errors import HostError, ToolError

CONNECT_S = 15  # ssh's ConnectTimeout: a host that does not answer is said so, not waited for
RUN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Host:
    """The host of a libvirt URI: '' hostname for this machine."""

    uri: str
    hostname: str = ""
    user: str = ""
    port: int | None = None
    keyfile: str = ""
    no_verify: bool = False  # libvirt's no_verify=1: do not check the host's key

    @property
    def remote(self) -> bool:
        return bool(self.hostname)

    def describe(self) -> str:
        if not self.remote:
            return "this machine"
        return f"{self.user + '@' if self.user else ''}{self.hostname}{f':{self.port}' if self.port else ''}"

    def ssh(self, *options: str) -> list[str]:
        """ssh to the host as libvirt's SSH transport reaches it (libvirt's src/rpc/virnetsocket.c
        builds the same: -p port, -l user, -i keyfile, StrictHostKeyChecking=no for no_verify)."""
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_S}"]
        argv += ["-p", str(self.port)] if self.port else []
        argv += ["-l", self.user] if self.user else []
        argv += ["-i", self.keyfile] if self.keyfile else []
        argv += ["-o", "StrictHostKeyChecking=no"] if self.no_verify else []
        return argv + list(options) + [self.hostname]

    def proxy_command(self) -> str:
        """An ssh ProxyCommand that jumps through the host to %h:%p (as vagrant-libvirt's own)."""
        return shlex.join(self.ssh("-W", "%h:%p"))


def parse(uri: str) -> Host:
    if not remote_host(uri):
        return Host(uri)
    parts = urllib.parse.urlsplit(uri)
    query = urllib.parse.parse_qs(parts.query)
    return Host(uri, parts.hostname or "", urllib.parse.unquote(parts.username or ""), parts.port,
                query.get("keyfile", [""])[0], query.get("no_verify", ["0"])[0] == "1")


def of(cfg) -> Host:
    return parse(cfg.lab.libvirt_uri)


def run(cfg, script: str, what: str, timeout: float = RUN_TIMEOUT) -> str:
    """A POSIX shell script on the host where libvirtd runs; its output."""
    host = of(cfg)
    argv = [*host.ssh(), script] if host.remote else ["sh", "-c", script]  # ssh hands it to the login shell
    return proc.run(argv, timeout=timeout, quiet=True, log=cfg.paths.log("libvirt-host"), what=what,
                    split_stderr=True)


def read_file(cfg, path: str) -> str | None:
    """A small file on the libvirt host, None when it is not there."""
    out = run(cfg, f"if [ -f {shlex.quote(path)} ]; then echo present; cat {shlex.quote(path)}; fi",
              f"read {path}")
    first, _, rest = out.partition("\n")
    return rest + ("\n" if rest and not rest.endswith("\n") else "") if first == "present" else None


def write_file(cfg, path: str, text: str) -> None:
    """A small file on the libvirt host, in place (mode 0644, as libvirt keeps its lease files)."""
    data = base64.b64encode(text.encode()).decode()
    where = shlex.quote(path)
    run(cfg, f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0] or '/')} && printf '%s' {data} | base64 -d > {where} "
             f"&& chmod 0644 {where}", f"write {path}")


# ------------------------------------------------------------------ the host's facts (doctor)


@dataclass(frozen=True)
class Facts:
    memory_available_mb: int
    disk_free_gb: int  # of the file system that holds (or will hold) the storage pool
    nested: str  # "yes", "no" or "unknown": kvm_intel/kvm_amd's `nested`, as core.kvm reads it here


FACTS = r"""
awk '/^MemAvailable:/ {print $2}' /proc/meminfo
d=@POOL@; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d" | awk 'NR==2 {print $4}'
cat /sys/module/kvm_intel/parameters/nested /sys/module/kvm_amd/parameters/nested 2>/dev/null || echo unknown
"""


def facts(cfg, pool_path: str) -> Facts:
    """The host's memory, the pool's free disk and nested KVM, in one SSH round trip."""
    out = run(cfg, FACTS.replace("@POOL@", shlex.quote(pool_path)), "read the libvirt host's facts").split()
    if len(out) < 3 or not (out[0].isdigit() and out[1].isdigit()):
        raise ToolError(f"unexpected answer from {of(cfg).describe()}: {' '.join(out)[:80]!r}")
    nested = "yes" if out[2] in ("Y", "1") else "no" if out[2] in ("N", "0") else "unknown"
    return Facts(int(out[0]) // 1024, int(out[1]) // 2**20, nested)


def kvm_offered(cfg) -> bool:
    """Does libvirt on the host offer KVM domains (`virsh capabilities` names domain type kvm)?"""
    return _kvm_offered(cfg.lab.libvirt_uri, str(cfg.paths.log("virsh")))


@functools.lru_cache(maxsize=8)
def _kvm_offered(uri: str, log: str) -> bool:
    try:
        caps = proc.run(["virsh", "-c", uri, "-q", "capabilities"], timeout=RUN_TIMEOUT, quiet=True, log=Path(log),
                        what="virsh capabilities", split_stderr=True)
    except ToolError as exc:
        raise HostError(diagnose(parse(uri), exc.message)) from None
    return re.search(r"<domain type=['\"]kvm['\"]", caps) is not None


def accelerator(cfg) -> str:
    """'kvm' or 'tcg': what the lab's machines run with, judged where they run. Here: core.kvm's
    probe. On a remote host (lab.accelerator "auto"): KVM when its libvirt offers it; a host
    whose KVM cannot boot a guest anyway (a paravirtual one) needs lab.accelerator = "tcg"."""
    if cfg.lab.accelerator != "auto" or cfg.lab.provider != "libvirt" or not of(cfg).remote:
        return kvm.accelerator(cfg.lab.accelerator)
    return "kvm" if kvm_offered(cfg) else "tcg"


# ------------------------------------------------------------------ what libvirt's errors mean

# libvirt's messages (virsh over qemu+ssh, with virt-ssh-helper or nc on the host) -> the fix.
_DIAGNOSES = (
    (r"Could not resolve hostname", "{host} is not a known host name: fix lab.libvirt_uri"),
    (r"Connection refused|Connection timed out|No route to host|Network is unreachable|"
     r"Operation timed out",
     "SSH to {host} does not connect ({reason}): is the host up, and its sshd listening?"),
    (r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED",
     "SSH does not know {host}'s host key: `ssh {login}` once and accept it (or add it to known_hosts)"),
    (r"Permission denied \((publickey|password|keyboard)",
     "SSH to {host} refused the login: xenlab and vagrant-libvirt need key login there "
     "(`ssh-copy-id {login}`, or ?keyfile= in lab.libvirt_uri)"),
    (r"libvirt-sock'?: (No such file or directory|Connection refused)",
     "libvirtd is not running on {host}: start it there (`sudo systemctl enable --now libvirtd`)"),
    (r"libvirt-sock'?: Permission denied|no polkit agent|authentication unavailable|"
     r"not authorized|access denied",
     "user {user} may not manage libvirt on {host}: add it to the libvirt group there "
     "(`sudo usermod -aG libvirt {user}`, then log in again)"),
    (r"nc: not found|virt-ssh-helper: not found|command not found",
     "{host} has no libvirt to talk to (neither virt-ssh-helper nor nc): install libvirt-daemon-system there"),
)


def diagnose(host: Host, message: str) -> str:
    """One line naming what the host lacks and the fix, from libvirt's (or ssh's) error."""
    login = f"{host.user + '@' if host.user else ''}{host.hostname}" + (f" -p {host.port}" if host.port else "")
    for pattern, fix in _DIAGNOSES:
        found = re.search(pattern, message)
        if found:
            return fix.format(host=host.hostname, login=login, user=host.user or "your user", reason=found.group(0))
    return f"libvirt on {host.describe()} does not answer: {message.strip()[:200]}"
