"""The shared lab lives on a remote libvirt host (tests/vm/conftest.py): what only a
remote host shows. Before its libvirtd runs, the host is named in one line with the fix;
then the workstation runs no libvirtd and sees none of libvirt's files, the lab's
network is reached through the host's SSH, and a snapshot's memory and disks stay on the
host. The rest of the tier (test_lab.py) runs the whole lifecycle there.
"""

from __future__ import annotations

import json

import pytest

from tests.support.remote_host import HOST, SSH_PORT
from tests.support.standin_lab import INVOKE
from xenlab.core.paths import PROJECT_DIR
from xenlab.machines import saves

pytestmark = [pytest.mark.vm, pytest.mark.root]


@pytest.mark.step(7)
def test_a_remote_host_without_libvirtd_is_named_in_one_line_with_the_fix(remote, tmp_path):
    """Before the shared lab starts the host's libvirtd (step 10): doctor and `up` say so."""
    (tmp_path / "xenlab.toml").write_text(f'[lab]\nname = "early"\nflavour = "standin"\naccelerator = "tcg"\n'
                                          f'libvirt_uri = "{remote.uri}"\n')
    env = {"XENLAB_CONFIG": str(tmp_path / "xenlab.toml"), "XENLAB_PASSWORD": "early-pw", "CI": "true"}
    fix = f"libvirtd is not running on {HOST}: start it there (`sudo systemctl enable --now libvirtd`)"
    doctor = remote.ws.run([INVOKE, "doctor"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
    assert doctor.returncode == 3, doctor.stdout + doctor.stderr
    assert f"{'fail':>4}  {'libvirtd':<26} {fix}" in doctor.stdout.splitlines()
    up = remote.ws.run([INVOKE, "up"], env=env, cwd=PROJECT_DIR, timeout=300, check=False)
    assert up.returncode == 4 and up.stderr.strip().splitlines() == [f"xenlab: {fix}"], up.stdout + up.stderr


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


@pytest.mark.step(40)
def test_the_workstation_runs_no_libvirtd_and_reaches_libvirt_only_over_ssh(lab):
    assert lab.cfg.lab.libvirt_uri == f"qemu+ssh://root@{HOST}:{SSH_PORT}/system"
    assert "libvirtd" not in {_comm(pid) for pid in lab.ns.pids()}
    assert "libvirtd" in {_comm(pid) for pid in lab.remote.ns.pids()}
    # The host's libvirt sockets are not in the workstation's view: only qemu+ssh reaches libvirt.
    local = lab.ns.run(["virsh", "-c", "qemu:///system", "uri"], timeout=60, check=False)
    assert local.returncode != 0 and "libvirt-sock" in local.stderr
    # Vagrant reaches the guests with the host as its jump; they are on the host's networks only.
    text = lab.cfg.paths.ssh_config.read_text()
    assert text.count(f"-p {SSH_PORT} -l 'root'") == 2 and text.count("-W %h:%p") == 2, text
    route = lab.ns.run(["ip", "route", "get", "192.168.57.10"], timeout=30, check=False)
    assert route.returncode != 0  # no route from the workstation to the lab's network


@pytest.mark.step(40)
def test_wire_reached_xenapi_and_dom0_through_the_remote_host(lab):
    out = lab.cold.stdout
    assert f"XenAPI: logging in to http://192.168.57.10 (through root@{HOST}:{SSH_PORT}) as root" in out
    # The facts name the lab's own XenAPI, not the tunnel's end; dom0's key is under its own address.
    facts = json.loads(lab.cfg.paths.facts.read_text())
    assert facts["url"] == "http://192.168.57.10"
    assert lab.cfg.paths.known_hosts.read_text().startswith("192.168.57.10 ")
    # No tunnel outlives its stage.
    assert not [pid for pid in lab.ns.pids() if _comm(pid) == "ssh" and
                "-L" in open(f"/proc/{pid}/cmdline").read().split("\0")]


@pytest.mark.step(75)
def test_a_snapshot_s_memory_and_disks_stay_on_the_remote_host(lab):
    """Taken at step 70: its big files are in the host's pool, written by the host's libvirtd;
    the lab's folder on the workstation holds only the record."""
    cfg = lab.cfg
    meta = saves.read(cfg, "ci")
    on_host = lab.remote.var_lib_libvirt / "xenlab-snapshots" / meta["pool"]
    assert meta["pool_dir"] == f"/var/lib/libvirt/xenlab-snapshots/{meta['pool']}"
    for m, info in meta["machines"].items():
        assert (on_host / info["save"]).stat().st_size > 50 * 2**20, m  # the guest's memory
        for disk in info["disks"]:
            assert (on_host / disk["volume"]).stat().st_size > 100 * 2**20, m  # a whole copy of its disk
    here = sum(f.stat().st_size for f in saves.folder(cfg, "ci").rglob("*") if f.is_file())
    assert here < 2 * 2**20, here
