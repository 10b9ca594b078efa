"""`invoke lab` end to end on the stand-in flavour, and what the lab does next.

The session's lab was made from nothing by one `invoke lab` (tests/vm/
conftest.py). These tests read that run, then use the running lab: a no-op rerun,
verify catching deliberately broken hosts and the fix it names, a refused password
switch, `invoke down` and a plain `vagrant up` (the CI path) recording the same
stages. Each test's `step` says when it runs in the VM tier (tests/vm/conftest.py):
10 reads the cold run; 20-30 are test_build.py and test_dom0_scripts.py (the built
box); 40 reads the running lab; 50 breaks and mends it; 60-70 reuse and snapshot it;
80 takes it down; 90 brings it up again by plain `vagrant up`; 100 restores the
snapshot over it; 120 purges it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.leaks import assert_no_leak
from xenlab.stages import lifecycle
from xenlab.core.state import State
from xenlab.machines import saves as snapshots

pytestmark = [pytest.mark.vm, pytest.mark.root]


def failures(report: Path) -> int:
    root = ET.parse(report).getroot()
    return sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in root.iter("testsuite"))


def headers(out: str) -> list[str]:
    return re.findall(r"^==> ([a-z-]+): ", out, re.MULTILINE)


@pytest.mark.step(10)
def test_a_cold_lab_runs_each_stage_once_in_order(lab):
    done = lab.cold
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    stages = [h for h in headers(done.stdout) if h in lifecycle.names()]
    assert stages == lifecycle.names() == ["build", "up-xenserver", "wire", "up-devstack", "verify"]
    assert "stand-in" in done.stdout.lower()
    assert "smoke test: stand-in XenAPI simulator answers on port 80" in done.stdout
    assert "stack.sh is NOT run" in done.stdout
    report = lab.cfg.paths.report
    assert report.is_file() and failures(report) == 0
    assert sum(1 for _ in ET.parse(report).getroot().iter("testcase")) >= 15
    assert "xenserver  ok" in done.stdout and "devstack   ok" in done.stdout


@pytest.mark.step(10)
def test_a_fresh_libvirtd_gets_the_storage_pool_vagrant_libvirt_would_make(lab):
    # The probe disk goes into the pool before Vagrant runs, so xenlab makes the pool itself.
    if "default" not in lab.libvirt.before["pools"]:
        assert "libvirt: defining storage pool default at /var/lib/libvirt/images" in lab.cold.stdout
    assert "default" in lab.libvirt.names("pool-list", "--name")


@pytest.mark.step(10)
def test_the_boxes_are_built_packed_and_registered(lab):
    cfg = lab.cfg
    for name in ("standin", "standin-devstack"):
        box = cfg.paths.boxes / f"{name}.libvirt.box"
        assert box.is_file() and oct(box.stat().st_mode & 0o777) == "0o600"
        with tarfile.open(box) as tar:
            # Packer 1.6 writes GNU headers whose time fields Python reads as a name
            # prefix; Vagrant's bsdtar reads plain names. Compare base names.
            members = {Path(m.name).name: m for m in tar.getmembers()}
            meta = json.load(tar.extractfile(members["metadata.json"]))
        assert {"box.img", "metadata.json", "Vagrantfile"} <= set(members)
        assert meta["provider"] == "libvirt"
        manifest = json.loads((cfg.paths.boxes / f"{name}.manifest.json").read_text())
        assert manifest["box"] == f"xenlab/{name}" and manifest["standin"] is True
        assert manifest["sha256"] == hashlib.sha256(box.read_bytes()).hexdigest()
        vagrant_dir = Path(lab.env["VAGRANT_HOME"]) / "boxes" / f"xenlab-VAGRANTSLASH-{name}"
        assert (vagrant_dir / manifest["version"] / "libvirt" / "box.img").is_file()
    logs = list(cfg.paths.log("x").parent.glob("build-standin-*.log"))
    assert logs and "Waiting for SSH" in logs[0].read_text()


@pytest.mark.step(40)
def test_a_second_lab_is_a_noop_that_reports_status(lab):
    done = lab.invoke("lab", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    for stage in lifecycle.names():
        assert f"==> {stage}: up to date" in done.stdout
    assert f"lab {lab.name} (flavour standin)" in done.stdout
    assert done.stdout.count("done ") >= 5


@pytest.mark.step(40)
def test_status_shows_machines_addresses_and_stages(lab):
    done = lab.invoke("status", "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    machines = {m["machine"]: m for m in info["machines"]}
    assert machines["xenserver"]["state"] == machines["devstack"]["state"] == "running"
    assert machines["xenserver"]["private_ip"] == "192.168.57.10"
    assert machines["devstack"]["ssh"].startswith("vagrant@192.168.121.")
    assert all(s["done"] for s in info["stages"] if s["stage"] in lifecycle.names())


@pytest.mark.step(40)
def test_the_ssh_config_names_both_machines(lab):
    text = lab.cfg.paths.ssh_config.read_text()
    for machine in ("xenserver", "devstack"):
        assert f"Host {machine}\n" in text
    assert text.count("HostName 192.168.121.") == 2


PROBE = """\
import sys, xmlrpc.client
pw = sys.stdin.readline().rstrip("\\n")
proxy = xmlrpc.client.ServerProxy("http://%s/" % sys.argv[1])
res = proxy.session.login_with_password("root", pw, "2.1", "xenlab-test")
print(res["Status"], str(res.get("Value", ""))[:10])
"""


@pytest.mark.step(40)
def test_devstack_logs_in_to_xenapi_on_xenserver_over_the_private_network(lab, tmp_path):
    # The password travels on stdin, never in argv.
    (tmp_path / "probe.py").write_text(PROBE)
    lab.ns.run(["scp", "-F", str(lab.cfg.paths.ssh_config), str(tmp_path / "probe.py"), "devstack:/tmp/probe.py"],
               timeout=120)
    done = lab.ssh("devstack", "python3 /tmp/probe.py 192.168.57.10", input=lab.env["XENLAB_PASSWORD"] + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["Success", "OpaqueRef:"]


@pytest.mark.step(40)
def test_devstack_provisioning_ran_as_the_stand_in_says(lab):
    done = lab.ssh("devstack", "id stack && cat /opt/stack/devstack/XENLAB-STAND-IN")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not a DevStack checkout" in done.stdout


@pytest.mark.step(50)
def test_a_non_executable_plugin_fails_verify_with_the_fix(lab):
    plugin = "/etc/xapi.d/plugins/xenhost.py"
    assert lab.ssh("xenserver", f"sudo chmod -x {plugin}").returncode == 0
    done = lab.invoke("verify", timeout=600)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "not executable" in done.stdout and "xenhost.py" in done.stdout
    assert "invoke wire" in done.stdout
    # The fix the message names puts it right.
    assert lab.invoke("wire", "--force", timeout=600).returncode == 0
    assert lab.invoke("verify", timeout=600).returncode == 0


@pytest.mark.step(50)
def test_a_wrong_nova_option_fails_verify_with_the_fix(lab):
    nova = "/etc/nova/nova.conf"
    assert lab.ssh("devstack", f"sudo sed -i.bak 's/^check_host = False/check_host = True/' {nova}").returncode == 0
    done = lab.invoke("verify", timeout=600)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "check_host" in done.stdout
    assert lab.ssh("devstack", f"sudo mv {nova}.bak {nova}").returncode == 0
    assert lab.invoke("verify", timeout=600).returncode == 0


@pytest.mark.step(40)
def test_verify_boots_an_instance_through_nova_s_driver_and_says_where(lab):
    summary = [line.strip() for line in lab.cold.stdout.splitlines() if "instance lifecycle:" in line]
    assert len(summary) == 1, lab.cold.stdout[-3000:]
    for step in ("spawn", "reboot-soft", "reboot-hard", "power-off", "power-on", "snapshot", "destroy"):
        assert re.search(rf"\b{step} \d+\.\d+ s\b", summary[0]), summary[0]
    assert summary[0].endswith("(on the stand-in's simulated host: xenlab sim, no guest really runs)")


@pytest.mark.step(50)
def test_your_own_nova_with_a_planted_change_is_what_one_verify_exercises(lab, tmp_path):
    from tests.support import nova_checkout
    from xenlab.devstack import probe

    checkout = nova_checkout.planted(probe.tree_dir(), tmp_path / "nova")
    env = dict(lab.env)
    lab.env["XENLAB_DEVSTACK_NOVA_SRC"] = str(checkout)
    try:
        done = lab.invoke("verify", timeout=900)
    finally:
        lab.env = env
    assert done.returncode == 1, done.stdout[-3000:]
    assert f"your Nova: {checkout}/nova -> devstack:" in done.stdout and "probe restarted" in done.stdout
    assert f"{nova_checkout.PLANTED_SUFFIX}', XenAPI named the host" in done.stdout  # the probe check sees it
    assert "==> build" not in done.stdout  # nothing rebuilt
    # The setting gone: the copy goes, the probe's Nova is its tree's again, verify passes.
    done = lab.invoke("verify", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "your Nova removed from the devstack machine" in done.stdout


@pytest.mark.step(50)
def test_a_changed_password_is_refused_never_taken_as_up_to_date(lab):
    env = dict(lab.env)
    lab.env["XENLAB_PASSWORD"] = "a-different-Pw1"
    try:
        done = lab.invoke("wire", timeout=300)
    finally:
        lab.env = env
    assert done.returncode == 2
    assert "up to date" not in done.stdout
    assert "is not the one lab 'e2e' was set up with" in done.stderr and "invoke down --purge" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    # The lab's own password still finds everything current.
    assert "==> wire: up to date" in lab.invoke("wire", timeout=300).stdout


@pytest.mark.step(60)
def test_up_again_is_a_fast_no_op(lab):
    done = lab.invoke("up", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for stage in lifecycle.machine_span():
        assert f"==> {stage}: up to date" in done.stdout
    assert "vagrant up" not in done.stdout


@pytest.mark.step(70)
def test_a_snapshot_of_the_verified_lab_comes_back_in_seconds(lab):
    done = lab.invoke("snapshot", "--name", "ci", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "snapshot ci:" in done.stdout and "the machines run on" in done.stdout
    assert "snapshot ci " in lab.invoke("status", timeout=300).stdout
    # Break the lab, then bring the snapshot back: the break is gone, verify passes.
    assert lab.ssh("xenserver", "sudo chmod -x /etc/xapi.d/plugins/xenhost.py").returncode == 0
    done = lab.invoke("restore", "--name", "ci", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "no need to wire again" in done.stdout and "xenserver  ok" in done.stdout
    assert lab.invoke("lab", timeout=600).stdout.count("up to date") == len(lifecycle.names())


@pytest.mark.step(70)
def test_snapshots_are_refused_for_a_lab_that_is_not_verified_or_a_bad_name(lab):
    done = lab.invoke("snapshot", "--name", "Bad Name", timeout=300)
    assert done.returncode == 2 and "snapshot name" in done.stderr
    done = lab.invoke("restore", "--name", "nope", timeout=300)
    assert done.returncode == 2 and "no snapshot 'nope'" in done.stderr and "ci" in done.stderr


@pytest.mark.step(80)
def test_down_keeps_the_box_images_and_forgets_the_machine_stages(lab):
    done = lab.invoke("down", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    new = lab.libvirt.new_since_start()
    assert new["domains"] == []
    # What is left are the uploaded box images and the probe's disk, so that the next `up` is warm.
    kept = [v for v in new["volumes"] if "_vagrant_box_image_" in v or v.startswith("xenlab-nova-probe-")]
    assert new["volumes"] and kept == new["volumes"], new["volumes"]
    assert sum("_vagrant_box_image_" in v for v in kept) == 2
    assert [n for n in lab.libvirt.networks() if n.startswith(f"xenlab-{lab.name}")] == []
    stages = State(lab.cfg.paths.state).stages
    assert "build" in stages and not set(lifecycle.machine_span()) & set(stages)


@pytest.mark.step(90)
def test_plain_vagrant_up_records_the_stages_exactly_as_invoke_would(lab):
    """The CI path: plain `vagrant up`. Its hook reads the lab spec Vagrant read, so an
    environment that differs from the one `plan` saw changes nothing it records."""
    env = dict(lab.env)
    del lab.env["XENLAB_CONFIG"]  # only the lab spec says which config
    lab.env["XENLAB_XENSERVER_MEMORY_MB"] = "2048"  # not what plan rendered: ignored
    try:
        done = lab.vagrant("up")
    finally:
        lab.env = env
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    out = done.stdout
    assert out.count("==> wire: ") == 1  # wired once, when devstack's provisioning began
    # Both machines boot at once; devstack's provisioning ran wire once xenserver was up,
    # then got wire's files over its own SSH connection: no marker file, no `vagrant rsync`.
    assert out.index("devstack: Creating domain") < out.index("xenlab: up-xenserver recorded")
    assert out.index("xenlab: up-xenserver recorded") < out.index("==> wire: ")
    assert out.index("==> wire: ") < out.index("file(s) given to devstack") < out.index("local.conf installed as")
    assert "rsync" not in out and "WIRE-" not in out
    records = State(lab.cfg.paths.state).stages
    assert [n for n in lifecycle.machine_span() if n in records] == lifecycle.machine_span()
    assert records["up-xenserver"]["by"] == records["up-devstack"]["by"] == "vagrant"
    status = lab.invoke("status", timeout=300).stdout
    for stage in lifecycle.machine_span():
        assert re.search(rf"^  {stage} +done ", status, re.MULTILINE), status
    assert lab.invoke("verify", timeout=600).returncode == 0
    # And invoke agrees: nothing left to do.
    again = lab.invoke("up", timeout=600)
    assert all(f"==> {stage}: up to date" in again.stdout for stage in lifecycle.machine_span()), again.stdout


@pytest.mark.step(100)
def test_a_snapshot_outlives_down_and_a_later_lab_and_lab_restores_it(lab):
    """Over the machines plain `vagrant up` made since: other domains, other addresses."""
    def uuids():
        return {m: lab.libvirt.virsh("domuuid", f"xenlab-{lab.name}-{m}").stdout.strip()
                for m in ("xenserver", "devstack")}

    saved = {m: info["uuid"] for m, info in snapshots.read(lab.cfg, "ci")["machines"].items()}
    assert uuids() != saved  # the later lab's own machines run now
    done = lab.invoke("lab", "--snapshot", "ci", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "restored xenserver, devstack from snapshot ci" in done.stdout
    assert "xenserver  ok" in done.stdout and "devstack   ok" in done.stdout
    state = json.loads(lab.invoke("status", "--json", timeout=300).stdout)
    assert {m["machine"]: m["state"] for m in state["machines"]} == {"xenserver": "running", "devstack": "running"}
    assert uuids() == saved  # the later lab's domains gave way to the snapshot's


@pytest.mark.step(110)
def test_the_secret_stays_out_of_output_and_public_files(lab):
    assert_no_leak(lab.env["XENLAB_PASSWORD"], lab.root, *lab.outputs)


@pytest.mark.step(120)
def test_down_purge_leaves_no_domain_volume_network_or_snapshot(lab):
    done = lab.invoke("down", "--purge", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    new = lab.libvirt.new_since_start()
    assert new["domains"] == [] and new["volumes"] == [], new
    assert [n for n in lab.libvirt.networks() if n.startswith(f"xenlab-{lab.name}")] == []
    cfg = lab.cfg
    assert not cfg.paths.snapshots.exists() and not cfg.paths.password_pin.exists()
    status = lab.invoke("status", timeout=120)
    assert "not done" in status.stdout
