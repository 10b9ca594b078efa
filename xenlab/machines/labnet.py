"""How this machine reaches the lab's private network: the xenserver machine's XenAPI
and dom0's SSH, which wire and verify talk to.

A local lab's networks are this machine's (libvirt gives the host the first address of
each), so XenAPI is http://<xenserver_ip> and dom0 is root@<xenserver_ip>. A lab on a
remote libvirt host has its networks there, so wire and verify go through that host's
SSH (libvirthost.py), as vagrant-libvirt reaches the guests:

- XenAPI through a forwarded port, `ssh -N -L 127.0.0.1:<free port>:<xenserver_ip>:80
  <host>`, for as long as the stage needs it (xenlab's own XenAPI client takes a port;
  Nova's cannot, and needs none: it runs in the devstack machine, beside the host);
- dom0's SSH with the host as its jump (ProxyCommand `ssh <host> -W %h:%p`), so dom0's
  host key is recorded under dom0's own address.

An existing XenServer (`wire.host`) is on your network: reached directly.
"""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from ..core import proc
from ..errors import HostError
from . import libvirthost

XENAPI_PORT = 80  # where XAPI serves (Nova's client cannot take another: FACTS.md section 9)
FORWARD_WAIT_S = libvirthost.CONNECT_S + 10.0


@dataclass(frozen=True)
class Reach:
    url: str  # XenAPI's URL from this machine
    via: str = ""  # how it is reached, for messages: '' or ' (through <host>)'


def through_host(cfg) -> bool:
    """Does this machine reach the lab's xenserver machine through the libvirt host?"""
    return libvirthost.of(cfg).remote and not cfg.wire.host


def ssh_options(cfg) -> list[str]:
    """Options that make ssh reach dom0 from here (none for a local lab or an existing host)."""
    if not through_host(cfg):
        return []
    return ["-o", f"ProxyCommand={libvirthost.of(cfg).proxy_command()}"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def forward(cfg, ip: str, port: int) -> Iterator[int]:
    """A local port forwarded through the libvirt host to ip:port, while the block runs."""
    host = libvirthost.of(cfg)
    for attempt in (1, 2):  # a port taken between choosing and binding it: choose again, once
        local = _free_port()
        tunnel = proc.start(host.ssh("-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=10",
                                     "-L", f"127.0.0.1:{local}:{ip}:{port}"),
                            quiet=True, log=cfg.paths.log("tunnel"), what=f"ssh tunnel to {ip}:{port}",
                            split_stderr=True)
        deadline = time.monotonic() + FORWARD_WAIT_S
        while tunnel.poll() is None and not _accepting(local) and time.monotonic() < deadline:
            time.sleep(0.2)
        if tunnel.poll() is None and _accepting(local):
            break
        exited = tunnel.poll() is not None
        tunnel.stop()
        tunnel.wait(10)
        failure = proc.failing_line(tunnel.lines + tunnel.err_lines)
        if attempt == 2 or "forward" not in failure.lower():
            why = libvirthost.diagnose(host, failure) if exited else f"no forward within {FORWARD_WAIT_S:.0f} s"
            raise HostError(f"cannot reach {ip}:{port} through {host.describe()}: {why}")
    try:
        yield local
    finally:
        tunnel.stop()
        tunnel.wait(10)


@contextmanager
def xenapi(cfg) -> Iterator[Reach]:
    """XenAPI's URL from this machine, valid while the block runs."""
    from ..devstack import conf as devstack

    if not through_host(cfg):
        yield Reach(devstack.connection_url(cfg))
        return
    with forward(cfg, devstack.xenapi_host(cfg), XENAPI_PORT) as local:
        yield Reach(f"http://127.0.0.1:{local}", f" (through {libvirthost.of(cfg).describe()})")
