"""A second "host" for the VM tier: a remote libvirt host, as a network namespace of the
test's own running sshd and libvirtd, reached from the test's "workstation" namespace
over `qemu+ssh`. The workstation runs no libvirtd.

- The two namespaces are joined by a veth pair on addresses the test chose, inside both
  (10.231.0.1 the workstation, 10.231.0.2 the host, a /30): nothing else is routed, so
  the lab's networks on the host are reached from the workstation only through its SSH.
- The host's sshd, virtlogd and libvirtd run in one mount namespace of their own, where
  /run/libvirt and /var/lib/libvirt are directories of the test: the workstation sees
  neither libvirt's sockets nor its pools, so nothing there reaches libvirt but over SSH,
  and no disk, memory image or lease file of the lab can be read there by accident.
- The workstation's ssh knows the host's key and the test's client key from its own
  /etc/ssh (`ip netns exec` binds /etc/netns/<namespace>/ssh over /etc/ssh), as a user's
  ~/.ssh/config would.

    with Netns() as ws, RemoteHost(root, ws) as host, host.libvirt() as lv:
        ws.run(["virsh", "-c", host.uri, "list"], timeout=60)
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

from tests.support.netns import Libvirt, Netns, SupportError, stop_pid

WORKSTATION, HOST = "10.231.0.1", "10.231.0.2"
SSH_PORT = 2222  # not 22: the port travels from the URI to every ssh that reaches the host
ETC_NETNS = Path("/etc/netns")
SSH_WAIT_S = 30.0


class Entered(Netns):
    """The host's namespace; its commands run in its sshd's mount namespace too (nsenter)."""

    target: int | None = None  # the pid whose mount and network namespaces commands enter

    def argv(self, cmd):
        if self.target is None:
            return super().argv(cmd)
        return ["nsenter", "-t", str(self.target), "-m", "-n", "--", *map(str, cmd)]


class RemoteHost:
    def __init__(self, root: Path, ws: Netns):
        self.root, self.ws = root, ws
        suffix = uuid.uuid4().hex[:6]
        self.ns = Entered(f"xenlab-host-{suffix}")
        self.veth = (f"xlw{suffix}", f"xlh{suffix}")
        self.run_libvirt, self.var_lib_libvirt = root / "run-libvirt", root / "var-lib-libvirt"
        self.uri = f"qemu+ssh://root@{HOST}:{SSH_PORT}/system"
        self.sshd: subprocess.Popen | None = None
        self.etc = ETC_NETNS / ws.name

    def __enter__(self) -> "RemoteHost":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _keys(self) -> tuple[Path, Path]:
        host_key, client_key = self.root / "ssh_host_ed25519_key", self.root / "id_ed25519"
        for key in (host_key, client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xenlab-test", "-f", str(key)],
                           check=True, timeout=30)
        shutil.copy(client_key.with_suffix(".pub"), self.root / "authorized_keys")
        return host_key, client_key

    def start(self) -> None:
        self.ns.create()
        workstation_end, host_end = self.veth
        subprocess.run(["ip", "link", "add", workstation_end, "type", "veth", "peer", "name", host_end],
                       check=True, timeout=30)
        for end, ns, address in ((workstation_end, self.ws, WORKSTATION), (host_end, self.ns, HOST)):
            subprocess.run(["ip", "link", "set", end, "netns", ns.name], check=True, timeout=30)
            subprocess.run(["ip", "-n", ns.name, "addr", "add", f"{address}/30", "dev", end], check=True, timeout=30)
            subprocess.run(["ip", "-n", ns.name, "link", "set", end, "up"], check=True, timeout=30)
        host_key, client_key = self._keys()
        (self.root / "sshd_config").write_text("\n".join([
            f"ListenAddress {HOST}", f"Port {SSH_PORT}", f"HostKey {host_key}",
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}", "PermitRootLogin prohibit-password",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
            "MaxStartups 64", "MaxSessions 64", "LogLevel VERBOSE", "",
        ]))
        # The workstation's ssh: the host's key and the client key, nothing else of this machine's.
        pub = host_key.with_suffix(".pub").read_text().split()
        (self.root / "known_hosts").write_text(f"[{HOST}]:{SSH_PORT} {pub[0]} {pub[1]}\n")
        (self.etc / "ssh").mkdir(parents=True)
        (self.etc / "ssh" / "ssh_config").write_text("\n".join([
            f"Host {HOST}", f"  IdentityFile {client_key}", f"  UserKnownHostsFile {self.root / 'known_hosts'}",
            "  StrictHostKeyChecking yes", "  IdentitiesOnly yes", "",
        ]))
        for d in (self.run_libvirt, self.var_lib_libvirt):
            d.mkdir(mode=0o755)
            d.chmod(0o755)
        for d in (Path("/run/libvirt"), Path("/run/sshd")):
            d.mkdir(mode=0o755, exist_ok=True)  # mount points, and sshd's privilege separation directory
        script = (f"mount --bind {self.run_libvirt} /run/libvirt && mount --bind {self.var_lib_libvirt} "
                  f"/var/lib/libvirt && exec /usr/sbin/sshd -D -e -f {self.root / 'sshd_config'}")
        self.sshd = subprocess.Popen(self.ns.argv(["sh", "-c", script]), stdout=open(self.root / "sshd.log", "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.ns.target = self.sshd.pid  # sh execs sshd: the same process
        deadline = time.monotonic() + SSH_WAIT_S
        while True:
            done = self.ws.run(["ssh", "-p", str(SSH_PORT), f"root@{HOST}", "true"], timeout=30, check=False)
            if done.returncode == 0:
                return
            if self.sshd.poll() is not None or time.monotonic() >= deadline:
                log = (self.root / "sshd.log").read_text()[-2000:]
                raise SupportError(f"the remote host's sshd does not answer: {done.stderr.strip()}\n{log}")
            time.sleep(0.5)

    def libvirt(self) -> Libvirt:
        """libvirtd and virtlogd on the host (started on __enter__, stopped with what they made)."""
        return Libvirt(self.ns, images=self.var_lib_libvirt / "images")

    def stop(self) -> None:
        try:
            if self.sshd and self.sshd.poll() is None:
                stop_pid(self.sshd.pid)
                self.sshd.wait(timeout=10)
        finally:
            self.ns.target = None
            self.ns.delete()  # the veth pair goes with it, and every process left in it
            shutil.rmtree(self.etc, ignore_errors=True)
            if ETC_NETNS.is_dir() and not any(ETC_NETNS.iterdir()):
                ETC_NETNS.rmdir()
