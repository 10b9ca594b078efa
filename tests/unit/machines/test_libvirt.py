"""The libvirt provider's own decisions: which pool path, and what a fresh libvirtd needs."""

import pytest

from tests.support import labs
from xenlab.machines import libvirt


@pytest.mark.parametrize("uri, path", [
    ("qemu:///system", "/var/lib/libvirt/images"),
    ("qemu+unix:///system?socket=/run/x.sock", "/var/lib/libvirt/images"),
    ("qemu:///session", "~/.local/share/libvirt/images"),
])
def test_the_pool_lives_where_vagrant_libvirt_would_put_it(uri, path, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert libvirt.pool_path(uri) == path.replace("~", str(tmp_path))


class FakeLibvirt:
    """Just the pool list: what is defined, what is running."""

    def __init__(self, defined=(), active=()):
        self.defined, self.active, self.calls = set(defined), set(active), []

    def __call__(self, cfg, *args, timeout=None):
        self.calls.append(args[0])
        if args[0] == "pool-list":
            return "\n".join(sorted(self.defined if "--all" in args else self.active))
        if args[0] == "pool-define-as":
            self.defined.add(args[1])
        if args[0] == "pool-start":
            self.active.add(args[1])
        return ""


@pytest.mark.parametrize("defined, active, made", [
    ((), (), ["pool-define-as", "pool-build", "pool-start"]),   # a fresh libvirtd
    (("default",), (), ["pool-start"]),                          # defined, not started
    (("default",), ("default",), []),                            # nothing to do
])
def test_the_default_pool_is_made_and_started_only_when_missing(defined, active, made, monkeypatch, tmp_path):
    fake = FakeLibvirt(defined, active)
    monkeypatch.setattr(libvirt, "virsh", fake)
    libvirt.ensure_pool(labs.load(tmp_path))
    assert [c for c in fake.calls if c != "pool-list"] == made
    assert "default" in fake.active
