"""README is the front door: CI runs the test command it gives, and it names every task."""

import re

from xenlab.core.paths import PROJECT_DIR, LabPaths
from xenlab.collection import ns

README = (PROJECT_DIR / "README.md").read_text()
CI = (PROJECT_DIR / ".ci" / "run").read_text()


def test_ci_runs_the_test_command_the_readme_gives():
    command = "./bootstrap && .venv/bin/invoke test"
    assert f"`{command}`" in README or f"\n{command} " in README
    assert CI.rstrip().splitlines()[-1] == command


def test_the_readme_has_no_unfilled_placeholder():
    # Real names written in capitals: the stand-in's note, a protocol, the hand-off files.
    paths = LabPaths(PROJECT_DIR, "any")
    real = {"XENLAB-STAND-IN", "XML-RPC", paths.wire_pending.name, paths.wire_failed.name}
    words = set(re.findall(r"\b[A-Z]{3,}(?:-[A-Z]{2,})+\b", README)) - real
    assert not words, words


def test_every_task_is_in_the_readme():
    missing = [name for name in ns.task_names if f"invoke {name}" not in README and f"`{name}`" not in README]
    assert missing == []
