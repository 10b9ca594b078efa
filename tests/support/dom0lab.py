"""A loopback "XenServer" for wire's integration tests, inside a network namespace
the test creates: the simulator on port 80 and a test-owned sshd on port 22 of
the lab's xenserver address, with dom0's filesystem kept under a directory.

sshd runs in its own mount namespace with a test /etc/shadow (so root's password
is the test's) and a private /run; its SetEnv gives the dom0 script the
XENLAB_DOM0_ROOT prefix. Nothing leaves the namespace: it has only `lo`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
ADDRESS = "192.168.57.10"  # the default lab's xenserver_ip, only inside the namespace


def _hash(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


class Dom0Lab:
    def __init__(self, tmp: Path, password: str, sim_password: str | None = None):
        self.tmp = tmp
        self.ns = f"xlw{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
        self.root = tmp / "dom0"
        self.plugin_dir = self.root / "etc/xapi.d/plugins"
        self.authorized_keys = self.root / "root/.ssh/authorized_keys"
        self.password = password
        self.sim_password = password if sim_password is None else sim_password
        self.procs: list[subprocess.Popen] = []

    # ------------------------------------------------------------ namespace

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.ns, *args], check=True)

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.ns, *argv]

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.ip("link", "set", "lo", "up")
        self.ip("addr", "add", f"{ADDRESS}/24", "dev", "lo")
        self.plugin_dir.mkdir(parents=True)
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", self.ns], check=False)

    def _wait_port(self, port: int, proc: subprocess.Popen, what: str):
        probe = (f"import socket,sys\ns=socket.socket();s.settimeout(1)\n"
                 f"sys.exit(s.connect_ex(('{ADDRESS}',{port})))")
        for _ in range(50):
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}")
            if subprocess.run(self.exec_argv([sys.executable, "-c", probe])).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not listen on {ADDRESS}:{port} within 10 s")

    # ------------------------------------------------------------ services

    def start_sim(self, pool_size: int = 1):
        pwfile = self.tmp / "sim-password"
        pwfile.write_text(self.sim_password + "\n")
        pwfile.chmod(0o600)
        # Debian's python3 with the standard library only, as in the stand-in guest.
        argv = ["/usr/bin/python3", "-m", "xenlab.sim", "--bind", ADDRESS, "--port", "80",
                "--user", "root", "--password-file", str(pwfile), "--plugin-dir", str(self.plugin_dir),
                "--pool-size", str(pool_size)]
        p = subprocess.Popen(self.exec_argv(argv), cwd=PROJECT, stdout=open(self.tmp / "sim.log", "w"),
                             stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT)})
        self.procs.append(p)
        self._wait_port(80, p, "simulator")

    def start_stall(self):
        """Something on port 80 that accepts connections and never answers."""
        code = (f"import socket,time\ns=socket.socket();s.bind(('{ADDRESS}',80));s.listen(16)\n"
                "c=[]\nwhile True: c.append(s.accept())\n")
        p = subprocess.Popen(self.exec_argv([sys.executable, "-c", code]))
        self.procs.append(p)
        self._wait_port(80, p, "stalling server")

    def start_sshd(self):
        d = self.tmp / "sshd"
        d.mkdir()
        key = d / "host_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        shadow = d / "shadow"
        lines = []
        for line in Path("/etc/shadow").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "root":
                fields[1] = _hash(self.password)
                fields[2:5] = ["19000", "0", "99999"]
            lines.append(":".join(fields))
        shadow.write_text("\n".join(lines) + "\n")
        shadow.chmod(0o640)
        (self.root / "root/.ssh").mkdir(parents=True, exist_ok=True)
        config = d / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {ADDRESS}", "Port 22", f"HostKey {key}", f"PidFile {d}/sshd.pid",
            "PermitRootLogin yes", "PasswordAuthentication yes", "KbdInteractiveAuthentication no",
            "UsePAM no", "StrictModes no", "PubkeyAuthentication yes",
            f"AuthorizedKeysFile {self.authorized_keys}", f"SetEnv XENLAB_DOM0_ROOT={self.root}",
            "LogLevel VERBOSE", "",
        ]))
        script = (f"mount --bind {shadow} /etc/shadow && mount -t tmpfs tmpfs /run && "
                  f"mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f {config}")
        p = subprocess.Popen(self.exec_argv(["unshare", "--mount", "sh", "-c", script]),
                             stdout=open(self.tmp / "sshd.log", "w"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        self._wait_port(22, p, "sshd")

    # ------------------------------------------------------------ clients

    def run_xenlab(self, workdir: Path, *args, password: str | None = None, env: dict | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess:
        """`xenlab <args>` inside the namespace, in `workdir` (where .xenlab/ goes)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("XENLAB_")}
        full_env.update(env or {})
        full_env["XENLAB_PASSWORD"] = self.password if password is None else password
        xenlab = Path(sys.executable).parent / "xenlab"
        return subprocess.run(self.exec_argv([str(xenlab), *args]), cwd=workdir, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
