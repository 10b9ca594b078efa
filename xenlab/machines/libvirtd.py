"""The local libvirt daemons: who runs them on this host, and starting them where no
service manager does (a container, WSL without systemd).

With systemd as PID 1 (sd_booted(3): /run/systemd/system exists), Debian's units run
them (libvirt-daemon-system: libvirtd.socket, virtlogd.socket) and xenlab starts
nothing. Without it, the first task that needs libvirtd (`up`, `lab`, `down`, ...)
starts `virtlogd -d` and `libvirtd -d`, as libvirt's daemon docs give for a host with
no init system, says so, and notes the PID it started, so that `doctor` tells a
libvirtd xenlab started from one started some other way. Only the local system
daemon (qemu:///system) is xenlab's to start: a remote or custom URI is not.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..core import console, hosttools, proc
from ..core.files import write_file
from ..core.paths import LIBVIRTD_STARTED
from ..errors import HostError, ToolError

SYSTEMD_RUNTIME = Path("/run/systemd/system")  # sd_booted(3): systemd is PID 1
# Where the system daemons write their PIDs when root runs them (libvirt's
# virPidFileConstructPath under LOCALSTATEDIR/run).
PID_FILES = {"virtlogd": Path("/run/virtlogd.pid"), "libvirtd": Path("/run/libvirtd.pid")}
LOCAL_URIS = ("qemu:///system",)
START_WAIT_S = 30.0  # libvirtd answers within seconds; bounded all the same
START_TIMEOUT_S = 60.0  # each `-d` start returns once the daemon forked

SYSTEMD, XENLAB, OTHER, NOT_RUNNING = "systemd", "started by xenlab", "running", "not running"


@dataclass(frozen=True)
class Daemon:
    """Who runs libvirtd here: one of SYSTEMD, XENLAB, OTHER, NOT_RUNNING."""

    case: str
    pid: int | None = None

    def describe(self) -> str:
        if self.case == SYSTEMD:
            return "systemd-managed (libvirtd.service)"
        if self.case == XENLAB:
            return f"started by xenlab, no service manager here (pid {self.pid})"
        if self.case == OTHER:
            return f"running outside systemd, not started by xenlab (pid {self.pid})"
        return "not running, and no service manager here: the first `invoke up` or `lab` starts it"


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if proc.pid_alive(pid) else None


def systemd_runs_it() -> bool:
    return SYSTEMD_RUNTIME.is_dir()


def local(uri: str) -> bool:
    return uri in LOCAL_URIS


def who() -> Daemon:
    if systemd_runs_it():
        return Daemon(SYSTEMD)
    pid = _pid(PID_FILES["libvirtd"])
    if pid is None:
        return Daemon(NOT_RUNNING)
    return Daemon(XENLAB if _pid(LIBVIRTD_STARTED) == pid else OTHER, pid)


def startable(uri: str) -> bool:
    """Is a libvirtd that does not answer at `uri` xenlab's to start?"""
    return local(uri) and not systemd_runs_it() and _pid(PID_FILES["libvirtd"]) is None


def start(log: Path, answers) -> Daemon:
    """Start virtlogd (unless it runs) and libvirtd, wait until `answers()` is true, say so."""
    if os.geteuid() != 0:
        raise HostError("libvirtd is not running and no service manager runs it here: start it as root "
                        "(`sudo virtlogd -d && sudo libvirtd -d`)")
    started = []
    try:
        for daemon in ("virtlogd", "libvirtd"):
            if _pid(PID_FILES[daemon]) is None:
                path = hosttools.tool(daemon).find()
                if path is None:
                    raise ToolError(f"{daemon} not found ({hosttools.tool(daemon).remedy()})")
                proc.run([path, "-d"], timeout=START_TIMEOUT_S, quiet=True, log=log, what=f"{daemon} -d")
                started.append(daemon)
    except ToolError as exc:
        raise HostError(f"libvirtd is not running and no service manager runs it here; starting it failed: "
                        f"{exc.message}") from None
    deadline = time.monotonic() + START_WAIT_S
    while not answers():
        if time.monotonic() >= deadline:
            raise HostError(f"libvirtd was started but did not answer within {START_WAIT_S:.0f} s; see {log}")
        time.sleep(0.5)
    pid = _pid(PID_FILES["libvirtd"])
    if pid is not None:
        write_file(LIBVIRTD_STARTED, f"{pid}\n")
    pids = ", ".join(f"{d} (pid {_pid(PID_FILES[d])})" for d in started)
    console.say(f"==> libvirtd: no service manager runs it here, so xenlab started {pids}; they run until "
                "stopped (`kill $(cat /run/libvirtd.pid)`) or the host restarts")
    return Daemon(XENLAB, pid)
