"""Every shell script under packer/ and vagrant/ passes shellcheck."""

import subprocess

import pytest

from xenlab.core.paths import PROJECT_DIR
from tests.support.prereq import require_tool

SCRIPTS = sorted(p for d in ("packer", "vagrant") if (PROJECT_DIR / d).is_dir()
                 for p in (PROJECT_DIR / d).rglob("*.sh"))


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) >= 8


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_shellcheck_clean(script):
    require_tool("shellcheck")
    done = subprocess.run(["shellcheck", "--external-sources", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
