"""The libvirt host: read from lab.libvirt_uri, reached over the same SSH as libvirt reaches
it, its facts read in one round trip, and libvirt's errors read as the fix."""

from __future__ import annotations

import pytest

from tests.support import labs
from xenlab.errors import HostError, ToolError
from xenlab.machines import libvirt, libvirthost
from xenlab.machines.libvirthost import Host


@pytest.mark.parametrize("uri, host", [
    ("qemu:///system", Host("qemu:///system")),
    ("qemu:///session", Host("qemu:///session")),
    ("qemu+unix:///system?socket=/run/x.sock", Host("qemu+unix:///system?socket=/run/x.sock")),
    ("qemu+ssh://big-host/system", Host("qemu+ssh://big-host/system", "big-host")),
    ("qemu+ssh://you@10.231.0.2:2222/system?keyfile=/k/id&no_verify=1",
     Host("qemu+ssh://you@10.231.0.2:2222/system?keyfile=/k/id&no_verify=1", "10.231.0.2", "you", 2222, "/k/id",
          True)),
])
def test_the_host_is_read_from_the_uri(uri, host):
    assert libvirthost.parse(uri) == host
    assert libvirthost.parse(uri).remote == bool(host.hostname)


def test_ssh_reaches_it_as_libvirt_does_and_jumps_as_vagrant_libvirt_does():
    host = libvirthost.parse("qemu+ssh://you@big-host:2222/system?keyfile=/k/id")
    assert host.ssh("-N") == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-p", "2222", "-l", "you",
                              "-i", "/k/id", "-N", "big-host"]
    assert host.proxy_command() == ("ssh -o BatchMode=yes -o ConnectTimeout=15 -p 2222 -l you -i /k/id "
                                    "-W %h:%p big-host")
    assert host.describe() == "you@big-host:2222"
    assert libvirthost.parse("qemu:///system").describe() == "this machine"


def test_commands_run_here_or_there(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(libvirthost.proc, "run", lambda argv, **kw: ran.append(argv) or "")
    libvirthost.run(labs.load(tmp_path), "echo hi", "test")
    libvirthost.run(labs.load(tmp_path, extra='libvirt_uri = "qemu+ssh://you@big-host/system"\n'), "echo hi", "test")
    assert ran[0] == ["sh", "-c", "echo hi"]
    assert ran[1] == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-l", "you", "big-host", "echo hi"]


def test_files_on_the_host_are_read_and_written_through_its_shell(tmp_path):
    cfg = labs.load(tmp_path)  # the local host: the same scripts, run by sh here
    path = str(tmp_path / "dnsmasq" / "virbr9.status")
    assert libvirthost.read_file(cfg, path) is None
    libvirthost.write_file(cfg, path, '[\n  {"ip-address": "192.168.121.40"}\n]\n')
    assert libvirthost.read_file(cfg, path) == '[\n  {"ip-address": "192.168.121.40"}\n]\n'
    assert (tmp_path / "dnsmasq" / "virbr9.status").stat().st_mode & 0o777 == 0o644


def test_the_host_s_facts_come_in_one_round_trip(tmp_path, monkeypatch):
    cfg = labs.load(tmp_path, extra='libvirt_uri = "qemu+ssh://you@big-host/system"\n')
    scripts = []
    monkeypatch.setattr(libvirthost, "run", lambda c, script, what, timeout=60: scripts.append(script) or
                        "16384000\n104857600\nY\n")
    facts = libvirthost.facts(cfg, "/var/lib/libvirt/images")
    assert facts == libvirthost.Facts(16000, 100, "yes") and len(scripts) == 1
    monkeypatch.setattr(libvirthost, "run", lambda c, script, what, timeout=60: "100\n200\nunknown\n")
    assert libvirthost.facts(cfg, "/x").nested == "unknown"
    monkeypatch.setattr(libvirthost, "run", lambda c, script, what, timeout=60: "sh: awk: not found\n")
    with pytest.raises(ToolError, match="unexpected answer from you@big-host"):
        libvirthost.facts(cfg, "/x")


def test_the_facts_script_runs_in_a_posix_shell(tmp_path):
    facts = libvirthost.facts(labs.load(tmp_path), str(tmp_path / "not" / "made" / "yet"))
    assert facts.memory_available_mb > 0 and facts.disk_free_gb >= 0 and facts.nested in ("yes", "no", "unknown")


HOST = libvirthost.parse("qemu+ssh://you@big-host:2222/system")


@pytest.mark.parametrize("message, said", [
    # What virsh says over qemu+ssh (seen with libvirt 9.0 and OpenSSH 9.2), and the fix.
    ("virsh uri failed (exit 1): error: End of file while reading data: virt-ssh-helper: cannot connect to "
     "'/var/run/libvirt/libvirt-sock': Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file "
     "or directory: Input/output error",
     "libvirtd is not running on big-host: start it there (`sudo systemctl enable --now libvirtd`)"),
    ("error: Cannot recv data: ssh: connect to host big-host port 2222: Connection refused: Connection reset by peer",
     "SSH to big-host does not connect (Connection refused): is the host up, and its sshd listening?"),
    ("error: Cannot recv data: ssh: connect to host 10.9.9.9 port 22: Network is unreachable",
     "SSH to big-host does not connect (Network is unreachable): is the host up, and its sshd listening?"),
    ("error: Cannot recv data: Host key verification failed.: Connection reset by peer",
     "SSH does not know big-host's host key: `ssh you@big-host -p 2222` once and accept it (or add it to "
     "known_hosts)"),
    ("error: Cannot recv data: you@big-host: Permission denied (publickey).: Connection reset by peer",
     "SSH to big-host refused the login: xenlab and vagrant-libvirt need key login there (`ssh-copy-id "
     "you@big-host -p 2222`, or ?keyfile= in lab.libvirt_uri)"),
    ("error: authentication unavailable: no polkit agent available to authenticate action "
     "'org.libvirt.unix.manage'",
     "user you may not manage libvirt on big-host: add it to the libvirt group there (`sudo usermod -aG libvirt "
     "you`, then log in again)"),
    ("error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Permission denied",
     "user you may not manage libvirt on big-host: add it to the libvirt group there (`sudo usermod -aG libvirt "
     "you`, then log in again)"),
    ("error: Cannot recv data: sh: 1: nc: not found: Connection reset by peer",
     "big-host has no libvirt to talk to (neither virt-ssh-helper nor nc): install libvirt-daemon-system there"),
    ("error: ssh: Could not resolve hostname big-host: Name or service not known",
     "big-host is not a known host name: fix lab.libvirt_uri"),
])
def test_what_the_host_lacks_is_one_line_naming_the_fix(message, said):
    assert libvirthost.diagnose(HOST, message) == said


def test_an_error_it_cannot_read_is_passed_on(tmp_path):
    assert libvirthost.diagnose(HOST, "error: something new\n") == \
        "libvirt on you@big-host:2222 does not answer: error: something new"


def test_check_names_what_a_remote_host_lacks_and_starts_nothing_here(tmp_path, monkeypatch):
    cfg = labs.load(tmp_path, extra='libvirt_uri = "qemu+ssh://you@big-host/system"\n')
    monkeypatch.setattr(libvirt.proc, "require", lambda tool: tool)
    monkeypatch.setattr(libvirt.libvirtd, "start", lambda *a: pytest.fail("started a libvirtd here"))

    def virsh(c, *args, timeout=None):
        raise ToolError("virsh uri failed (exit 1): error: End of file while reading data: virt-ssh-helper: "
                        "cannot connect to '/var/run/libvirt/libvirt-sock': Failed to connect socket to "
                        "'/var/run/libvirt/libvirt-sock': No such file or directory: Input/output error")
    monkeypatch.setattr(libvirt, "virsh", virsh)
    with pytest.raises(HostError) as err:
        libvirt.check(cfg)
    assert err.value.message == "libvirtd is not running on big-host: start it there " \
                                "(`sudo systemctl enable --now libvirtd`)"


@pytest.mark.parametrize("uri", ["qemu+tcp://big-host/system", "qemu+tls://big-host/system",
                                 "qemu://big-host/system"])
def test_a_remote_host_without_ssh_is_refused_by_config(tmp_path, uri):
    from xenlab.errors import ConfigError

    with pytest.raises(ConfigError, match="names a remote host without SSH: reach it as qemu\\+ssh://"):
        labs.load(tmp_path, extra=f'libvirt_uri = "{uri}"\n')
