"""Your own Nova: what is synced, how, when the probe restarts, and the branch DevStack clones."""

from pathlib import Path

import pytest

from tests.support import nova_checkout
from xenlab.devstack import nova_src


def target(sudo=True) -> nova_src.Target:
    return nova_src.Target(Path("/lab/ssh config"), "devstack", "/var/lib/xenlab/nova-src",
                           "systemctl restart xenlab-nova-probe.service", sudo=sudo)


def test_only_the_package_is_synced_without_its_tests_or_bytecode(tmp_path):
    src = nova_checkout.make(tmp_path)
    for extra in ("nova/tests/unit/test_a.py", "nova/virt/__pycache__/x.cpython-311.pyc", "nova/x.pyc",
                  ".tox/py3/lib/nova.py", "setup.py"):
        (src / extra).parent.mkdir(parents=True, exist_ok=True)
        (src / extra).write_text("x")
    (src / "nova/virt/testsuite.py").write_text("kept: only nova/tests is left out")
    assert [str(p.relative_to(src)) for p in nova_src.files(src)] == [
        "nova/__init__.py", "nova/virt/testsuite.py", "nova/virt/xenapi/driver.py", "nova/virt/xenapi/host.py"]


def test_the_digest_follows_an_edit_of_the_driver_and_ignores_what_is_not_synced(tmp_path):
    src = nova_checkout.make(tmp_path)
    before = nova_src.content_digest(src)
    (src / "nova/tests").mkdir()
    (src / "nova/tests/test_new.py").write_text("x")
    assert nova_src.content_digest(src) == before
    (src / "nova/virt/xenapi/host.py").write_text("# an edit\n")
    assert nova_src.content_digest(src) != before
    assert nova_src.content_digest(None) == ""


def test_rsync_goes_over_the_lab_s_ssh_config_and_writes_as_root():
    argv = nova_src.rsync_argv(Path("/home/me/src/nova"), target())
    assert argv[:1] == ["rsync"] and "--delete" in argv and "--itemize-changes" in argv
    assert argv[argv.index("-e") + 1] == "ssh -F '/lab/ssh config'"
    assert "--rsync-path=sudo mkdir -p /var/lib/xenlab/nova-src && sudo rsync" in argv
    assert argv[-2:] == ["/home/me/src/nova/nova/", "devstack:/var/lib/xenlab/nova-src/nova/"]
    assert {f"--exclude={p}" for p in ("/tests/", "__pycache__/", "*.pyc")} <= set(argv)
    # As root already (no sudo on the machine): the same, without sudo.
    assert "--rsync-path=mkdir -p /var/lib/xenlab/nova-src && rsync" in nova_src.rsync_argv(Path("/s"), target(False))


@pytest.mark.parametrize("itemized, changed", [
    ("", 0),
    (".d..t...... virt/\n.f..t...... virt/xenapi/host.py\n", 0),  # times only: nothing to import again
    (">f.st...... virt/xenapi/host.py\n", 1),
    ("cd+++++++++ virt/new/\n>f+++++++++ virt/new/a.py\n*deleting   virt/old.py\n", 3),
])
def test_changed_content_is_what_rsync_itemizes_with_more_than_attributes(itemized, changed):
    assert nova_src.changes(itemized) == changed


def test_devstack_clones_the_branch_the_checkout_has_checked_out(tmp_path):
    assert nova_src.branch(nova_checkout.make(tmp_path / "a", branch="stable/ussuri")) == "stable/ussuri"
    assert nova_src.branch(nova_checkout.make(tmp_path / "b", branch=None)) is None  # detached
    worktree = nova_checkout.make(tmp_path / "c")
    (worktree / ".git/HEAD").unlink()
    (worktree / ".git").rmdir()
    (worktree / ".git").write_text("gitdir: /elsewhere/.git/worktrees/c\n")
    assert nova_src.branch(worktree) is None  # its .git names a directory of this host only
    assert nova_src.branch(tmp_path / "none") is None
