"""The machine behind the records: what XAPI asks of dom0 when it scans NICs,
reconfigures an address, renames the host or creates a local SR.

`Simulated` (the default: tests, `invoke sim`) changes records only and reports
one NIC, eth0. `ThisMachine` (`--guest`: the stand-in box is the host) acts on the
machine under `root`:

    PIF.scan              the physical NICs in /sys/class/net
    PIF.reconfigure_ip    `ip addr` on the device now, and a systemd-networkd file so
                          the address survives a reboot
    gateway/DNS interface which NIC's DHCP may set the default route and DNS, as
                          xcp-networkd's dhclient options (kept for the next boot)
    host.set_hostname_live  /etc/hostname and `hostname`, as XAPI's set-hostname script
    SR.create (ext, file)   its mount directory /var/run/sr-mount/<uuid> (a link to its folder on
                            the disk), sized by statvfs; its device must exist
    host.management_reconfigure  MANAGEMENT_INTERFACE in /etc/xensource-inventory

Both keep a file-based SR's VHD files in a real directory (`sr_dir`): ThisMachine under
/var/run/sr-mount, Simulated under its `sr_root` (a private temporary directory unless
given), so VDIs, the glance plugin's transfers and the SR's accounting are files either way.

With a root other than /, commands are appended to <root>/var/log/xenlab-sim-commands
instead of run, so a test can drive every guest action with no effect on its host.
The simulator is the one part of xenlab that runs inside a guest with only python3,
so it starts its few commands itself (subprocess), not through xenlab.core.proc.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from .failure import Failure

COMMAND_TIMEOUT = 30
DHCP_WAIT = 10  # seconds PIF.reconfigure_ip waits for a DHCP lease to record (bounded)
COMMAND_LOG = "var/log/xenlab-sim-commands"
NETWORKD_FILE = "etc/systemd/network/10-xenlab-{device}.network"  # sorts before the base image's 50-dhcp
# What xcp-networkd keeps in /var/lib/xcp/networkd.db, in the stand-in's own file: each
# NIC's address settings and which NIC is the gateway and the DNS interface.
NETWORKD_STATE = "var/lib/xenlab-standin/networkd.json"
SR_MOUNT = "var/run/sr-mount"  # where XAPI's file-based SRs live (xapi-project/sm drivers/FileSR.py)
# On a real host SR_MOUNT/<uuid> is the SR's own disk mounted; /var/run is a tmpfs the
# size of half the RAM, so the stand-in keeps each SR on its disk and links it there.
SR_STORE = "var/lib/xenlab-standin/sr"
FILE_SR_TYPES = ("ext", "file")  # sm drivers/EXTSR.py, FileSR.py: VHD files in a directory
GIB = 1024 ** 3
# The block devices of a simulated host and their sizes: a 100 GiB first disk with the
# installer's partitions (18 GiB root, 18 GiB backup, the local SR on the rest: seed.py's
# /dev/sda3), and a second disk of 60 GiB.
DISKS = {"/dev/sda": 100 * GIB, "/dev/sda1": 18 * GIB, "/dev/sda2": 18 * GIB, "/dev/sda3": 50 * GIB,
         "/dev/sdb": 60 * GIB}


@dataclass(frozen=True)
class Nic:
    device: str
    mac: str
    mtu: int = 1500
    carrier: bool = True


@dataclass(frozen=True)
class Facts:
    hostname: str
    cpu_count: int
    memory_total: int  # bytes
    memory_free: int  # bytes (MemAvailable)


def dir_usage(path: Path) -> int:
    """Bytes the files directly in `path` take on disk (du): what a file SR's VHDs use."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


def fs_size(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize


class Simulated:
    """No machine behind the records: actions change records only; file SRs live in `sr_root`."""

    def __init__(self, nics: list[Nic] | None = None, sr_root: Path | None = None, disks: dict | None = None):
        self._nics = nics if nics is not None else [Nic("eth0", "52:54:00:12:34:56")]
        self._sr_root = Path(sr_root) if sr_root else None
        self.disks = dict(DISKS if disks is None else disks)

    def nics(self) -> list[Nic]:
        return list(self._nics)

    def facts(self) -> Facts | None:
        return None

    def apply_ip(self, device: str, mode: str, ip: str, netmask: str, gateway: str,
                 dns: str) -> tuple[str, str] | None:
        """Configure the device; returns the (address, netmask) a DHCP lease gave, if any."""
        return None

    def set_route_interfaces(self, gateway: str, dns: str) -> None:
        """The NICs (devices) that may set dom0's default route and its DNS servers."""

    def set_hostname(self, name: str) -> None:
        pass

    @property
    def sr_root(self) -> Path:
        if self._sr_root is None:
            self._sr_root = Path(tempfile.mkdtemp(prefix="xenlab-sim-sr-"))
            weakref.finalize(self, shutil.rmtree, str(self._sr_root), True)
        return self._sr_root

    def has_device(self, device: str) -> bool:
        """Does the block device exist (sm lvutil.py createVG: os.path.exists)?"""
        return device in self.disks

    def device_size(self, device: str) -> int:
        """The size of a block device: what an SR made on it can hold."""
        return self.disks.get(device, 0)

    def sr_dir(self, uuid: str, sr_type: str) -> Path | None:
        """Where a file SR's VHDs are (made on first use); None for other SR types."""
        if sr_type not in FILE_SR_TYPES:
            return None
        path = self.sr_root / uuid
        path.mkdir(parents=True, exist_ok=True)
        return path

    def make_sr(self, uuid: str, sr_type: str) -> tuple[int, int] | None:
        """A real machine's new SR: (physical_size, physical_utilisation) of its directory's
        file system; None here (a simulated SR takes its device's size)."""
        return None

    def sr_sizes(self, uuid: str, sr_type: str) -> tuple[int | None, int] | None:
        """An SR.scan's sizes: a simulated disk keeps its recorded size (None), its files are counted."""
        path = self.sr_dir(uuid, sr_type)
        return None if path is None else (None, dir_usage(path))

    def set_management_interface(self, bridge: str) -> None:
        pass


class ThisMachine(Simulated):
    """The machine the simulator runs on (the stand-in box), under `root`."""

    def __init__(self, root: Path = Path("/")):
        super().__init__(nics=[])
        self.root = Path(root)
        self.dry_run = self.root.resolve() != Path("/")

    def path(self, relative: str) -> Path:
        return self.root / relative

    def run(self, *argv: str, required: bool = True) -> str:
        """Run a command (or, under a root other than /, log it); returns its output."""
        if self.dry_run:
            log = self.path(COMMAND_LOG)
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as fh:
                fh.write(" ".join(argv) + "\n")
            return ""
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            if required:
                raise Failure("INTERNAL_ERROR", f"{' '.join(argv)}: {exc}") from None
            return ""
        if done.returncode and required:
            raise Failure("INTERNAL_ERROR", f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def _write(self, relative: str, text: str, mode: int = 0o644) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)

    def nics(self) -> list[Nic]:
        """Physical NICs: entries of /sys/class/net backed by a device (not lo, bridges, veths)."""
        out = []
        net = self.path("sys/class/net")
        for entry in sorted(net.iterdir()) if net.is_dir() else []:
            if entry.name == "lo" or not (entry / "device").exists():
                continue
            def read(name, default=""):
                try:
                    return (entry / name).read_text().strip()
                except OSError:
                    return default
            mtu = read("mtu", "1500")
            out.append(Nic(entry.name, read("address").lower(), int(mtu) if mtu.isdigit() else 1500,
                           read("carrier", "0") == "1"))
        return out

    def facts(self) -> Facts:
        try:
            hostname = self.path("etc/hostname").read_text().strip()
        except OSError:
            hostname = ""
        try:
            meminfo = self.path("proc/meminfo").read_text()
        except OSError:
            meminfo = ""

        def kib(name):
            match = re.search(rf"^{name}:\s+(\d+) kB", meminfo, re.MULTILINE)
            return int(match.group(1)) * 1024 if match else 0
        return Facts(hostname or socket.gethostname(), os.cpu_count() or 1, kib("MemTotal"), kib("MemAvailable"))

    # -------------------------------------------------------- addresses, as xcp-networkd

    def _networkd(self) -> dict:
        try:
            state = json.loads(self.path(NETWORKD_STATE).read_text())
        except (OSError, ValueError):
            state = {}
        return {"gateway_interface": "", "dns_interface": "", "interfaces": {}, **state}

    @staticmethod
    def _unit(device: str, conf: dict, state: dict) -> str:
        """The device's networkd file. Only the gateway (DNS) interface may set the default
        route (DNS servers), or any when none is set: xcp-networkd asks dhclient for
        `routers` (`domain-name-servers`) on that interface only (ocaml/networkd/lib/
        network_utils.ml Dhclient.generate_conf) and sets a static gateway or DNS only
        there (ocaml/networkd/bin/network_server.ml set_ipv4_gateway, set_dns)."""
        gateway_here = state["gateway_interface"] in ("", device)
        dns_here = state["dns_interface"] in ("", device)
        lines = ["# Written by the xenlab XenAPI simulator (PIF.reconfigure_ip): XAPI owns this NIC.",
                 "[Match]", f"Name={device}", "", "[Network]"]
        if conf["mode"] == "DHCP":
            lines += ["DHCP=ipv4", "", "[DHCPv4]", f"UseGateway={'yes' if gateway_here else 'no'}",
                      f"UseDNS={'yes' if dns_here else 'no'}"]
        elif conf["mode"] == "Static":
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{conf['netmask']}").prefixlen
            lines.append(f"Address={conf['ip']}/{prefix}")
            lines += [f"Gateway={conf['gateway']}"] if conf["gateway"] and gateway_here else []
            lines += [f"DNS={server}" for server in conf["dns"].split(",") if server and dns_here]
        else:
            lines += ["DHCP=no", "LinkLocalAddressing=no"]
        return "\n".join(lines) + "\n"

    def _save_networkd(self, state: dict, devices) -> None:
        self._write(NETWORKD_STATE, json.dumps(state, indent=1, sort_keys=True) + "\n")
        for device in devices:
            self._write(NETWORKD_FILE.format(device=device), self._unit(device, state["interfaces"][device], state))

    def set_route_interfaces(self, gateway: str, dns: str) -> None:
        """Recorded, and each NIC's file rewritten for its next start: a DHCP client already
        running keeps its route and servers until then, as on a host, where
        set_gateway_interface only removes the old and new interfaces' dhclient files
        (network_server.ml)."""
        state = self._networkd()
        if (state["gateway_interface"], state["dns_interface"]) == (gateway, dns):
            return
        before = {d: self._unit(d, conf, state) for d, conf in state["interfaces"].items()}
        state.update(gateway_interface=gateway, dns_interface=dns)
        self._save_networkd(state, [d for d, conf in state["interfaces"].items()
                                    if self._unit(d, conf, state) != before[d]])

    def apply_ip(self, device: str, mode: str, ip: str, netmask: str, gateway: str,
                 dns: str) -> tuple[str, str] | None:
        state = self._networkd()
        state["interfaces"][device] = {"mode": mode, "ip": ip, "netmask": netmask, "gateway": gateway, "dns": dns}
        self._save_networkd(state, [device])
        self.run("ip", "addr", "flush", "dev", device)
        if mode == "Static":
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
            self.run("ip", "addr", "add", f"{ip}/{prefix}", "dev", device)
            self.run("ip", "link", "set", device, "up")
            if gateway and state["gateway_interface"] in ("", device):
                self.run("ip", "route", "replace", "default", "via", gateway, "dev", device)
        # networkd takes the new file now (DHCP starts or stops); it may be absent, so not required.
        self.run("networkctl", "reload", required=False)
        self.run("networkctl", "reconfigure", device, required=False)
        return self._lease(device) if mode == "DHCP" and not self.dry_run else None

    def _lease(self, device: str) -> tuple[str, str] | None:
        deadline = time.monotonic() + DHCP_WAIT
        while True:
            found = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/(\d+)",
                              self.run("ip", "-4", "-o", "addr", "show", "dev", device, required=False))
            if found:
                return found.group(1), str(ipaddress.IPv4Network(f"0.0.0.0/{found.group(2)}").netmask)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.5)

    def set_hostname(self, name: str) -> None:
        self._write("etc/hostname", name + "\n")
        self.run("hostname", name)

    def has_device(self, device: str) -> bool:
        return os.path.exists(self.path(device.lstrip("/")))

    def make_sr(self, uuid: str, sr_type: str) -> tuple[int, int] | None:
        path = self.sr_dir(uuid, sr_type)
        return None if path is None else (fs_size(path), dir_usage(path))

    def sr_dir(self, uuid: str, sr_type: str) -> Path | None:
        if sr_type not in FILE_SR_TYPES:
            return None
        store = self.path(SR_STORE) / uuid
        store.mkdir(parents=True, exist_ok=True)
        mount = self.path(SR_MOUNT) / uuid
        mount.parent.mkdir(parents=True, exist_ok=True)
        if not mount.is_symlink():
            if mount.is_dir():
                mount.rmdir()  # an empty directory an older stand-in made on the tmpfs
            mount.symlink_to(store)
        return mount

    def sr_sizes(self, uuid: str, sr_type: str) -> tuple[int | None, int] | None:
        # The SR shares the box's disk: its size is that file system's (FileSR._getsize), its
        # utilisation what its own files take (FileSR counts the whole file system, which here
        # holds the box's system and logs too).
        path = self.sr_dir(uuid, sr_type)
        return None if path is None else (fs_size(path), dir_usage(path))

    def set_management_interface(self, bridge: str) -> None:
        inventory = self.path("etc/xensource-inventory")
        try:
            text = inventory.read_text()
        except OSError:
            return
        line = f"MANAGEMENT_INTERFACE='{bridge}'"
        if re.search(r"^MANAGEMENT_INTERFACE=", text, re.MULTILINE):
            text = re.sub(r"^MANAGEMENT_INTERFACE=.*$", line, text, flags=re.MULTILINE)
        else:
            text = text.rstrip("\n") + "\n" + line + "\n"
        self._write("etc/xensource-inventory", text)
