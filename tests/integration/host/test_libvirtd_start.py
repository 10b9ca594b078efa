"""On a host with no service manager (this one: no systemd), the first task that needs
libvirtd starts virtlogd and libvirtd, says so, and doctor tells who runs it. For real,
inside the test's own network namespace (libvirtd's networks get no uplink there), and
marked `vm`: only one libvirtd may run on the machine, so this runs under the VM lock,
and the daemons it started are stopped by their PIDs before it ends."""

from __future__ import annotations

import pytest

from tests.support.netns import Libvirt, Netns
from tests.support.prereq import missing, require_root, require_tool
from xenlab.core.paths import LIBVIRTD_STARTED, PROJECT_DIR
from xenlab.machines import libvirtd

pytestmark = [pytest.mark.vm, pytest.mark.root]

INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")
PASSWORD = "libvirtd-start-pw"


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
        finally:
            daemons.stop()
            LIBVIRTD_STARTED.unlink(missing_ok=True)
    assert Libvirt.running_elsewhere() is None
