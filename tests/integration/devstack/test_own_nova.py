"""Your own Nova against the lab, at host level: a Nova checkout with a planted change to
nova/virt/xenapi/ changes what the probe, and verify, report.

Inside a network namespace the test makes: the simulator on port 80 and a test-owned
sshd standing for the devstack machine (tests/support/dom0lab.py), Nova's compute probe
kept running by a small supervisor loop (standing for its systemd unit's restart), with
NOVA_PROBE_NOVA_SRC as labspec renders it. devstack/nova_src.py syncs the checkout's
nova/ package over real SSH with rsync and restarts the probe; the probe's answers and
verify's probe checks (run with testinfra's local backend) then show the planted change.
The checkout is Nova 21.2.4's own package, copied from the probe's install tree.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.devstack.test_nova_probe import tree  # noqa: F401  (the probe's install tree, a fixture)
from tests.support import labs, nova_checkout
from tests.support.dom0lab import ADDRESS, PROJECT, Dom0Lab
from tests.support.prereq import require_tool
from xenlab.core.files import write_json
from xenlab.devstack import conf, nova_src, probe
from xenlab.stages import verify

pytestmark = pytest.mark.root
SUPERVISE = """\
while [ ! -e "$STOP" ]; do
  env -i "$@" &
  echo $! > "$PIDFILE"
  wait $!
done
"""


class Machine:
    """The namespace's sshd as the devstack machine, and the probe service in it."""

    def __init__(self, lab: Dom0Lab, tmp: Path, tree_dir: Path):
        self.lab, self.tmp = lab, tmp
        self.socket = tmp / "probe.sock"
        self.pidfile, self.stop_file = tmp / "probe.pid", tmp / "stop"
        self.directory = tmp / "guest-nova-src"
        key = tmp / "client_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        lab.authorized_keys.write_text(Path(f"{key}.pub").read_text())
        self.ssh_config = tmp / "ssh_config"
        self.ssh_config.write_text("\n".join([
            "Host devstack", f"  HostName {ADDRESS}", "  User root", f"  IdentityFile {key}",
            "  IdentitiesOnly yes", "  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null",
            "  LogLevel ERROR", ""]))
        cfg = labs.load(tmp / "lab")
        self.nova_conf = tmp / "nova.conf"
        self.nova_conf.write_text(conf.render_nova_conf(cfg))
        run = probe.command(tree_dir, self.nova_conf, serve=self.socket)
        env = [f"{k}={v}" for k, v in {**run.env, "NOVA_PROBE_NOVA_SRC": str(self.directory)}.items()]
        self.supervisor = subprocess.Popen(
            lab.exec_argv(["bash", "-c", SUPERVISE, "supervise", *env, *run.argv]),
            env={"PATH": "/usr/bin:/bin", "STOP": str(self.stop_file), "PIDFILE": str(self.pidfile)},
            stdout=subprocess.DEVNULL, stderr=open(tmp / "probe.log", "w"))
        self.target = nova_src.Target(self.ssh_config, "devstack", str(self.directory),
                                      f"kill $(cat {self.pidfile})", sudo=False)

    def ask(self) -> dict:
        done = subprocess.run(probe.ask(self.socket, timeout=240), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr + (self.tmp / "probe.log").read_text()[-2000:]
        return json.loads(done.stdout)

    def call(self, function: str, *args) -> object:
        """nova_src.<function>(*args, target) inside the namespace, where the machine's address is."""
        code = (f"import json, sys; from pathlib import Path; from xenlab.devstack import nova_src as n\n"
                f"t = n.Target(Path({str(self.ssh_config)!r}), 'devstack', {str(self.directory)!r}, "
                f"{self.target.restart!r}, sudo=False)\n"
                f"r = n.{function}(*[Path(a) for a in sys.argv[1:]], t)\n"
                "print(json.dumps(r.__dict__ if hasattr(r, '__dict__') else r))\n")
        done = subprocess.run(self.lab.exec_argv([sys.executable, "-c", code, *map(str, args)]), cwd=PROJECT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def close(self) -> None:
        self.stop_file.write_text("")
        if self.pidfile.exists():
            try:
                os.kill(int(self.pidfile.read_text()), signal.SIGTERM)  # the probe this test started
            except (ProcessLookupError, ValueError):
                pass
        self.supervisor.wait(timeout=60)


@pytest.fixture
def machine(tmp_path, tree):  # noqa: F811
    require_tool("ip", "unshare", "ssh", "ssh-keygen", "/usr/sbin/sshd", "rsync", "python3")
    tree_dir, plugins = tree
    with Dom0Lab(tmp_path, labs.PASSWORD) as lab:
        for name, data in plugins.items():
            (lab.plugin_dir / name).write_bytes(data)
            (lab.plugin_dir / name).chmod(0o755)
        lab.start_sim()
        lab.start_sshd()
        m = Machine(lab, tmp_path, tree_dir)
        try:
            yield m, tree_dir
        finally:
            m.close()


def test_a_planted_change_in_your_nova_changes_what_the_probe_and_verify_report(machine, tmp_path, capsys):
    m, tree_dir = machine
    baseline = m.ask()["hypervisor"]
    assert baseline["vcpus"] != nova_checkout.PLANTED_VCPUS and not baseline["hypervisor_hostname"].endswith("-planted")

    checkout = nova_checkout.planted(tree_dir, tmp_path / "checkout")
    synced = m.call("sync", checkout)
    assert synced["restarted"] and synced["changed"] > 100  # the whole package, the first time
    assert not (m.directory / "nova/tests").exists() and not list(m.directory.rglob("__pycache__"))
    assert (m.directory / "nova/virt/xenapi/host.py").read_text() == (checkout / "nova/virt/xenapi/host.py").read_text()
    planted = m.ask()["hypervisor"]
    assert planted == {**baseline, "vcpus": nova_checkout.PLANTED_VCPUS,
                       "hypervisor_hostname": baseline["hypervisor_hostname"] + nova_checkout.PLANTED_SUFFIX}

    # verify's probe checks, run for real against this probe: they now see the planted name.
    cfg = labs.load(tmp_path / "verify-lab")
    write_json(cfg.paths.verify_context, {"nova_probe": {"ask": probe.ask(m.socket), "service": "the probe",
                                                         "hostname": baseline["hypervisor_hostname"]}})
    [outcome] = verify.run_targets(cfg, [verify.Target("devstack", "local://", m.ssh_config, sudo=False,
                                                       suites=["test_nova_probe.py"])], {})
    assert [(name.split("[")[0], message) for name, message in outcome.failed] == [
        ("test_nova_reports_the_hypervisor",
         f"AssertionError: Nova names the hypervisor '{baseline['hypervisor_hostname']}-planted', XenAPI named the "
         f"host '{baseline['hypervisor_hostname']}': run `invoke wire`")]

    # Nothing changed: no restart. An edit: only it is sent.
    assert m.call("sync", checkout) == {"changed": 0, "restarted": False}
    (checkout / "nova/virt/xenapi/host.py").write_text(
        (checkout / "nova/virt/xenapi/host.py").read_text().replace(f"= {nova_checkout.PLANTED_VCPUS}", "= 13"))
    assert m.call("sync", checkout) == {"changed": 1, "restarted": True}
    assert m.ask()["hypervisor"]["vcpus"] == 13

    # The setting removed: the copy goes, and the probe's Nova is the tree's own again.
    assert m.call("remove") is True and not m.directory.exists()
    assert m.ask()["hypervisor"] == baseline
    assert m.call("remove") is False
