"""The simulator's command lines refuse bad values in one line with exit 2: `xenlab sim`
(a value that is no number is the parser's, xenlab/arguments.py; a number out of range
the simulator's) and the stand-in's `python3 -m xenlab.sim` (Debian's python3, no venv)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prereq import require_tool

PROJECT = Path(__file__).resolve().parents[3]
BAD_TASK_VALUES = [["--port", "99999"], ["--port", "-1"], ["--port", "abc"], ["--pool-size", "0"],
                   ["--pool-size", "x"]]
BAD_MODULE_VALUES = BAD_TASK_VALUES + [["--management-ip", "notanip"], ["--bind", "nope"],
                                       ["--guest-root", "/tmp"], ["--state-db", "/tmp/x", "--pool-size", "2"]]


def one_line_exit_2(done):
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip() and done.stderr.strip().count("\n") == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("args", BAD_TASK_VALUES, ids=" ".join)
def test_xenlab_sim_refuses_bad_values(args, tmp_path):
    env = {**os.environ, "XENLAB_PASSWORD": "sim-cli-test-pw"}
    done = subprocess.run([str(Path(sys.executable).parent / "xenlab"), "sim", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    one_line_exit_2(done)
    assert done.stderr.startswith("xenlab: ")
    assert ("sim: " in done.stderr) == (args[1] not in ("abc", "x"))


@pytest.mark.parametrize("args", BAD_MODULE_VALUES, ids=" ".join)
def test_python_m_xenlab_sim_refuses_bad_values(args, tmp_path):
    require_tool("python3")
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    done = subprocess.run(["/usr/bin/python3", "-S", "-m", "xenlab.sim", "--password-file", str(pw),
                           "--plugin-dir", str(tmp_path), *args], cwd=PROJECT, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    one_line_exit_2(done)
    assert done.stderr.startswith("xenlab-sim: ")


def test_a_state_db_that_is_not_one_is_refused_in_one_line(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    (tmp_path / "state.db").write_text("not json")
    done = subprocess.run(["/usr/bin/python3", "-S", "-m", "xenlab.sim", "--password-file", str(pw),
                           "--plugin-dir", str(tmp_path), "--state-db", str(tmp_path / "state.db"), "--port", "0"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    one_line_exit_2(done)
    assert "is not a state database" in done.stderr
