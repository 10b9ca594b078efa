"""Every shell script under packer/ and vagrant/ passes shellcheck: the *.sh files and
the ones installed into boxes under their dom0 names (no suffix, a shell #! line)."""

import subprocess

import pytest

from xenlab.core.paths import PROJECT_DIR
from tests.support.prereq import require_tool

SHELLS = (b"#!/bin/sh", b"#!/bin/bash", b"#!/usr/bin/env bash")


def _is_shell(path):
    if path.suffix == ".sh":
        return True
    with path.open("rb") as fh:
        return fh.readline().rstrip() in SHELLS


SCRIPTS = sorted(p for d in ("packer", "vagrant") if (PROJECT_DIR / d).is_dir()
                 for p in (PROJECT_DIR / d).rglob("*") if p.is_file() and _is_shell(p))


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) >= 8
    assert any(p.name == "network-init" for p in SCRIPTS)  # the suffix-less ones are found too


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_shellcheck_clean(script):
    require_tool("shellcheck")
    done = subprocess.run(["shellcheck", "--external-sources", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
