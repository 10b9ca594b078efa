"""On a host with no service manager (this one: no systemd), the first task that needs
libvirtd starts virtlogd and libvirtd, says so, and doctor tells who runs it; with that
libvirtd, a lab whose range another network holds is refused before anything boots.
For real, inside the test's own network namespace (libvirtd's networks get no uplink
there), and marked `vm`: only one libvirtd may run on the machine, so this runs under
the VM lock, and the daemons it started are stopped by their PIDs before it ends."""

from __future__ import annotations

import pytest

from tests.support.netns import Libvirt, Netns
from tests.support.prereq import missing, require_root, require_tool
from xenlab.core.paths import LIBVIRTD_STARTED, PROJECT_DIR
from xenlab.machines import libvirtd

# Step 5: in a run with the VM tier, before the shared lab starts its libvirtd (step 10).
pytestmark = [pytest.mark.vm, pytest.mark.root, pytest.mark.step(5)]

INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")
PYTHON = str(PROJECT_DIR / ".venv" / "bin" / "python")
PASSWORD = "libvirtd-start-pw"
CLASH_CHECK = ("import os; from xenlab.core import config; from xenlab.machines import clashes; "
               "clashes.check(config.load(os.environ['XENLAB_CONFIG']))")
OTHER_NETWORK = """<network><name>xenlab-other-lab</name><bridge name='xlotherbr0'/>
<ip address='192.168.57.1' netmask='255.255.255.0'/></network>
"""


def libvirtd_finding(done) -> str:
    lines = [line for line in done.stdout.splitlines() if " libvirtd " in f" {line} "]
    assert len(lines) == 1, done.stdout + done.stderr
    return lines[0]


def test_down_starts_the_daemons_says_so_and_doctor_knows_who_started_them(tmp_path):
    require_root()
    require_tool("virsh", "libvirtd", "virtlogd", "vagrant", "ip")
    if libvirtd.systemd_runs_it():
        missing("systemd runs libvirtd on this host: there is nothing for xenlab to start")
    if Libvirt.running_elsewhere():
        missing("another libvirtd is running on this machine; only one may run at a time")
    (tmp_path / "xenlab.toml").write_text('[lab]\nname = "startd"\nflavour = "standin"\n')
    env = {"XENLAB_CONFIG": str(tmp_path / "xenlab.toml"), "XENLAB_PASSWORD": PASSWORD}
    with Netns() as ns:
        daemons = Libvirt(ns).expect()
        try:
            before = ns.run([INVOKE, "doctor"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
            assert "warn  libvirtd" in libvirtd_finding(before)
            assert "not running, and no service manager here: the first `invoke up` or `lab` starts it" in \
                libvirtd_finding(before)
            down = ns.run([INVOKE, "down"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
            daemons.adopt()
            assert down.returncode == 0, down.stdout + down.stderr
            assert "==> libvirtd: no service manager runs it here, so xenlab started virtlogd (pid" in down.stdout
            assert set(daemons.pids) == {"virtlogd", "libvirtd"}
            assert LIBVIRTD_STARTED.read_text().strip() == str(daemons.pids["libvirtd"])
            after = ns.run([INVOKE, "doctor"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
            assert libvirtd_finding(after).startswith("  ok  libvirtd")
            assert f"started by xenlab, no service manager here (pid {daemons.pids['libvirtd']})" in \
                libvirtd_finding(after)
            # Running now: the next task starts nothing.
            again = ns.run([INVOKE, "down"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
            assert again.returncode == 0 and "xenlab started" not in again.stdout
            # Clashes, read from this real libvirtd: none yet; then another network on the
            # lab's range (defined, not started) makes `up` refuse in one line, exit 2.
            clean = ns.run([PYTHON, "-c", CLASH_CHECK], env=env, cwd=PROJECT_DIR, timeout=120, check=False)
            assert clean.returncode == 0, clean.stdout + clean.stderr
            (tmp_path / "other.xml").write_text(OTHER_NETWORK)
            daemons.virsh("net-define", str(tmp_path / "other.xml"))
            up = ns.run([INVOKE, "up"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
            assert up.returncode == 2, up.stdout + up.stderr
            assert up.stderr.strip().splitlines() == [
                "xenlab: lab 'startd' cannot come up beside what this libvirt has: libvirt network "
                "'xenlab-other-lab' holds 192.168.57.0/24, which overlaps this lab's network.cidr 192.168.57.0/24: "
                "give this lab another network.cidr"]
            assert daemons.domains() == []
        finally:
            daemons.stop()
            LIBVIRTD_STARTED.unlink(missing_ok=True)
    assert Libvirt.running_elsewhere() is None
