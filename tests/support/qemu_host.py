"""A host for tests that run dom0's scripts in a VM: the built stand-in box's image,
booted with plain QEMU.

The interface the tests use is small, so that the same test could drive another
kind of host:

    host.ssh(command, timeout) -> CompletedProcess   (as root: `sudo` over SSH)
    host.reboot(timeout)                              (returns once the new boot answers SSH)
    host.copy_in(local, remote)

The VM runs on an overlay of the box image (the box stays untouched), under TCG,
with user networking and `restrict=on` on every NIC: the guest reaches nothing, and
the only way in is an SSH forward on 127.0.0.1. Given a network namespace of the
test's own (only `lo`), QEMU and every ssh run inside it instead, and the first NIC
drops `restrict`: its DHCP then offers a gateway and a DNS server as a real NAT
network does (QEMU's restricted user network offers neither, libslirp bootp.c), and
still nothing leaves, the namespace having no route out. The first NIC is the one Vagrant's
management network would be; the second carries the lab's private MAC, like the
lab's private network. Logins use the vagrant user and Vagrant's insecure key, as
Vagrant does, over one shared connection per boot (as Packer's). Every wait is
bounded; stop() kills the QEMU process it started, by its pid.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.netns import SupportError, stop_pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuHost:
    def __init__(self, image: Path, workdir: Path, key: Path, private_mac: str,
                 memory_mb: int = 1024, boot_timeout: float = 600, ns=None):
        self.ns = ns  # a tests.support.netns.Netns, or None
        self.image = image
        self.workdir = workdir
        self.key = key
        self.private_mac = private_mac
        self.memory_mb = memory_mb
        self.boot_timeout = boot_timeout
        self.port = free_port()
        self.console = workdir / "console.log"
        self.overlay = workdir / "overlay.qcow2"
        self.proc: subprocess.Popen | None = None
        self.boots = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "QemuHost":
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(self.image),
                        str(self.overlay)], check=True, timeout=60)
        argv = [
            "qemu-system-x86_64", "-machine", "pc,accel=tcg", "-cpu", "max", "-smp", "1",
            "-m", str(self.memory_mb), "-display", "none", "-monitor", "none",
            "-serial", f"file:{self.console}",
            "-drive", f"file={self.overlay},if=virtio,format=qcow2,discard=unmap",
            # Vagrant's management network stands here: DHCP, and SSH forwarded on loopback only.
            "-netdev", f"user,id=mgmt,restrict={'off' if self.ns else 'on'},"
                       f"hostfwd=tcp:127.0.0.1:{self.port}-:22",
            "-device", "e1000,netdev=mgmt",
            # The lab's private network: its MAC, no DHCP use, no way out.
            "-netdev", "user,id=priv,restrict=on",
            "-device", f"e1000,netdev=priv,mac={self.private_mac}",
        ]
        self.proc = subprocess.Popen(self._in_ns(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=(self.workdir / "qemu.log").open("wb"), start_new_session=True)
        self._wait_ssh(self.boot_timeout)
        self.boots = 1
        return self

    def stop(self) -> None:
        # The shared connection's master process goes first (it would linger 120 s).
        subprocess.run(self._in_ns(["ssh", *self._ssh_options(), "-p", str(self.port), "-O", "exit",
                                    "vagrant@127.0.0.1"]), capture_output=True, timeout=30)
        if self.proc and self.proc.poll() is None:
            stop_pid(self.proc.pid, timeout=20)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def __enter__(self) -> "QemuHost":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- the interface

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`command` as root in the guest (a shell line), bounded by `timeout`."""
        return self._ssh(f"sudo sh -c {shlex.quote(command)}", timeout)

    def reboot(self, timeout: float = 600) -> None:
        """Reboot the guest; return when the new boot answers SSH."""
        before = self.boot_id()
        # The reply may never come: the connection dies with the guest.
        self._ssh("sudo systemctl reboot", timeout=30, check_connection=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._alive()
            now = self._ssh("cat /proc/sys/kernel/random/boot_id", timeout=15, check_connection=False)
            if now.returncode == 0 and now.stdout.strip() and now.stdout.strip() != before:
                self.boots += 1
                return
            time.sleep(3)
        raise SupportError(f"the guest did not come back within {timeout} s of a reboot "
                           f"(console: {self.console_tail()})")

    def copy_in(self, local: Path, remote: str) -> None:
        """Copy a local file to `remote` in the guest (owned by root, mode kept)."""
        staged = f"/tmp/.copy-in-{os.getpid()}-{Path(local).name}"
        done = subprocess.run(self._in_ns(["scp", *self._ssh_options(), "-P", str(self.port), "-p", str(local),
                                           f"vagrant@127.0.0.1:{staged}"]), capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise SupportError(f"scp {local} failed: {done.stderr.strip()}")
        moved = self.ssh(f"install -D -o root -g root -m {oct(Path(local).stat().st_mode & 0o777)[2:]} "
                         f"{shlex.quote(staged)} {shlex.quote(remote)} && rm -f {shlex.quote(staged)}", timeout=60)
        if moved.returncode != 0:
            raise SupportError(f"installing {remote} in the guest failed: {moved.stderr.strip()}")

    # ---------------------------------------------------------------- helpers

    def boot_id(self) -> str:
        return self._ssh("cat /proc/sys/kernel/random/boot_id", timeout=30).stdout.strip()

    def _in_ns(self, argv: list[str]) -> list[str]:
        return self.ns.argv(argv) if self.ns else argv

    def console_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.console.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no console log)"

    def _ssh_options(self) -> list[str]:
        # One connection for every command, as Packer's communicator keeps one: a
        # command may remove the SSH host keys (generalise.sh) and the next still runs.
        return ["-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                "-o", "ControlMaster=auto", "-o", f"ControlPath={self.workdir / 'ssh-control'}",
                "-o", "ControlPersist=120"]

    def _ssh(self, remote: str, timeout: float, check_connection: bool = True) -> subprocess.CompletedProcess:
        argv = self._in_ns(["ssh", *self._ssh_options(), "-p", str(self.port), "vagrant@127.0.0.1", remote])
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(argv, 124, _text(exc.stdout),
                                               _text(exc.stderr) + f"\n(timed out after {timeout} s)")
        if check_connection and done.returncode == 255:
            raise SupportError(f"ssh to the guest failed: {done.stderr.strip()} (console: {self.console_tail(10)})")
        return done

    def _alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            log = (self.workdir / "qemu.log").read_text(errors="replace")[-2000:]
            raise SupportError(f"QEMU is not running ({log.strip() or 'no output'})")

    def _wait_ssh(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._alive()
            if self._ssh("true", timeout=20, check_connection=False).returncode == 0:
                return
            time.sleep(3)
        raise SupportError(f"no SSH into the guest within {timeout} s (console: {self.console_tail()})")


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
