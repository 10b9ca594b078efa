"""Several labs at once on one libvirt host: a second stand-in lab, "two", comes up beside
the shared lab from the boxes it built (its config beside the shared lab's, under the same
root), is verified, snapshotted and restored while the shared lab runs on untouched, then
goes with `down --purge`, which keeps what the shared lab uses; the shared lab still runs
and verifies, and takes its own snapshot and restore next (test_lab.py, step 70). Labs
that would clash with the two are refused in one line before anything boots.

Steps (tests/vm/conftest.py): 62 brings "two" up, 64 refuses the clashes, 66 saves and
restores "two", 68 takes it down.
"""

from __future__ import annotations

import pytest

from tests.support.standin_lab import StandinLab
from xenlab.machines import saves

pytestmark = [pytest.mark.vm, pytest.mark.root]

TWO_NETWORK = 'cidr = "192.168.59.0/24"\nxenserver_ip = "192.168.59.10"\ndevstack_ip = "192.168.59.11"\n'
MARKER = "/var/tmp/xenlab-labs-marker"


@pytest.fixture(scope="module")
def two(lab):
    """The second lab: its own name and range, the shared lab's root, boxes and password."""
    the_two = StandinLab(lab.ns, lab.root, "two", lab.env["XENLAB_PASSWORD"], vagrant_home=lab.root / "vagrant-home",
                         libvirt_uri=lab.cfg.lab.libvirt_uri, network=TWO_NETWORK, config="two.toml")
    yield the_two
    if any(d.startswith("xenlab-two-") for d in lab.libvirt.domains()):  # a failed test left it up
        the_two.invoke("down", "--purge", timeout=900)
    lab.timings += [(f"two: {label}", seconds) for label, seconds in the_two.timings]
    lab.outputs += the_two.outputs


def uuids(lab, name):
    return {m: lab.libvirt.virsh("domuuid", f"xenlab-{name}-{m}").stdout.strip() for m in ("xenserver", "devstack")}


@pytest.mark.step(62)
def test_a_second_lab_comes_up_beside_the_first_from_its_boxes(lab, two):
    before = uuids(lab, "e2e")
    done = two.invoke("lab", timeout=1800)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "box xenlab/standin is already built from these inputs (another lab made it): reusing" in done.stdout
    assert "xenserver  ok" in done.stdout and "devstack   ok" in done.stdout
    # Both labs' machines run, each on its own networks, each known to its own Vagrant data.
    running = set(lab.libvirt.names("list", "--name"))
    assert {f"xenlab-{n}-{m}" for n in ("e2e", "two") for m in ("xenserver", "devstack")} <= running
    assert uuids(lab, "e2e") == before
    ranges = {n: lab.libvirt.virsh("net-dumpxml", n).stdout for n in ("xenlab-two", "xenlab-two-mgmt")}
    assert "192.168.59.1" in ranges["xenlab-two"] and "192.168.123.1" in ranges["xenlab-two-mgmt"]
    two_ids = {m: (two.cfg.paths.vagrant_dotfile / "machines" / m / "libvirt" / "id").read_text() for m in uuids(lab, "two")}
    assert two_ids == uuids(lab, "two") and not set(two_ids.values()) & set(before.values())
    assert not (lab.root / ".vagrant" / "machines").exists()  # no lab's data in a shared .vagrant


@pytest.mark.step(64)
@pytest.mark.parametrize("name, network, said", [
    ("e2e", 'cidr = "192.168.60.0/24"\nxenserver_ip = "192.168.60.10"\ndevstack_ip = "192.168.60.11"\n',
     "libvirt network 'xenlab-e2e' (192.168.57.0/24) is named as lab 'e2e''s but is not this lab's"),
    ("three", 'cidr = "192.168.59.128/25"\nxenserver_ip = "192.168.59.130"\ndevstack_ip = "192.168.59.131"\n',
     "lab 'two' ({root}/.xenlab/two/lab.json)'s network 'xenlab-two' holds 192.168.59.0/24, which overlaps this "
     "lab's network.cidr 192.168.59.128/25: give this lab another network.cidr"),
    ("four", 'cidr = "10.168.57.0/24"\nxenserver_ip = "10.168.57.10"\ndevstack_ip = "10.168.57.12"\n',
     "lab 'e2e' ({root}/.xenlab/e2e/lab.json)'s machine 'xenlab-e2e-xenserver' has the private MAC "
     "52:54:00:a8:39:0a"),
], ids=["same-name", "overlapping-range", "same-mac"])
def test_a_lab_that_clashes_with_the_running_ones_is_refused_before_anything_boots(lab, two, tmp_path, name,
                                                                                     network, said):
    # The same name from another root; the other labs' configs beside theirs.
    root = tmp_path if name == "e2e" else lab.root
    other = StandinLab(lab.ns, root, name, lab.env["XENLAB_PASSWORD"], vagrant_home=lab.root / "vagrant-home",
                       libvirt_uri=lab.cfg.lab.libvirt_uri, network=network, config=f"{name}.toml")
    domains = lab.libvirt.domains()
    done = other.invoke("up", timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"xenlab: lab {name!r} cannot come up beside what this libvirt has: "
                           f"{said.format(root=lab.root)}"), line
    assert lab.libvirt.domains() == domains
    lab.timings += [(f"{name}: {label}", seconds) for label, seconds in other.timings]


@pytest.mark.step(66)
def test_the_second_lab_is_saved_and_restored_leaving_the_first_as_it_was(lab, two):
    assert lab.ssh("devstack", f"echo e2e > {MARKER}").returncode == 0
    e2e = uuids(lab, "e2e")
    done = two.invoke("snapshot", "--name", "s1", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert two.ssh("xenserver", f"sudo touch {MARKER}").returncode == 0  # after the snapshot
    done = two.invoke("restore", "--name", "s1", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "restored xenserver, devstack from snapshot s1" in done.stdout and "xenserver  ok" in done.stdout
    assert two.ssh("xenserver", f"test ! -e {MARKER}").returncode == 0  # back to before it
    # The first lab ran on untouched: the same machines, what it was given since still there.
    assert uuids(lab, "e2e") == e2e and lab.ssh("devstack", f"cat {MARKER}").stdout.strip() == "e2e"
    assert saves.names(lab.cfg) == [] and saves.names(two.cfg) == ["s1"]
    assert saves.pool_name(two.cfg) != saves.pool_name(lab.cfg)


@pytest.mark.step(68)
def test_down_of_the_second_lab_leaves_the_first_running_and_verified(lab, two):
    e2e = uuids(lab, "e2e")
    done = two.invoke("down", "--purge", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    # The box images the first lab's disks are built on and Nova's probe disk it has attached: kept.
    assert done.stdout.count("(another lab's machine is built on it or uses it)") == 3, done.stdout
    assert not [d for d in lab.libvirt.domains() if d.startswith("xenlab-two-")]
    assert not [n for n in lab.libvirt.networks() if n.startswith("xenlab-two")]
    assert saves.pool_name(two.cfg) not in lab.libvirt.names("pool-list", "--all", "--name")
    assert uuids(lab, "e2e") == e2e and lab.ssh("devstack", f"cat {MARKER}").stdout.strip() == "e2e"
    done = lab.invoke("verify", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "xenserver  ok" in done.stdout and "devstack   ok" in done.stdout
