"""Shared fixtures for the deployment suites.

`invoke verify` renders what the lab should look like (no secret) into a JSON
file named by XENLAB_VERIFY_CONTEXT, and passes the XenAPI password, when a
check needs it, in XENLAB_PASSWORD (environment, never argv).

Each host's facts come from one remote command (`gather`): a POSIX sh script
whose sections the checks then read, so a suite costs one SSH round trip per
concern rather than one per file attribute. The scripts use what every dom0 has
(sh, coreutils, iptables, ip, curl; no python: 8.2's dom0 has no python3).
"""

import json
import os
import shlex
import time

import pytest

from xenlab.devstack.instance import ON_PROPERTY, SECONDS_PROPERTY, STEP_PROPERTY

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


MARK = "@@xenlab:"


def _gather(host, sections: dict[str, str]) -> dict[str, str]:
    """Run every section's shell in one command; {name: its output (stdout and stderr)}."""
    script = "\n".join(f"echo '{MARK}{name}'\n( {body}\n) 2>&1" for name, body in sections.items())
    try:
        out = host.run(script)
    except RuntimeError as exc:  # testinfra's ssh backend: ssh itself failed (exit 255)
        result = exc.args[0] if exc.args else None
        pytest.fail(f"ssh to {host.backend.hostname} failed: {getattr(result, 'stderr', exc)!s:.300} "
                    "(is the machine up? `invoke status`)", pytrace=False)
    found: dict[str, list[str]] = {}
    current = None
    for line in out.stdout.splitlines():
        if line.startswith(MARK):
            current = found.setdefault(line[len(MARK):], [])
        elif current is not None:
            current.append(line)
    missing = [name for name in sections if name not in found]
    assert not missing, f"the facts script did not run to the end on {host.backend.hostname} " \
                        f"(missing: {', '.join(missing)}; rc {out.rc}): {out.stderr.strip()[-200:]}"
    return {name: "\n".join(lines) for name, lines in found.items()}


@pytest.fixture(scope="session")
def gather():
    """`gather(host, {section: shell})`: every section in one remote command."""
    return _gather


@pytest.fixture(scope="session")
def ask_probe():
    """`ask_probe(host, argv)`: the answer Nova's probe service gives one remote command (its stdout)."""
    def ask(host, argv: list[str], service: str) -> str:
        out = host.run(" ".join(shlex.quote(a) for a in argv))
        assert out.rc == 0, f"Nova's probe service does not answer on the devstack host " \
                            f"({(out.stdout + out.stderr).strip()[-300:]}): `systemctl status {service}` there"
        return out.stdout
    return ask


@pytest.fixture
def instance_step(record_property):
    """`instance_step(lifecycle, step, problems)`: record the step's time, assert it showed what it must."""
    def check(lifecycle, name: str, problems) -> None:
        record_property(STEP_PROPERTY, name)
        record_property(ON_PROPERTY, lifecycle.on)
        step = lifecycle.step(name)
        if step is not None:
            record_property(SECONDS_PROPERTY, f"{step.seconds:.3f}")
        found = problems(lifecycle, name)
        assert not found, "; ".join(found)
    return check


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
