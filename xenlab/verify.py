"""`verify`: run the testinfra deployment suites against the lab's hosts.

Both hosts are checked at once (one pytest process each), over OpenSSH with
connection multiplexing: testinfra ignores --ssh-extra-args, so ControlMaster,
ControlPath and ControlPersist go into the ssh config file it reads. The
suites get what the lab should look like from a context file (no secret) and
the XenAPI password from the environment. Results: one JUnit XML report under
.xenlab/<lab>/reports/ and a short summary per host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from . import console
from .config import PROJECT_DIR, write_secret_file
from .errors import ChecksFailed, ConfigError
from .state import digest

SUITES = PROJECT_DIR / "tests" / "infra"
REPORT = "verify.xml"
RUN_TIMEOUT = 900  # seconds for one host's suite, whatever hangs
CONTROL_PERSIST = 300
# Where the devstack machine's provisioning (vagrant/devstack/provision.sh) puts them.
LOCAL_CONF_PATH = "/opt/stack/devstack/local.conf"
NOVA_CONF_PATH = "/etc/nova/nova.conf"


@dataclass
class Target:
    """One host to check: its role (suite), testinfra host spec and ssh options."""

    role: str  # "xenserver" or "devstack"
    spec: str  # e.g. ssh://xenserver
    ssh_config: Path
    sudo: bool = True
    suites: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # e.g. SSH_ASKPASS for password logins


@dataclass
class Outcome:
    role: str
    passed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (test, message)
    skipped: int = 0
    seconds: float = 0.0
    round_trips: int = 0


# ------------------------------------------------------------------ ssh config


def multiplexed(ssh_config: str, control_dir: Path) -> str:
    """Add connection sharing to every Host block of an ssh config."""
    extra = [
        "  ControlMaster auto",
        f"  ControlPath {control_dir}/%C",
        f"  ControlPersist {CONTROL_PERSIST}",
    ]
    out: list[str] = []
    for line in ssh_config.splitlines():
        if line.strip().lower().startswith(("controlmaster", "controlpath", "controlpersist")):
            continue
        out.append(line)
        if line.startswith("Host "):
            out.extend(extra)
    return "\n".join(out) + "\n"


def write_ssh_config(cfg, text: str, name: str = "ssh-config") -> Path:
    control = Path("/tmp") / f"xenlab-{os.getuid()}-{digest(str(cfg.lab_dir))[:10]}"
    # ControlPath must be short (a Unix socket path), hence /tmp rather than the lab dir.
    control.mkdir(mode=0o700, exist_ok=True)
    path = cfg.lab_dir / name
    write_secret_file(path, multiplexed(text, control))
    return path


# ------------------------------------------------------------------ context


def context(cfg) -> dict:
    """What the lab should look like, for the suites. Holds no secret."""
    from . import devstack, dom0, restrictions, xapi

    pub = cfg.lab_dir / "ssh" / "domzero.pub"
    localrc, _ = restrictions.split_local_conf(devstack.render_local_conf(cfg))
    secret_keys = {*devstack.PROMPTED, "XENAPI_PASSWORD"}
    return {
        "flavour": cfg.lab.flavour,
        "standin": cfg.lab.flavour == "standin",
        "xenserver": {
            "ip": devstack.xenapi_host(cfg),
            "url": devstack.connection_url(cfg),
            "user": cfg.credentials.xenapi_user,
            "plugin_dirs": list(dom0.PLUGIN_DIRS),
            "plugins": sorted(dom0.plugins(dom0.sdist(cfg.devstack.os_xenapi_version))),
            "plugin_version": xapi.PLUGIN_API,
            "os_xenapi_version": cfg.devstack.os_xenapi_version,
            "domzero_pubkey": pub.read_text().strip() if pub.is_file() else "(none: wire has not run)",
        },
        "devstack": {
            "user": cfg.devstack.user,
            "local_conf": LOCAL_CONF_PATH,
            "nova_conf": NOVA_CONF_PATH,
            "localrc": {k: v for k, v in localrc.items() if k not in secret_keys},
        },
    }


# ------------------------------------------------------------------ running


def _pytest_argv(target: Target, report: Path) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "-c", str(SUITES / "pytest.ini"), "--rootdir", str(SUITES),
            "-q", "--tb=line", f"--junit-xml={report}",
            "--connection=ssh", f"--hosts={target.spec}", f"--ssh-config={target.ssh_config}"]
    if target.sudo:
        argv.append("--sudo")
    return argv + [str(SUITES / s) for s in target.suites]


def _outcome(role: str, report: Path, counts: Path, seconds: float) -> Outcome:
    out = Outcome(role, seconds=seconds)
    try:
        out.round_trips = json.loads(counts.read_text())["count"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        root = ET.parse(report).getroot()
    except (OSError, ET.ParseError):
        out.failed.append(("suite", "the suite did not run to the end (see the log)"))
        return out
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            out.failed.append((case.get("name", "?"), message[0] if message else "failed"))
        elif case.find("skipped") is not None:
            out.skipped += 1
        else:
            out.passed += 1
    return out


def merge_reports(reports: list[Path], into: Path) -> None:
    """One JUnit file with a testsuite per host."""
    merged = ET.Element("testsuites")
    for path in reports:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            continue
        for suite in root.iter("testsuite"):
            merged.append(suite)
    ET.ElementTree(merged).write(into, encoding="utf-8", xml_declaration=True)


def run_targets(cfg, targets: list[Target], env: dict[str, str]) -> list[Outcome]:
    """Run every target's suites in parallel; returns outcomes, writes the report."""
    reports_dir = cfg.lab_dir / "reports"
    logs_dir = cfg.lab_dir / "logs"
    reports_dir.mkdir(parents=True, exist_ok=True)
    logs_dir.mkdir(parents=True, exist_ok=True)
    ctx_path = cfg.lab_dir / "verify-context.json"
    running = []
    started = time.monotonic()
    for t in targets:
        report = reports_dir / f"{t.role}.xml"
        counts = reports_dir / f".{t.role}-round-trips.json"
        report.unlink(missing_ok=True)
        log = (logs_dir / f"verify-{t.role}.log").open("w")
        full_env = {**os.environ, **env, **t.env, "XENLAB_VERIFY_CONTEXT": str(ctx_path), "XENLAB_VERIFY_COUNTS": str(counts)}
        proc = subprocess.Popen(_pytest_argv(t, report), cwd=SUITES, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        running.append((t, proc, report, counts, log))
        console.say(f"    checking {t.role} ({t.spec}) ...")
    outcomes = []
    for t, proc, report, counts, log in running:
        remaining = max(1.0, RUN_TIMEOUT - (time.monotonic() - started))
        try:
            proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()
        outcomes.append(_outcome(t.role, report, counts, time.monotonic() - started))
    merge_reports([reports_dir / f"{t.role}.xml" for t in targets], reports_dir / REPORT)
    return outcomes


def summarise(outcomes: list[Outcome], report: Path) -> None:
    for o in outcomes:
        verdict = "ok" if not o.failed else "FAILED"
        console.say(f"    {o.role:<10} {verdict:6} {o.passed} passed, {len(o.failed)} failed "
                    f"({o.seconds:.1f} s, {o.round_trips} ssh round trips)")
        for name, message in o.failed:
            console.say(f"      - {name}: {message}")
    console.say(f"    report: {report}")


def check(cfg, targets: list[Target]) -> list[Outcome]:
    """Write the context, run, summarise; raise ChecksFailed (exit 1) on any failure."""
    ctx_path = cfg.lab_dir / "verify-context.json"
    ctx_path.parent.mkdir(parents=True, exist_ok=True)
    ctx_path.write_text(json.dumps(context(cfg), indent=2, sort_keys=True) + "\n")
    env = {"XENLAB_PASSWORD": cfg.password.get_secret_value()}
    outcomes = run_targets(cfg, targets, env)
    summarise(outcomes, cfg.lab_dir / "reports" / REPORT)
    failed = sum(len(o.failed) for o in outcomes)
    if failed:
        raise ChecksFailed(f"verify: {failed} check(s) failed; see above and {cfg.lab_dir / 'reports' / REPORT}")
    return outcomes


def lab_targets(cfg) -> list[Target]:
    from . import lab

    ssh_config = write_ssh_config(cfg, lab.ssh_config(cfg))
    devstack_suites = ["test_devstack.py"] + ([] if cfg.lab.flavour == "standin" else ["test_devstack_services.py"])
    return [
        Target("xenserver", "ssh://xenserver", ssh_config, sudo=True, suites=["test_xenserver.py"]),
        Target("devstack", "ssh://devstack", ssh_config, sudo=True, suites=devstack_suites),
    ]


def host_targets(cfg, host: str, devstack_ssh_config: str | None, devstack_host: str | None) -> list[Target]:
    """An existing XenServer (root, password via SSH_ASKPASS) and optionally a devstack host."""
    from . import dom0

    if bool(devstack_ssh_config) != bool(devstack_host):
        raise ConfigError("verify: --devstack-ssh-config and --devstack-host go together")
    ssh_dir = cfg.lab_dir / "ssh"
    xs_config = write_ssh_config(cfg, "\n".join([
        "Host xenserver",
        f"  HostName {host}",
        "  User root",
        f"  Port {cfg.wire.ssh_port}",
        "  PubkeyAuthentication no",
        "  PreferredAuthentications password,keyboard-interactive",
        "  StrictHostKeyChecking accept-new",
        f"  UserKnownHostsFile {ssh_dir / 'known_hosts'}",
        "  ConnectTimeout 15",
    ]), name="ssh-config-xenserver")
    askpass = {"SSH_ASKPASS": str(dom0.askpass(ssh_dir)), "SSH_ASKPASS_REQUIRE": "force",
               "DISPLAY": os.environ.get("DISPLAY", ":0"), dom0.ENV_PASSWORD: cfg.password.get_secret_value()}
    targets = [Target("xenserver", "ssh://xenserver", xs_config, sudo=False, suites=["test_xenserver.py"], env=askpass)]
    if devstack_ssh_config:
        try:
            text = Path(devstack_ssh_config).read_text()
        except OSError as exc:
            raise ConfigError(f"verify: cannot read {devstack_ssh_config}: {exc.strerror}") from None
        ds_config = write_ssh_config(cfg, text, name="ssh-config-devstack")
        targets.append(Target("devstack", f"ssh://{devstack_host}", ds_config, sudo=True,
                              suites=["test_devstack.py", "test_devstack_services.py"]))
    return targets


# ------------------------------------------------------------------ stage API


def inputs(cfg) -> str:
    return digest(json.dumps(cfg.public_dict(), sort_keys=True), *(p.read_bytes() for p in sorted(SUITES.glob("*.py"))))


def present(cfg) -> bool:
    report = cfg.lab_dir / "reports" / REPORT
    if not report.is_file():
        return False
    root = ET.parse(report).getroot()
    return not any(s.get("failures", "0") != "0" or s.get("errors", "0") != "0" for s in root.iter("testsuite"))


def run(cfg, force: bool = False) -> None:
    check(cfg, lab_targets(cfg))
