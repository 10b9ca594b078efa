"""The real two-machine stand-in lab, brought up by `invoke up` inside a network
namespace the test made (only `lo` up, libvirtd started there by hand), so the
guests have no uplink and nothing here talks to a private address from the root
namespace. One lab (module fixture) is shared by the tests of this module (bringing up two TCG
machines takes about three minutes); the last test takes it down.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.netns import Libvirt, Netns
from tests.support.prereq import missing, require_root, require_tool
from tests.support.standin_lab import PASSWORD, config_toml
from xenlab.core import config, lifecycle
from xenlab.machines import labspec
from xenlab.core.paths import PROJECT_DIR

pytestmark = [pytest.mark.vm, pytest.mark.root]

LAB = "itest"
UP_TIMEOUT = 1800
INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")


@dataclass
class Lab:
    ns: Netns
    libvirt: Libvirt
    root: Path
    env: dict
    timings: dict = field(default_factory=dict)

    @property
    def cfg(self):
        return config.load(self.root / "xenlab.toml", environ=self.env)

    def invoke(self, *args: str, timeout: float = UP_TIMEOUT) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = self.ns.run([INVOKE, *args], env=self.env, cwd=PROJECT_DIR, timeout=timeout, check=False)
        self.timings.setdefault(" ".join(args), []).append(round(time.monotonic() - started, 1))
        return done

    def vagrant(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        from xenlab.stages import up as lab

        env = {**lab.vagrant_env(self.cfg), **self.env}
        return self.ns.run(["vagrant", *args], env=env, cwd=PROJECT_DIR, timeout=timeout)

    def ssh(self, machine: str, command: str, input: str | None = None) -> subprocess.CompletedProcess:
        conf = self.root / "ssh-config"
        conf.write_text(self.vagrant("ssh-config").stdout)
        return self.ns.run(["ssh", "-F", conf, machine, command], input=input, timeout=120, check=False)


def ensure_boxes(lab_env: dict, root: Path) -> None:
    """The stand-in boxes through the project's own build stage when it exists."""
    if "build" in lifecycle.names():
        done = subprocess.run([INVOKE, "build"], env={**os.environ, **lab_env}, cwd=PROJECT_DIR,
                              capture_output=True, text=True, timeout=3600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return
    boxes = subprocess.run(["vagrant", "box", "list"], capture_output=True, text=True, timeout=120).stdout
    for box in ("xenlab/standin", labspec.STANDIN_DEVSTACK_BOX):
        if f"{box} " not in boxes:
            missing(f"box {box} is not installed and this checkout has no build stage to make it")


# Module scope: libvirtd's sockets are machine-wide, so this module's libvirtd must
# be gone before another module (e.g. the end-to-end test) starts its own.
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_root()
    require_tool("vagrant", "virsh", "libvirtd", "virtlogd", "ip", "ssh", "qemu-system-x86_64")
    root = tmp_path_factory.mktemp("lab")
    (root / "xenlab.toml").write_text(config_toml(LAB))
    env = {"XENLAB_CONFIG": str(root / "xenlab.toml"), "XENLAB_PASSWORD": PASSWORD, "CI": "true"}
    ensure_boxes(env, root)
    if Libvirt.running_elsewhere():
        missing("another libvirtd is running on this machine; only one may run at a time")
    with Netns() as ns, Libvirt(ns) as lv:
        the_lab = Lab(ns, lv, root, env)
        done = the_lab.invoke("up")
        assert done.returncode == 0, f"invoke up failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        the_lab.first_up = done
        yield the_lab
        the_lab.invoke("down", timeout=900)
        print(f"\nlab timings (s, in order): {json.dumps(the_lab.timings)}")


def test_up_streams_stage_headers_and_brings_up_both_machines(lab):
    out = lab.first_up.stdout
    assert "==> up: bring up the xenserver and devstack machines" in out
    assert "==> vagrant up: xenserver, devstack" in out
    states = {}
    for line in lab.vagrant("status", "--machine-readable").stdout.splitlines():
        parts = line.split(",")
        if len(parts) >= 4 and parts[2] == "state":
            states[parts[1]] = parts[3]
    assert states == {"xenserver": "running", "devstack": "running"}
    assert PASSWORD not in out


def test_ssh_config_names_both_machines(lab):
    text = lab.vagrant("ssh-config").stdout
    for machine in ("xenserver", "devstack"):
        assert f"Host {machine}\n" in text
    assert text.count("HostName 192.168.121.") == 2


def test_devstack_logs_in_to_xenapi_on_xenserver_over_the_private_network(lab):
    # The password travels on stdin, never in argv.
    probe = textwrap.dedent("""\
        import sys, xmlrpc.client
        pw = sys.stdin.readline().rstrip("\\n")
        proxy = xmlrpc.client.ServerProxy("http://%s/" % sys.argv[1])
        res = proxy.session.login_with_password("root", pw, "2.1", "xenlab-test")
        print(res["Status"], str(res.get("Value", ""))[:10])
    """)
    (lab.root / "probe.py").write_text(probe)
    conf = lab.root / "ssh-config"
    conf.write_text(lab.vagrant("ssh-config").stdout)
    lab.ns.run(["scp", "-F", conf, lab.root / "probe.py", "devstack:/tmp/probe.py"], timeout=120)
    done = lab.ssh("devstack", "python3 /tmp/probe.py 192.168.57.10", input=PASSWORD + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["Success", "OpaqueRef:"]


def test_devstack_provisioning_ran_as_the_stand_in_says(lab):
    done = lab.ssh("devstack", "id stack && cat /opt/stack/devstack/XENLAB-STAND-IN")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not a DevStack checkout" in done.stdout
    assert "stack.sh is NOT run" in lab.first_up.stdout


def test_up_again_is_a_fast_no_op(lab):
    done = lab.invoke("up")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up: up to date (inputs unchanged), nothing to do" in done.stdout
    assert "vagrant up" not in done.stdout


def test_status_shows_machines_addresses_and_stages(lab):
    done = lab.invoke("status", "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    machines = {m["machine"]: m for m in info["machines"]}
    assert machines["xenserver"]["state"] == machines["devstack"]["state"] == "running"
    assert machines["xenserver"]["private_ip"] == "192.168.57.10"
    assert machines["devstack"]["ssh"].startswith("vagrant@192.168.121.")
    assert next(s for s in info["stages"] if s["stage"] == "up")["done"] is True


def test_down_leaves_no_domain_volume_or_network(lab):
    done = lab.invoke("down", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    new = lab.libvirt.new_since_start()
    assert new["domains"] == [] and new["volumes"] == []
    assert [n for n in lab.libvirt.networks() if n.startswith(f"xenlab-{LAB}")] == []
    status = json.loads(lab.invoke("status", "--json", timeout=300).stdout)
    assert next(s for s in status["stages"] if s["stage"] == "up")["done"] is False
