"""verify counts the commands its suites send (the benchmark's SSH round trips)."""

import json
import os
import shutil
import subprocess
import sys

from xenlab.stages.verify import SUITES

SUITE = '''
def test_three_commands(host):
    for _ in range(3):
        assert host.run("true").rc == 0
'''


def test_suites_count_every_command(tmp_path):
    shutil.copy(SUITES / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_tiny.py").write_text(SUITE)
    counts = tmp_path / "counts.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "--hosts=local://", str(tmp_path / "test_tiny.py")],
        cwd=tmp_path, env={**os.environ, "XENLAB_VERIFY_COUNTS": str(counts)},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(counts.read_text())["count"] == 3
