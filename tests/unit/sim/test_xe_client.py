"""The xe client file the stand-in installs: standard library only, and its own option parsing."""

import importlib.machinery
import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.prereq import require_tool

XE = Path(__file__).resolve().parents[3] / "xenlab/sim/xe"


def client():
    loader = importlib.machinery.SourceFileLoader("xe_client", str(XE))
    spec = importlib.util.spec_from_loader("xe_client", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_it_is_executable_and_names_python3_by_absolute_path():
    assert os.access(XE, os.X_OK)
    assert XE.read_text().splitlines()[0] == "#!/usr/bin/python3 -S"


def test_it_runs_on_debians_python3_alone():
    require_tool("python3")
    done = subprocess.run(["/usr/bin/python3", "-S", "-I", str(XE), "-version"], capture_output=True, text=True,
                          timeout=30, env={})
    assert done.returncode == 0 and done.stdout.startswith("ThinCLI protocol:")


def test_client_options_are_taken_as_newcli_takes_them():
    xe = client()
    rest, taken = xe.split(["-s", "host", "pif-list", "-u", "root", "-pw", "x", "--nossl", "server=y",
                            "device=eth0", "--minimal"])
    assert rest == ["pif-list", "device=eth0", "--minimal"]
    assert taken == ["-s", "-u", "-pw", "--nossl", "server"]


@pytest.mark.parametrize("args", [[], ["-help"], ["--help", "host-list"]])
def test_no_command_or_help_prints_the_usage_and_exits_0(args, capsys):
    assert client().main(args) == 0
    assert capsys.readouterr().err.startswith("Usage:")


def test_the_stand_in_payload_carries_it_executable(tmp_path):
    from xenlab.stages import build

    payload = build._stage_sim(tmp_path)
    copied = payload / "xenlab/sim/xe"
    assert copied.is_file() and os.access(copied, os.X_OK)
