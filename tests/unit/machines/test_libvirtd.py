"""Who runs the local libvirtd, and starting it where no service manager does: the
decisions, with the host's files and the daemons' starts replaced (a real start runs
in tests/integration/host/test_libvirtd_start.py, under the VM lock)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import labs
from xenlab.errors import HostError, ToolError
from xenlab.machines import libvirt, libvirtd


def _reaped() -> int:
    """The pid of a process that has exited."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


class Host:
    """This host's daemons and service manager, as files under a temp dir."""

    def __init__(self, tmp_path, monkeypatch, systemd=False):
        self.systemd = tmp_path / "run-systemd-system"
        if systemd:
            self.systemd.mkdir()
        self.pids = {d: tmp_path / f"{d}.pid" for d in ("virtlogd", "libvirtd")}
        self.stamp = tmp_path / "xenlab" / "libvirtd.pid"
        monkeypatch.setattr(libvirtd, "SYSTEMD_RUNTIME", self.systemd)
        monkeypatch.setattr(libvirtd, "PID_FILES", self.pids)
        monkeypatch.setattr(libvirtd, "LIBVIRTD_STARTED", self.stamp)
        monkeypatch.setattr(libvirtd.time, "sleep", lambda s: None)
        self.started: list[list[str]] = []

        def run(argv, **kw):
            # `<daemon> -d` forks and writes its pid file; a live pid stands for it.
            self.started.append(list(argv))
            self.pids[os.path.basename(argv[-2])].write_text(f"{os.getpid()}\n")
            return ""
        monkeypatch.setattr(libvirtd.proc, "run", run)
        monkeypatch.setattr(libvirtd.hosttools.Tool, "find", lambda tool: f"/usr/sbin/{tool.name}")
        monkeypatch.setattr(libvirt.proc, "require", lambda tool: tool)

    def running(self, daemon, pid=None):
        self.pids[daemon].write_text(f"{pid or os.getpid()}\n")


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setattr(libvirtd.os, "geteuid", lambda: 0)
    return Host(tmp_path, monkeypatch)


def test_systemd_runs_it_where_systemd_is_pid_1(tmp_path, monkeypatch):
    Host(tmp_path, monkeypatch, systemd=True)
    assert libvirtd.who() == libvirtd.Daemon(libvirtd.SYSTEMD)
    assert not libvirtd.startable("qemu:///system")
    assert libvirtd.who().describe() == "systemd-managed (libvirtd.service)"


def test_without_a_service_manager_it_is_running_or_not_and_xenlab_knows_its_own(host):
    assert libvirtd.who().case == libvirtd.NOT_RUNNING and libvirtd.startable("qemu:///system")
    host.running("libvirtd", _reaped())  # a pid file left by a daemon that is gone
    assert libvirtd.who().case == libvirtd.NOT_RUNNING
    host.running("libvirtd")
    assert libvirtd.who() == libvirtd.Daemon(libvirtd.OTHER, os.getpid())
    assert not libvirtd.startable("qemu:///system")
    host.stamp.parent.mkdir()
    host.stamp.write_text(f"{os.getpid()}\n")
    assert libvirtd.who() == libvirtd.Daemon(libvirtd.XENLAB, os.getpid())
    assert "started by xenlab" in libvirtd.who().describe()


@pytest.mark.parametrize("uri", ["qemu+ssh://lab@host/system", "qemu:///session",
                                 "qemu+unix:///system?socket=/tmp/x.sock"])
def test_only_the_local_system_daemon_is_xenlabs_to_start(host, uri):
    assert not libvirtd.startable(uri)


def test_start_starts_both_waits_says_so_and_notes_the_pid(host, tmp_path, capsys):
    asked = []
    daemon = libvirtd.start(tmp_path / "log", lambda: asked.append(1) or len(asked) > 2)
    assert [argv[-2:] for argv in host.started] == [["/usr/sbin/virtlogd", "-d"], ["/usr/sbin/libvirtd", "-d"]]
    assert daemon == libvirtd.Daemon(libvirtd.XENLAB, os.getpid())
    assert host.stamp.read_text() == f"{os.getpid()}\n"
    out = capsys.readouterr().out
    assert "no service manager runs it here, so xenlab started virtlogd" in out and "libvirtd (pid" in out


def test_a_running_virtlogd_is_left_alone(host, tmp_path):
    host.running("virtlogd")
    libvirtd.start(tmp_path / "log", lambda: True)
    assert [argv[-2] for argv in host.started] == ["/usr/sbin/libvirtd"]


def test_a_libvirtd_that_never_answers_fails_within_the_bound(host, tmp_path, monkeypatch):
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(libvirtd.time, "monotonic", lambda: next(clock))
    with pytest.raises(HostError, match=r"did not answer within 30 s; see .*log"):
        libvirtd.start(tmp_path / "log", lambda: False)


def test_a_failed_start_is_one_line_naming_it(host, tmp_path, monkeypatch):
    def fail(argv, **kw):
        raise ToolError("libvirtd -d failed: cannot open /var/run/libvirt/libvirt-sock")
    monkeypatch.setattr(libvirtd.proc, "run", fail)
    with pytest.raises(HostError, match="starting it failed: libvirtd -d failed: cannot open"):
        libvirtd.start(tmp_path / "log", lambda: True)


def test_not_root_says_how_and_starts_nothing(host, tmp_path, monkeypatch):
    monkeypatch.setattr(libvirtd.os, "geteuid", lambda: 1000)
    with pytest.raises(HostError, match=r"start it as root \(`sudo virtlogd -d && sudo libvirtd -d`\)"):
        libvirtd.start(tmp_path / "log", lambda: True)
    assert host.started == []


def test_a_missing_daemon_names_its_package(host, tmp_path, monkeypatch):
    monkeypatch.setattr(libvirtd.hosttools.Tool, "find", lambda self: None)
    with pytest.raises(HostError, match="virtlogd not found .*libvirt-daemon-system"):
        libvirtd.start(tmp_path / "log", lambda: True)


# ------------------------------------------------------------------ libvirt.check, which `up` and friends call


@pytest.fixture
def unreachable(host, tmp_path, monkeypatch):
    """virsh answers only once a libvirtd was started."""
    monkeypatch.setattr(libvirt, "answers", lambda cfg: bool(host.started))
    return host


def test_check_starts_a_local_libvirtd_no_service_manager_runs(unreachable, tmp_path):
    libvirt.check(labs.load(tmp_path))
    assert [argv[-2] for argv in unreachable.started] == ["/usr/sbin/virtlogd", "/usr/sbin/libvirtd"]


def test_check_without_start_and_for_a_custom_uri_starts_nothing(unreachable, tmp_path):
    with pytest.raises(HostError, match="libvirtd is not reachable at qemu:///system: start it"):
        libvirt.check(labs.load(tmp_path), start=False)
    cfg = labs.load(tmp_path, extra='libvirt_uri = "qemu+unix:///system?socket=/tmp/none.sock"\n')
    with pytest.raises(HostError, match="not reachable at qemu\\+unix"):
        libvirt.check(cfg)
    assert unreachable.started == []


def test_check_with_systemd_leaves_it_to_systemd(tmp_path, monkeypatch):
    host = Host(tmp_path, monkeypatch, systemd=True)
    monkeypatch.setattr(libvirt, "answers", lambda cfg: False)
    with pytest.raises(HostError, match="systemctl start libvirtd"):
        libvirt.check(labs.load(tmp_path))
    assert host.started == []
