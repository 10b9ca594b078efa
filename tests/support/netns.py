"""A network namespace made by the test, and libvirt running inside it.

Tests never talk to private-range addresses from the root namespace (it has a
default route): libvirtd, its guests' networks and every command that talks to a
guest (vagrant, virsh, ssh, xenlab) run inside a namespace with only `lo` up, so
the guests have no uplink.

libvirtd's sockets and state (/run/libvirt, /etc/libvirt, /var/lib/libvirt) are
shared by the whole filesystem, so only one libvirtd may run on the machine at a
time: `Libvirt.start` refuses when another one is alive. There is no systemd:
the daemons are started by hand and stopped by the PIDs they wrote. Cleanup
removes every domain, volume, network and pool that appeared while the test's
libvirtd ran, then every process left in the namespace. Every wait is bounded.

    with Netns("xenlab-t1") as ns, Libvirt(ns) as lv:
        ns.run(["vagrant", "up"], cwd=..., timeout=900)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Mapping, Sequence

from xenlab.core.proc import pid_alive

URI = "qemu:///system"
RUN = Path("/run")
LIBVIRTD_PID = RUN / "libvirtd.pid"
VIRTLOGD_PID = RUN / "virtlogd.pid"
NET_DEFS = Path("/etc/libvirt/qemu/networks")
DOMAIN_DEFS = Path("/etc/libvirt/qemu")
POOL_DEFS = Path("/etc/libvirt/storage")


class SupportError(RuntimeError):
    """The test's own machinery failed (not the code under test)."""


def _pid_from(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def stop_pid(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL and wait again."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.2)
    raise SupportError(f"process {pid} survived SIGKILL")


def wait_until(check, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Poll `check` until it returns something true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise SupportError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Netns:
    """`ip netns add NAME` with only `lo` up; `run` executes commands inside it."""

    def __init__(self, name: str | None = None):
        self.name = name or f"xenlab-test-{uuid.uuid4().hex[:8]}"
        self.created = False

    def __enter__(self) -> "Netns":
        self.create()
        return self

    def __exit__(self, *exc) -> None:
        self.delete()

    def create(self) -> None:
        if self.name in self.list():
            raise SupportError(f"network namespace {self.name} already exists")
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=30)
        self.created = True
        self.run(["ip", "link", "set", "lo", "up"], timeout=30)

    @staticmethod
    def list() -> list[str]:
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def argv(self, cmd: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *map(str, cmd)]

    def run(
        self,
        cmd: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        input: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run `cmd` in the namespace; output captured as text; bounded by `timeout`."""
        done = subprocess.run(
            self.argv(cmd), env={**os.environ, **(env or {})}, cwd=cwd, input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, start_new_session=True,
        )
        if check and done.returncode != 0:
            raise SupportError(
                f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def pids(self) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, timeout=30).stdout
        return [int(p) for p in out.split()]

    def delete(self) -> None:
        if not self.created:
            return
        # Whatever is still running in here was started by this test.
        for pid in self.pids():
            stop_pid(pid, timeout=10)
        subprocess.run(["ip", "netns", "delete", self.name], check=True, timeout=30)
        self.created = False


class Libvirt:
    """virtlogd + libvirtd inside a Netns, started by hand, stopped by PID. `images`: the
    default pool's directory as this process sees it (a remote host's is its own)."""

    def __init__(self, ns: Netns, images: Path = Path("/var/lib/libvirt/images")):
        self.ns = ns
        self.images = images
        self.pids: dict[str, int] = {}
        self.before: dict[str, set[str]] = {}

    def __enter__(self) -> "Libvirt":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def running_elsewhere() -> int | None:
        return _pid_from(LIBVIRTD_PID)

    def _snapshot(self) -> dict[str, set[str]]:
        """What libvirt had defined before this test (read from its files)."""
        def names(folder: Path) -> set[str]:
            return {p.stem for p in folder.glob("*.xml")} if folder.is_dir() else set()

        images = self.images
        return {
            "domains": names(DOMAIN_DEFS),
            "networks": names(NET_DEFS),
            "pools": names(POOL_DEFS),
            "volume_files": {p.name for p in images.iterdir()} if images.is_dir() else set(),
        }

    def start(self, timeout: float = 60.0) -> None:
        other = self.running_elsewhere()
        if other:
            raise SupportError(
                f"a libvirtd (pid {other}) is already running: its sockets are shared by the whole "
                "machine, so this test cannot start its own"
            )
        self.before = self._snapshot()
        for daemon, pidfile in (("virtlogd", VIRTLOGD_PID), ("libvirtd", LIBVIRTD_PID)):
            if daemon == "virtlogd" and _pid_from(pidfile):
                continue  # a virtlogd alone is harmless; libvirtd finds it by socket
            self.ns.run([daemon, "-d"], timeout=30)
            self.pids[daemon] = wait_until(lambda: _pid_from(pidfile), 30, what=f"{daemon}'s pid file")
        wait_until(lambda: self.virsh("uri", check=False).returncode == 0, timeout, what="libvirtd to answer")

    def expect(self) -> "Libvirt":
        """For daemons the code under test starts in the namespace: note what libvirt
        had, start nothing; `adopt` then takes them over, so `stop` stops them."""
        other = self.running_elsewhere()
        if other:
            raise SupportError(f"a libvirtd (pid {other}) is already running: this test cannot have its own")
        self.before = self._snapshot()
        return self

    def adopt(self) -> None:
        for daemon, pidfile in (("virtlogd", VIRTLOGD_PID), ("libvirtd", LIBVIRTD_PID)):
            pid = _pid_from(pidfile)
            if pid and pid in self.ns.pids():
                self.pids[daemon] = pid

    def virsh(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.ns.run(["virsh", "-c", URI, "-q", *args], timeout=timeout, check=check)

    def names(self, *args: str) -> list[str]:
        return [line.split()[0] for line in self.virsh(*args).stdout.splitlines() if line.strip()]

    def domains(self) -> list[str]:
        return self.names("list", "--all", "--name")

    def networks(self, active_only: bool = False) -> list[str]:
        return self.names("net-list", "--name", *([] if active_only else ["--all"]))

    def volumes(self, pool: str = "default") -> list[str]:
        if pool not in self.names("pool-list", "--all", "--name"):
            return []
        return self.names("vol-list", pool)

    def new_since_start(self) -> dict[str, list[str]]:
        """Domains, networks, pools and volumes this test's libvirtd added."""
        return {
            "domains": [d for d in self.domains() if d not in self.before["domains"]],
            "networks": [n for n in self.networks() if n not in self.before["networks"]],
            "pools": [p for p in self.names("pool-list", "--all", "--name") if p not in self.before["pools"]],
            "volumes": [v for v in self.volumes() if v not in self.before["volume_files"]],
        }

    def clean(self) -> None:
        """Remove what the test left; ignore what is already gone."""
        new = self.new_since_start()
        for dom in new["domains"]:
            self.virsh("destroy", dom, check=False)
            self.virsh("undefine", dom, "--remove-all-storage", "--nvram", check=False)
        for vol in self.volumes():
            if vol not in self.before["volume_files"]:
                self.virsh("vol-delete", vol, "--pool", "default", check=False)
        # Active networks run a dnsmasq each; stop them all (only ours can be active).
        for net in self.networks(active_only=True):
            self.virsh("net-destroy", net, check=False)
        for net in new["networks"]:
            self.virsh("net-undefine", net, check=False)
        for pool in new["pools"]:
            self.virsh("pool-destroy", pool, check=False)
            self.virsh("pool-undefine", pool, check=False)

    def stop(self) -> None:
        try:
            if self.pids.get("libvirtd") and pid_alive(self.pids["libvirtd"]):
                self.clean()
        finally:
            for daemon in ("libvirtd", "virtlogd"):
                pid = self.pids.pop(daemon, None)
                if pid:
                    stop_pid(pid)
            # dnsmasq, QEMU: anything libvirtd left behind in our namespace.
            for pid in self.ns.pids():
                stop_pid(pid, timeout=10)
