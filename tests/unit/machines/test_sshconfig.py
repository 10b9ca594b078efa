"""After a restore, xenlab waits (bounded) until every machine answers over SSH."""

import pytest

from tests.support import labs
from xenlab.errors import HostError, ToolError
from xenlab.machines import sshconfig

CONFIG = "Host xenserver\n  HostName 192.168.121.10\nHost devstack\n  HostName 192.168.121.11\n"


class FlakySsh:
    """ssh that fails `fails` times per host ("No route to host"), then answers."""

    def __init__(self, fails):
        self.fails, self.calls = dict(fails), []

    def __call__(self, cmd, *, timeout, **kwargs):
        host = cmd[-2]
        self.calls.append(host)
        if self.fails.get(host, 0) > 0:
            self.fails[host] -= 1
            raise ToolError(f"ssh {host} failed (exit 255): ssh: connect to host port 22: No route to host")
        return ""


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    lab = labs.load(tmp_path)
    lab.paths.ssh_config.parent.mkdir(parents=True, exist_ok=True)
    lab.paths.ssh_config.write_text(CONFIG)
    monkeypatch.setattr(sshconfig.time, "sleep", lambda s: None)
    return lab


def test_a_machine_that_answers_late_is_waited_for(cfg, monkeypatch):
    ssh = FlakySsh({"devstack": 3})
    monkeypatch.setattr(sshconfig.proc, "run", ssh)
    sshconfig.wait_answering(cfg)
    assert ssh.calls == ["xenserver", "devstack", "devstack", "devstack", "devstack"]


def test_a_machine_that_never_answers_is_one_line_naming_it(cfg, monkeypatch):
    monkeypatch.setattr(sshconfig.proc, "run", FlakySsh({"devstack": 10**6}))
    clock = iter(range(0, 10**6, 5))
    monkeypatch.setattr(sshconfig.time, "monotonic", lambda: next(clock))
    with pytest.raises(HostError, match=r"^the devstack machine does not answer over SSH 90 s after the restore "
                                        r"\(.*No route to host\)") as err:
        sshconfig.wait_answering(cfg)
    assert "\n" not in err.value.message
