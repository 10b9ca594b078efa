"""Shared fixtures for the deployment suites.

`invoke verify` renders what the lab should look like (no secret) into a JSON
file named by XENLAB_VERIFY_CONTEXT, and passes the XenAPI password, when a
check needs it, in XENLAB_PASSWORD (environment, never argv).
"""

import json
import os
import time

import pytest

_RUNS = {"count": 0, "seconds": 0.0}


@pytest.fixture(scope="session")
def ctx():
    path = os.environ.get("XENLAB_VERIFY_CONTEXT")
    if not path:
        pytest.exit("XENLAB_VERIFY_CONTEXT is not set: run these suites through `invoke verify`", returncode=2)
    with open(path) as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def password():
    value = os.environ.get("XENLAB_PASSWORD", "")
    if not value:
        pytest.exit("XENLAB_PASSWORD is not set: run these suites through `invoke verify`", returncode=2)
    return value


def pytest_configure(config):
    # Count the commands testinfra sends, for the benchmark: every backend starts
    # its process through run_local, and with the ssh backend each is one round trip.
    from testinfra.backend.base import BaseBackend

    original = BaseBackend.run_local
    if getattr(original, "_xenlab_counted", False):
        return

    def counted(self, command, *args):
        started = time.monotonic()
        try:
            return original(self, command, *args)
        finally:
            _RUNS["count"] += 1
            _RUNS["seconds"] += time.monotonic() - started

    counted._xenlab_counted = True
    BaseBackend.run_local = counted


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("XENLAB_VERIFY_COUNTS")
    if out:
        with open(out, "w") as fh:
            json.dump(_RUNS, fh)
