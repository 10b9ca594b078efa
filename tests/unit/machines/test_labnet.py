"""How this machine reaches the lab's network: directly for a local lab or an existing
host, through the libvirt host's SSH for a lab on a remote one."""

from __future__ import annotations

import shlex

import pytest

from tests.support import labs
from xenlab.errors import HostError
from xenlab.machines import labnet

REMOTE = 'libvirt_uri = "qemu+ssh://you@big-host:2222/system"\n'


def test_a_local_lab_is_reached_directly(tmp_path):
    cfg = labs.load(tmp_path)
    assert not labnet.through_host(cfg) and labnet.ssh_options(cfg) == []
    with labnet.xenapi(cfg) as reach:
        assert reach == labnet.Reach("http://192.168.57.10")


def test_an_existing_host_is_reached_directly_whatever_the_libvirt_host(tmp_path):
    cfg = labs.load(tmp_path, extra=REMOTE + '[wire]\nhost = "xs.example.org"\n')
    assert not labnet.through_host(cfg) and labnet.ssh_options(cfg) == []
    with labnet.xenapi(cfg) as reach:
        assert reach.url == "http://xs.example.org"


def test_dom0_on_a_remote_host_is_reached_with_the_host_as_its_jump(tmp_path):
    cfg = labs.load(tmp_path, extra=REMOTE)
    assert labnet.through_host(cfg)
    option, value = labnet.ssh_options(cfg)
    assert option == "-o" and value.startswith("ProxyCommand=")
    assert shlex.split(value.removeprefix("ProxyCommand="))[-4:] == ["you", "-W", "%h:%p", "big-host"]


class FakeTunnel:
    """An ssh -N -L that binds its local port (or exits, as ssh does when it cannot)."""

    def __init__(self, argv, binds: bool, said: str = ""):
        import socket

        self.argv, self.lines, self.err_lines = argv, [], [said] if said else []
        self.sock = None
        self.stopped = False
        if binds:
            port = int(argv[argv.index("-L") + 1].split(":")[1])
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", port))
            self.sock.listen(1)

    def poll(self):
        return None if self.sock and not self.stopped else 255

    def stop(self):
        self.stopped = True
        if self.sock:
            self.sock.close()

    def wait(self, timeout):
        return self.poll()


def test_xenapi_on_a_remote_host_goes_through_a_forwarded_port_while_needed(tmp_path, monkeypatch):
    cfg = labs.load(tmp_path, extra=REMOTE)
    started = []
    monkeypatch.setattr(labnet.proc, "start", lambda argv, **kw: started.append(FakeTunnel(argv, True)) or started[-1])
    with labnet.xenapi(cfg) as reach:
        (tunnel,) = started
        port = reach.url.rsplit(":", 1)[1]
        assert reach.url == f"http://127.0.0.1:{port}" and reach.via == " (through you@big-host:2222)"
        assert tunnel.argv[-3:] == ["-L", f"127.0.0.1:{port}:192.168.57.10:80", "big-host"]
        assert "ExitOnForwardFailure=yes" in tunnel.argv and not tunnel.stopped
    assert tunnel.stopped  # the tunnel lives as long as the stage needs it


def test_a_tunnel_that_cannot_be_made_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    cfg = labs.load(tmp_path, extra=REMOTE)
    monkeypatch.setattr(labnet.proc, "start", lambda argv, **kw: FakeTunnel(
        argv, False, "ssh: connect to host big-host port 2222: Connection refused"))
    with pytest.raises(HostError) as err:
        with labnet.xenapi(cfg):
            pass
    assert err.value.message == ("cannot reach 192.168.57.10:80 through you@big-host:2222: SSH to big-host does "
                                 "not connect (Connection refused): is the host up, and its sshd listening?")
