"""`xenlab wire` end to end: the simulator plus a test-owned sshd standing for dom0,
inside a network namespace the test made (only `lo`, the lab's address on it)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.dom0lab import Dom0Lab
from tests.support.leaks import lab_logs, logs_not_private_or_not_redacted
from tests.support.prereq import require_root, require_tool
from xenlab.xenserver import osxenapi
from xenlab.devstack import restrictions

PASSWORD = "p<&\"'#x"
LAB = ".xenlab/xenlab"


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    require_root()
    require_tool("ip", "unshare", "ssh", "ssh-keygen", "/usr/sbin/sshd", "iptables")
    # The namespace has no uplink: fetch the os-xenapi sdist into the cache first.
    osxenapi.sdist("0.3.4")


@pytest.fixture
def work(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    return d


def written(work):
    return sorted(str(p.relative_to(work)) for p in (work / LAB).rglob("*")
                  if p.is_file() and "devstack" in p.parts)


def test_wire_end_to_end_then_no_op(tmp_path, work):
    with Dom0Lab(tmp_path, PASSWORD) as lab:
        lab.start_sim()
        lab.start_sshd()
        first = lab.run_xenlab(work, "wire")
        assert first.returncode == 0, first.stdout + first.stderr
        assert PASSWORD not in first.stdout + first.stderr
        # wire's log (dom0 over SSH, with the password in its environment) is private and redacted.
        assert [p.name for p in lab_logs(work)] == ["wire.log"]
        assert logs_not_private_or_not_redacted(work, {PASSWORD}) == []

        plugins = sorted(p.name for p in lab.plugin_dir.iterdir())
        assert "dom0_plugin_version.py" in plugins and "xenhost.py" in plugins and len(plugins) == 16
        assert all(os.access(lab.plugin_dir / p, os.X_OK) for p in plugins)
        pub = (work / LAB / "ssh/domzero.pub").read_text().strip()
        assert lab.authorized_keys.read_text().splitlines() == [pub]
        assert (lab.root / "images").is_dir() and (lab.root / "boot/guest").is_dir()
        rules = subprocess.run(lab.exec_argv(["iptables", "-S"]), capture_output=True, text=True).stdout
        assert "-A XenServerDevstack -p tcp -m tcp --dport 6640 -j ACCEPT" in rules
        assert "-A XenServerDevstack -p udp -m udp --dport 4789 -j ACCEPT" in rules
        assert "-A INPUT -j XenServerDevstack" in rules

        # The DOMZERO key really logs in as root (what os-xenapi's plugin does).
        key_login = subprocess.run(lab.exec_argv([
            "ssh", "-F", "/dev/null", "-i", str(work / LAB / "ssh/domzero"), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "root@192.168.57.10",
            "echo", "domzero-ok"]), capture_output=True, text=True, timeout=60)
        assert key_login.stdout.strip() == "domzero-ok", key_login.stderr

        local_conf = work / LAB / "devstack/local.conf"
        nova_conf = work / LAB / "devstack/nova.conf"
        for path in (local_conf, nova_conf):
            assert path.stat().st_mode & 0o777 == 0o600
            assert restrictions.check_file(path) == []
        text = local_conf.read_text()
        for line in ("VIRT_DRIVER=xenserver", "XENAPI_CONNECTION_URL=http://192.168.57.10",
                     "XENAPI_USER=root", "DOMZERO_USER=stack", "USE_PYTHON3=False", "NOVA_BRANCH=train-eol",
                     "enable_plugin os-xenapi https://opendev.org/x/os-xenapi 0.3.4",
                     "[[post-config|$NOVA_CONF]]", "independent_compute=True", "check_host=False"):
            assert line in text.splitlines()

        # Bash reads back exactly the configured password, for every prompted one.
        localrc = text.split("[[local|localrc]]\n")[1].split("[[")[0]
        for var in ("XENAPI_PASSWORD", "ADMIN_PASSWORD", "DATABASE_PASSWORD", "RABBIT_PASSWORD", "SERVICE_PASSWORD"):
            got = subprocess.run(["bash", "-c", f'eval "$1"; printf %s "${var}"', "x", localrc],
                                 capture_output=True, text=True, check=True).stdout
            assert got == PASSWORD
        assert "connection_password = p<&\"'#x" in nova_conf.read_text()  # raw, as DevStack's iniset writes it

        mtimes = {p: p.stat().st_mtime_ns for p in (local_conf, nova_conf, lab.authorized_keys)}
        again = lab.run_xenlab(work, "wire")
        assert again.returncode == 0 and "up to date (inputs unchanged), nothing to do" in again.stdout
        forced = lab.run_xenlab(work, "wire", "--force")
        assert forced.returncode == 0, forced.stderr
        assert "dom0: nothing to change" in forced.stdout and "wire: nothing changed" in forced.stdout
        assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
        assert lab.authorized_keys.read_text().count(pub) == 1


@pytest.mark.parametrize("bad, why", [("a\\b", "backslash"), ("a b", "whitespace"), ("a\nb", "whitespace")])
def test_password_devstack_cannot_carry_is_refused_before_writing(tmp_path, work, bad, why):
    with Dom0Lab(tmp_path, PASSWORD) as lab:
        out = lab.run_xenlab(work, "wire", password=bad)
        assert out.returncode == 2
        assert out.stderr.strip().startswith("xenlab: config error: password from XENLAB_PASSWORD")
        assert why in out.stderr and len(out.stderr.strip().splitlines()) == 1
        assert not (work / ".xenlab").exists()


FAST = {"XENLAB_WIRE_TIMEOUT_S": "2", "XENLAB_WIRE_ATTEMPTS": "2"}


@pytest.mark.parametrize("fault, code, message", [
    ("not listening", 4, "connection refused (tried 2 times"),
    ("stalls", 4, "no answer in time (tried 2 times"),
    ("wrong xenapi password", 5, "refused the password for user 'root'"),
    ("wrong ssh password", 5, "dom0 SSH at 192.168.57.10 refused root's password"),
])
def test_faults_one_line_distinct_exit_nothing_written(tmp_path, work, fault, code, message):
    sim_password = "other-password" if fault == "wrong xenapi password" else PASSWORD
    with Dom0Lab(tmp_path, PASSWORD, sim_password=sim_password) as lab:
        if fault == "stalls":
            lab.start_stall()
        elif fault != "not listening":
            lab.start_sim()
        if fault == "wrong ssh password":
            lab.password = "not-the-ssh-password"
            lab.start_sshd()
            lab.password = PASSWORD
        out = lab.run_xenlab(work, "wire", env=FAST, timeout=120)
        assert out.returncode == code, out.stdout + out.stderr
        err = out.stderr.strip()
        assert len(err.splitlines()) == 1 and err.startswith("xenlab: ") and message in err, err
        assert "Traceback" not in out.stdout + out.stderr
        assert written(work) == []
        assert not (work / LAB / "state.json").exists()
