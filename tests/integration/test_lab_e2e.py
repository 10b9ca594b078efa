"""`invoke lab` end to end on the stand-in flavour: build -> up -> wire -> verify.

Runs from nothing (a fresh lab directory: no box, no state) inside a network
namespace the test made, with libvirtd started there by hand, so the guests have
no uplink. Then: a second `invoke lab` is a no-op that still reports status;
deliberately broken hosts make `verify` fail with the message that says what to
fix; `invoke down` leaves no domain or volume behind. The tests share one lab and
run in file order.
"""

from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.leaks import assert_no_leak
from tests.support import standin_lab
from tests.support.netns import Libvirt, Netns
from tests.support.prereq import require_root, require_tool
from xenlab.core import config
from xenlab.xenserver import osxenapi
from xenlab.core.paths import PROJECT_DIR

pytestmark = [pytest.mark.vm, pytest.mark.root]

LAB = "e2e"
PASSWORD = "e2e-Lab<&'#pw"
INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")
TIMEOUT = 2400


class E2E:
    def __init__(self, ns: Netns, libvirt: Libvirt, root: Path):
        self.ns, self.libvirt, self.root = ns, libvirt, root
        self.env = {"XENLAB_PASSWORD": PASSWORD, "XENLAB_CONFIG": str(root / "xenlab.toml"), "CI": "true"}
        self.outputs: list[str] = []
        self.timings: list[tuple[str, float]] = []

    @property
    def cfg(self):
        return config.load(self.root / "xenlab.toml", environ=self.env)

    def invoke(self, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = self.ns.run([INVOKE, *args], env=self.env, cwd=PROJECT_DIR, timeout=timeout, check=False)
        self.timings.append((" ".join(args), time.monotonic() - started))
        self.outputs += [done.stdout, done.stderr]
        return done

    def ssh(self, machine: str, command: str) -> subprocess.CompletedProcess:
        conf = self.cfg.lab_dir / "ssh-config"
        return self.ns.run(["ssh", "-F", conf, machine, command], timeout=120, check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_root()
    require_tool("packer", "vagrant", "virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "debootstrap", "ssh")
    root = tmp_path_factory.mktemp("e2e")
    (root / "xenlab.toml").write_text(standin_lab.config_toml(LAB))
    # The os-xenapi sdist comes from PyPI, which the namespace cannot reach: fetch it
    # (into xenlab's cache) from here, as a user's machine with an uplink would.
    cfg = config.load(root / "xenlab.toml", environ={"XENLAB_PASSWORD": PASSWORD})
    osxenapi.sdist(cfg.devstack.os_xenapi_version)
    with Netns() as ns, Libvirt(ns) as libvirt:
        e2e = E2E(ns, libvirt, root)
        yield e2e
        # Whatever a failed test left running: the namespace's libvirt is cleaned by Libvirt.stop.
        e2e.invoke("down", timeout=900)
        print("\ne2e timings (s): " + ", ".join(f"{k}: {v:.0f}" for k, v in e2e.timings))


def failures(report: Path) -> int:
    root = ET.parse(report).getroot()
    return sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in root.iter("testsuite"))


def test_cold_lab_builds_wires_and_verifies(lab):
    done = lab.invoke("lab")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    out = done.stdout
    for stage in ("build", "up", "wire", "verify"):
        assert f"==> {stage}:" in out, f"stage {stage} did not run"
    assert "stand-in" in out.lower()
    report = lab.cfg.lab_dir / "reports" / "verify.xml"
    assert report.is_file() and failures(report) == 0
    suites = {s.get("name") for s in ET.parse(report).getroot().iter("testsuite")}
    assert len(suites) >= 1 and sum(1 for _ in ET.parse(report).getroot().iter("testcase")) >= 15
    assert "xenserver  ok" in out and "devstack   ok" in out


def test_second_lab_is_a_noop_that_reports_status(lab):
    done = lab.invoke("lab", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    for stage in ("build", "up", "wire", "verify"):
        assert f"==> {stage}: up to date" in done.stdout
    assert "lab e2e (flavour standin)" in done.stdout
    assert done.stdout.count("done ") >= 4


def test_non_executable_plugin_fails_verify_with_the_fix(lab):
    plugin = "/etc/xapi.d/plugins/xenhost.py"
    assert lab.ssh("xenserver", f"sudo chmod -x {plugin}").returncode == 0
    done = lab.invoke("verify", timeout=600)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "not executable" in done.stdout and "xenhost.py" in done.stdout
    assert "invoke wire" in done.stdout
    # The fix the message names puts it right.
    assert lab.invoke("wire", "--force", timeout=600).returncode == 0
    assert lab.invoke("verify", timeout=600).returncode == 0


def test_wrong_nova_option_fails_verify_with_the_fix(lab):
    nova = "/etc/nova/nova.conf"
    assert lab.ssh("devstack", f"sudo sed -i.bak 's/^check_host = False/check_host = True/' {nova}").returncode == 0
    done = lab.invoke("verify", timeout=600)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "check_host" in done.stdout
    assert lab.ssh("devstack", f"sudo mv {nova}.bak {nova}").returncode == 0
    assert lab.invoke("verify", timeout=600).returncode == 0


def test_secret_stays_out_of_output_and_public_files(lab):
    assert_no_leak(PASSWORD, lab.root, *lab.outputs)


def test_down_leaves_no_domain_or_volume(lab):
    done = lab.invoke("down", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    new = lab.libvirt.new_since_start()
    assert new["domains"] == [] and new["volumes"] == [], new
    status = lab.invoke("status", timeout=120)
    assert "not done" in status.stdout
