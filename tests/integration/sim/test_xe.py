"""The stand-in's `xe` client against `python3 -m xenlab.sim` on a Unix socket in a temp
dir, as the dom0 scripts will run it: first-boot database from an inventory, the
guest actions against a temp root (commands logged, not run), state kept across a
restart, errors and exit codes through the real client."""

from __future__ import annotations

import json
import socket
import subprocess
import xmlrpc.client
from pathlib import Path

import pytest
import XenAPI

from tests.support.prereq import require_tool
from tests.support.simproc import SimProcess, fake_machine
from xenlab.sim import machine

XE = Path(__file__).resolve().parents[3] / "xenlab/sim/xe"
HOST_UUID = "0c7d3f0e-1111-4111-8111-111111111111"
DOM0_UUID = "0c7d3f0e-2222-4222-8222-222222222222"
PASSWORD = "xe-test-pw"


class Sim(SimProcess):
    def __init__(self, tmp: Path):
        self.socket = tmp / "run/xapi"
        self.cookie = tmp / "run/xapi_init_complete.cookie"
        self.root = tmp / "root"
        super().__init__(tmp, "--state-db", str(tmp / "state.db"), "--inventory", str(tmp / "xensource-inventory"),
                         "--cli-socket", str(self.socket), "--cli-ignored-log", str(tmp / "ignored.log"),
                         "--init-complete-cookie", str(self.cookie), "--guest", "--guest-root", str(self.root),
                         password=PASSWORD)

    def start(self):
        require_tool("python3")
        # xapi-wait-init-complete polls the cookie: it appears once the simulator serves
        return super().start(wait_for=self.cookie)

    def stop(self):
        out = super().stop()
        assert not self.cookie.exists() and not self.socket.exists()
        return out


@pytest.fixture
def tmp(tmp_path):
    (tmp_path / "xensource-inventory").write_text(
        f"PRIMARY_DISK='/dev/sda'\nINSTALLATION_UUID='{HOST_UUID}'\nCONTROL_DOMAIN_UUID='{DOM0_UUID}'\n")
    fake_machine(tmp_path / "root")
    return tmp_path


@pytest.fixture
def sim(tmp):
    with Sim(tmp) as running:
        yield running


def xe(sim, *argv, code=0):
    # The scripts' PATH has no python3: the client names its interpreter by absolute path.
    done = subprocess.run([str(XE), *argv], env={"PATH": "/nonexistent", "XENLAB_XE_SOCKET": str(sim.socket)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == code, (argv, done.stdout, done.stderr)
    return done


def test_first_boot_through_xe_changes_the_records_and_the_machine(sim, tmp):
    assert oct(sim.socket.stat().st_mode & 0o777) == "0o600"
    assert xe(sim, "host-list", "--minimal").stdout == HOST_UUID + "\n"
    assert xe(sim, "pif-list", "--minimal").stdout == "\n" and xe(sim, "sr-list", "--minimal").stdout == "\n"
    # --guest: the host is the machine (its /etc/hostname under the root)
    assert xe(sim, "host-param-get", f"uuid={HOST_UUID}", "param-name=hostname").stdout == "debian\n"
    xe(sim, "pif-scan", f"host-uuid={HOST_UUID}")
    pif = xe(sim, "pif-list", f"host-uuid={HOST_UUID}", "device=eth1", "params=uuid", "--minimal").stdout.strip()
    xe(sim, "pif-reconfigure-ip", f"uuid={pif}", "mode=static", "IP=192.168.57.10", "netmask=255.255.255.0")
    xe(sim, "host-management-reconfigure", f"pif-uuid={pif}")
    xe(sim, "host-set-hostname-live", f"host-uuid={HOST_UUID}", "host-name=lab-xen")
    sr = xe(sim, "sr-create", "name-label=Local storage", "type=ext", "content-type=user",
            f"host-uuid={HOST_UUID}", "device-config:device=/dev/sdb").stdout.strip()
    pool = xe(sim, "pool-list", "--minimal").stdout.strip()
    xe(sim, "pool-param-set", f"uuid={pool}", f"default-SR={sr}")
    xe(sim, "pool-sync-database")

    # the machine under the temp root, as --guest acts on it
    assert "Address=192.168.57.10/24" in (sim.root / machine.NETWORKD_FILE.format(device="eth1")).read_text()
    commands = (sim.root / machine.COMMAND_LOG).read_text().splitlines()
    assert "ip addr add 192.168.57.10/24 dev eth1" in commands and "hostname lab-xen" in commands
    assert (sim.root / "etc/hostname").read_text() == "lab-xen\n"
    assert (sim.root / machine.SR_MOUNT / sr).is_dir()

    # XenAPI over TCP sees what xe did
    s = XenAPI.Session(sim.url)
    s.login_with_password("root", PASSWORD, "2.1", "test")
    host = s.xenapi.host.get_by_uuid(HOST_UUID)
    assert s.xenapi.host.get_address(host) == "192.168.57.10" and s.xenapi.host.get_hostname(host) == "lab-xen"
    assert s.xenapi.SR.get_uuid(s.xenapi.pool.get_default_SR(s.xenapi.pool.get_all()[0])) == sr
    s.xenapi.session.logout()
    assert not (tmp / "ignored.log").exists()

    # the database outlives the simulator; sessions do not
    sim.stop()
    sim.start()
    assert xe(sim, "pif-list", "management=true", "--minimal").stdout.strip() == pif
    assert "session" not in json.loads((tmp / "state.db").read_text())["classes"]


def test_xe_fails_as_xe_does(sim, tmp):
    done = xe(sim, "vm-frob", code=1)
    assert (done.stdout, done.stderr) == ("", "Unknown command: vm-frob\nFor usage run: 'xe help'\n")
    done = xe(sim, "pif-reconfigure-ip", "uuid=x", code=1)
    assert done.stderr == "Required parameter not found: mode\nFor usage run: 'xe help'\n"
    assert "message: Failure: Unknown field 'nope'" in xe(sim, "host-list", "nope=1", code=1).stderr
    usage = xe(sim)
    assert usage.stdout == "" and usage.stderr.startswith("Usage:")
    xe(sim, "pool-sync-database", "-u", "root", "-pw", "secret", "bogus=1")
    logged = [line.split(" ", 1)[1] for line in (tmp / "ignored.log").read_text().splitlines()]
    assert logged == ["pool-sync-database client:-u", "pool-sync-database client:-pw", "pool-sync-database bogus"]
    assert "secret" not in (tmp / "ignored.log").read_text()


def test_xe_without_a_simulator_says_it_cannot_contact_the_server(tmp):
    done = subprocess.run([str(XE), "host-list"], env={"PATH": "/nonexistent",
                                                       "XENLAB_XE_SOCKET": str(tmp / "absent")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == "Unable to contact server. Please check server and port settings.\n"


def test_the_unix_socket_serves_xenapi_to_local_root_without_a_password(sim):
    body = b"<?xml version='1.0'?><methodCall><methodName>session.login_with_password</methodName><params>" \
           b"<param><value><string>root</string></value></param><param><value><string>wrong</string>" \
           b"</value></param></params></methodCall>"
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(str(sim.socket))
        conn.sendall(b"POST / HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    envelope = xmlrpc.client.loads(answer.split(b"\r\n\r\n", 1)[1])[0][0]
    assert envelope["Status"] == "Success" and envelope["Value"].startswith("OpaqueRef:")
