"""One stand-in lab for every VM test: built and brought up once, from nothing, by
`invoke lab` (the end-to-end run), on a remote libvirt host: the test's "workstation"
namespace runs xenlab, Vagrant and ssh and no libvirtd; a second namespace of the test's
own stands for the remote host, running sshd and libvirtd, reached over `qemu+ssh`
(tests/support/remote_host.py). So every VM test exercises the remote path. The tests
then use, break, mend, snapshot and restore that one lab, bring a second lab up beside
it from the same boxes, and the last ones take it down. libvirtd's sockets are
machine-wide, so only this session's libvirtd may run meanwhile.
"""

from __future__ import annotations

import pytest

from tests.support.netns import Libvirt, Netns
from tests.support.prereq import missing, require_root, require_tool
from tests.support.remote_host import RemoteHost
from tests.support.report import say
from tests.support.standin_lab import StandinLab

LAB = "e2e"
PASSWORD = "e2e-Lab<&'#pw"


@pytest.fixture(scope="session")
def remote(tmp_path_factory):
    """The workstation namespace and the remote host, its sshd answering; libvirtd is started
    by `lab` (a test before it sees the host without one)."""
    require_root()
    require_tool("packer", "vagrant", "virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "debootstrap",
                 "ssh", "ssh-keygen", "/usr/sbin/sshd", "nsenter", "ip")
    if Libvirt.running_elsewhere():
        missing("another libvirtd is running on this machine; only one may run at a time")
    with Netns() as ws, RemoteHost(tmp_path_factory.mktemp("remote-host"), ws) as host:
        yield host


@pytest.fixture(scope="session")
def lab(remote, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("lab")
    with remote.libvirt() as libvirt:
        the_lab = StandinLab(remote.ws, root, LAB, PASSWORD, vagrant_home=root / "vagrant-home",
                             libvirt_uri=remote.uri)
        the_lab.libvirt = libvirt
        the_lab.remote = remote
        the_lab.prefetch()
        the_lab.cold = the_lab.invoke("lab")
        yield the_lab
        the_lab.invoke("down", "--purge", timeout=900)
        say(request, f"\nlab timings (s): {the_lab.report_timings()}")


def pytest_collection_modifyitems(config, items):
    """The VM tier's order is stated, never implied by file order: each test carries a
    `step` (its module's, or its own), and the tier runs by step, ties in file order.
    A VM test without a step is a collection error."""
    mine = [i for i, item in enumerate(items) if item.get_closest_marker("vm")]
    for i in mine:
        if items[i].get_closest_marker("step") is None:
            raise pytest.UsageError(f"{items[i].nodeid}: a VM test needs @pytest.mark.step(N) (tests/vm/conftest.py)")
    ordered = sorted((items[i] for i in mine), key=lambda item: item.get_closest_marker("step").args[0])
    for i, item in zip(mine, ordered):
        items[i] = item
