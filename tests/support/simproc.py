"""`python3 -m xenlab.sim` as its own process, the way the stand-in runs it (Debian's
python3, standard library only): started with the given options, its URL read from
its first line, its memory readable, stopped by its PID."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"


class SimProcess:
    def __init__(self, tmp: Path, *options: str, password: str = "sim-test-pw", prefix: list[str] | None = None,
                 bind: str = "127.0.0.1", port: int = 0):
        self.tmp = tmp
        self.password = password
        self.options = list(options)
        self.prefix = list(prefix or [])  # e.g. `ip netns exec NAME`
        self.bind, self.port = bind, port
        self.plugin_dir = tmp / "plugins"
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.first_line = ""

    def start(self, wait_for: Path | None = None) -> "SimProcess":
        self.plugin_dir.mkdir(parents=True, exist_ok=True)
        pw = self.tmp / "sim-password"
        pw.write_text(self.password + "\n")
        pw.chmod(0o600)
        argv = [*self.prefix, PYTHON, "-S", "-m", "xenlab.sim", "--bind", self.bind, "--port", str(self.port),
                "--password-file", str(pw), "--plugin-dir", str(self.plugin_dir), *self.options]
        self.proc = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                                     "PYTHONPATH": str(PROJECT)})
        self.first_line = self.proc.stdout.readline()
        if "listening on" not in self.first_line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"simulator did not start: {self.first_line}{self.proc.stdout.read()}")
        self.url = self.first_line.split("listening on ")[1].split()[0]
        if wait_for is not None:
            for _ in range(100):  # bounded: 10 s
                if wait_for.exists():
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{wait_for} did not appear within 10 s")
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> str:
        """SIGTERM; returns what it printed after its first line (the stop line with call counts)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out = self.proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out = self.proc.communicate(timeout=10)[0]
        if self.proc.returncode != 0:
            raise RuntimeError(f"simulator exited {self.proc.returncode}: {out}")
        return out

    def __enter__(self) -> "SimProcess":
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.stop()


# The NICs a guest root made by fake_machine has (what --guest-root reads as /sys/class/net).
FAKE_NICS = (("eth0", "52:54:00:12:34:01"), ("eth1", "52:54:00:12:34:02"))


def fake_machine(root: Path) -> None:
    """A machine for `--guest --guest-root ROOT`: two physical NICs and a host name."""
    for name, mac in FAKE_NICS:
        nic = root / "sys/class/net" / name
        (nic / "device").mkdir(parents=True)
        (nic / "address").write_text(mac + "\n")
        (nic / "mtu").write_text("1500\n")
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("debian\n")
    (root / "dev").mkdir()
    (root / "dev/sdb").touch()  # the disk sr-create names: SR.create refuses a device that is not there
