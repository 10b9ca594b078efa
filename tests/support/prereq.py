"""Prerequisites for tests: skip on a developer's machine, fail under CI=true.

A test that needs a tool or root must never pass silently in CI by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(why: str) -> None:
    if IN_CI:
        pytest.fail(f"prerequisite missing under CI=true: {why}", pytrace=False)
    pytest.skip(why)


def require_tool(*names: str) -> None:
    for name in names:
        if not shutil.which(name):
            missing(f"{name} not installed (run ./bootstrap)")


def require_root() -> None:
    if os.geteuid() != 0:
        missing("needs root")
