"""`invoke up` refuses early, in one line with a non-zero exit, when the lab cannot
come up: no box, no libvirtd. Run inside a namespace of their own, so that even a
check that wrongly passed could not let Vagrant fetch anything.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.netns import Netns
from tests.support.prereq import require_root, require_tool
from xenlab.core.paths import PROJECT_DIR

INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")
PASSWORD = "errors-only-pw"


@pytest.fixture(scope="module")
def ns():
    require_root()
    require_tool("vagrant", "virsh", "ip")
    with Netns() as made:
        yield made


def invoke_up(ns, tmp_path, toml: str, task: str = "up", path: str | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "xenlab.toml").write_text(toml)
    env = {"XENLAB_CONFIG": str(tmp_path / "xenlab.toml"), "XENLAB_PASSWORD": PASSWORD}
    if path:
        env["PATH"] = f"{path}:{os.environ['PATH']}"
    return ns.run([INVOKE, task], env=env, cwd=PROJECT_DIR, timeout=300, check=False)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


VIRTUALBOX = '[lab]\nname = "nobox"\nflavour = "standin"\nprovider = "virtualbox"\n'


def test_virtualbox_provider_without_virtualbox_says_where_it_comes_from(ns, tmp_path):
    done = invoke_up(ns, tmp_path, VIRTUALBOX)
    assert one_line_error(done) == ("xenlab: tool VBoxManage: missing (the VirtualBox provider): install VirtualBox "
                                    "from virtualbox.org (Debian 12's archive has no virtualbox package)")
    assert done.returncode == 3


def test_missing_box_names_the_build_command(ns, tmp_path):
    # VirtualBox needs no libvirtd, so the box check is what stops it; no xenlab box
    # is ever added for VirtualBox on this machine. Debian 12 has no VirtualBox: a
    # VBoxManage that only answers --version stands in for it so the preflight lets
    # `up` through (`vagrant box list` never runs it).
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "VBoxManage").write_text("#!/bin/sh\necho 7.0.0r0\n")
    (stub / "VBoxManage").chmod(0o755)
    done = invoke_up(ns, tmp_path, VIRTUALBOX, path=str(stub))
    line = one_line_error(done)
    assert done.returncode == 3
    assert line == ("xenlab: box xenlab/standin (virtualbox) is not installed: "
                    "run `invoke build --flavour standin` first (it builds and adds the lab's boxes)")


def test_libvirtd_not_running(ns, tmp_path):
    sock = tmp_path / "no-libvirtd.sock"
    done = invoke_up(ns, tmp_path, f'[lab]\nname = "nolibvirt"\nflavour = "standin"\n'
                                   f'libvirt_uri = "qemu+unix:///system?socket={sock}"\n')
    line = one_line_error(done)
    assert done.returncode == 4
    assert line.startswith(f"xenlab: libvirtd is not reachable at qemu+unix:///system?socket={sock}: start it")


def test_invalid_config_is_refused_before_vagrant_runs(ns, tmp_path):
    done = invoke_up(ns, tmp_path, '[lab]\nprovider = "vmware"\n')
    line = one_line_error(done)
    assert done.returncode == 2 and line.startswith(f"xenlab: config error: XENLAB_CONFIG {tmp_path}/xenlab.toml: lab.provider")


def test_down_without_libvirtd_is_one_line(ns, tmp_path):
    sock = tmp_path / "no-libvirtd.sock"
    done = invoke_up(ns, tmp_path, f'[lab]\nflavour = "standin"\nlibvirt_uri = "qemu+unix:///system?socket={sock}"\n',
                     task="down")
    assert one_line_error(done).startswith("xenlab: libvirtd is not reachable")
    assert done.returncode == 4
