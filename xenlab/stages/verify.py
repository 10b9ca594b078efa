"""`verify`: run the testinfra deployment suites against the lab's hosts.

Both hosts are checked at once (one pytest process each), over OpenSSH with
connection multiplexing (machines/sshconfig.py): testinfra ignores
--ssh-extra-args, so the sharing goes into the ssh config file it reads. The
suites get what the lab should look like from a context file (no secret) and
the XenAPI password from the environment. Results: one JUnit XML report under
.xenlab/<lab>/reports/ and a short summary per host, with the time of each step of
the instance the checks booted (the JUnit properties the instance checks record).

Your own Nova (devstack.nova_src) goes into the devstack machine's Nova probe first
(devstack/nova_src.py), so one `invoke verify` exercises an edit of it.
"""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ..core import console, flavours, proc
from ..core.files import digest, digest_tree, ensure_dir, write_json
from ..core.paths import SUITES_DIR as SUITES
from ..devstack.instance import ON_PROPERTY, SECONDS_PROPERTY, STEP_PROPERTY, Timed, summary_line
from ..errors import ChecksFailed, ConfigError
from ..machines import labnet, labspec, sshconfig

RUN_TIMEOUT = 900  # seconds for one host's suite, whatever hangs
# Nova's driver runs the instance's whole life before the probe answers (and after a
# sync of your own Nova, the probe first imports it again: half a minute under TCG).
LIFECYCLE_TIMEOUT = 600


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
    instance: list[Timed] = field(default_factory=list)  # each instance step's time, from the report
    instance_on: str = ""


# ------------------------------------------------------------------ context


def context(cfg, url_here: str = "") -> dict:
    """What the lab should look like, for the suites. Holds no secret. `url_here`: XenAPI's URL
    from this machine, when it is not the lab's own (a remote libvirt host's tunnel, labnet.py)."""
    from ..devstack import conf as devstack, restrictions
    from ..xenserver import dom0, osxenapi, xapi

    pub = cfg.paths.domzero_pub
    localrc, _ = restrictions.split_local_conf(devstack.render_local_conf(cfg))
    secret_keys = {*devstack.PROMPTED, "XENAPI_PASSWORD"}
    return {
        "flavour": cfg.lab.flavour,
        "standin": cfg.flavour.standin,
        "xenserver": {
            "ip": devstack.xenapi_host(cfg),
            "url": devstack.connection_url(cfg),
            "url_here": url_here or devstack.connection_url(cfg),
            "user": cfg.credentials.xenapi_user,
            "plugin_dirs": list(dom0.PLUGIN_DIRS),
            "plugins": sorted(osxenapi.plugins(osxenapi.sdist(cfg.devstack.os_xenapi_version))),
            "plugin_version": xapi.PLUGIN_API,
            "os_xenapi_version": cfg.devstack.os_xenapi_version,
            "domzero_pubkey": pub.read_text().strip() if pub.is_file() else "(none: wire has not run)",
        },
        "devstack": {
            "user": cfg.devstack.user,
            "local_conf": labspec.GUEST_LOCAL_CONF,
            "nova_conf": labspec.GUEST_NOVA_CONF,
            "localrc": {k: v for k, v in localrc.items() if k not in secret_keys},
        },
        "nova_probe": _probe_context(cfg),
    }


def _probe_context(cfg) -> dict | None:
    """How the devstack host asks Nova's compute probe service, and the host it must report."""
    from ..devstack import probe

    if not cfg.flavour.nova_probe:
        return None
    try:
        facts = json.loads(cfg.paths.facts.read_text())
    except (OSError, ValueError):
        facts = {}
    return {"ask": probe.ask(labspec.GUEST_PROBE_SOCKET), "service": labspec.GUEST_PROBE_SERVICE,
            "lifecycle": probe.ask(labspec.GUEST_PROBE_SOCKET, LIFECYCLE_TIMEOUT, request="lifecycle"),
            "hostname": facts.get("hostname", "")}


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
        _instance_step(out, case, passed=problem is None)
    return out


def _instance_step(out: Outcome, case: ET.Element, passed: bool) -> None:
    """An instance check's step and seconds, when the test case recorded them."""
    props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
    if STEP_PROPERTY not in props:
        return
    try:
        seconds = float(props[SECONDS_PROPERTY]) if SECONDS_PROPERTY in props else None
    except ValueError:
        seconds = None
    out.instance.append(Timed(props[STEP_PROPERTY], seconds, passed))
    out.instance_on = out.instance_on or props.get(ON_PROPERTY, "")


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
    reports_dir = ensure_dir(cfg.paths.reports)
    running = []
    started = time.monotonic()
    for t in targets:
        report = reports_dir / f"{t.role}.xml"
        counts = reports_dir / f".{t.role}-round-trips.json"
        report.unlink(missing_ok=True)
        log = cfg.paths.log(f"verify-{t.role}")
        log.unlink(missing_ok=True)
        suite_env = {**env, **t.env, "XENLAB_VERIFY_CONTEXT": str(cfg.paths.verify_context),
                     "XENLAB_VERIFY_COUNTS": str(counts)}
        running.append((t, proc.start(_pytest_argv(t, report), cwd=SUITES, env=suite_env, log=log, quiet=True,
                                      what=f"verify {t.role}"), report, counts))
        console.say(f"    checking {t.role} ({t.spec}) ...")
    outcomes = []
    for t, process, report, counts in running:
        process.wait(max(1.0, RUN_TIMEOUT - (time.monotonic() - started)))
        outcomes.append(_outcome(t.role, report, counts, time.monotonic() - started))
    merge_reports([reports_dir / f"{t.role}.xml" for t in targets], cfg.paths.report)
    return outcomes


def summarise(outcomes: list[Outcome], report: Path) -> None:
    for o in outcomes:
        verdict = "ok" if not o.failed else "FAILED"
        console.say(f"    {o.role:<10} {verdict:6} {o.passed} passed, {len(o.failed)} failed "
                    f"({o.seconds:.1f} s, {o.round_trips} ssh round trips)")
        for name, message in o.failed:
            console.say(f"      - {name}: {message}")
        if o.instance:
            console.say(f"    {summary_line(o.instance, o.instance_on)}")
    console.say(f"    report: {report}")


def check(cfg, targets: list[Target]) -> list[Outcome]:
    """Write the context, run, summarise; raise ChecksFailed (exit 1) on any failure."""
    env = {"XENLAB_PASSWORD": cfg.password.get_secret_value()}
    with labnet.xenapi(cfg) as reach:  # the suites log in to XenAPI from here too
        write_json(cfg.paths.verify_context, context(cfg, reach.url))
        outcomes = run_targets(cfg, targets, env)
    summarise(outcomes, cfg.paths.report)
    failed = sum(len(o.failed) for o in outcomes)
    if failed:
        raise ChecksFailed(f"verify: {failed} check(s) failed; see above and {cfg.paths.report}")
    return outcomes


def lab_targets(cfg) -> list[Target]:
    from ..machines import machine_state

    ssh_config = sshconfig.write(cfg, machine_state.ssh_config(cfg))
    return [
        Target("xenserver", "ssh://xenserver", ssh_config, sudo=True, suites=["test_xenserver.py"]),
        Target("devstack", "ssh://devstack", ssh_config, sudo=True,
               suites=list(cfg.flavour.devstack_suites)),
    ]


def host_targets(cfg, host: str, devstack_ssh_config: str | None, devstack_host: str | None) -> list[Target]:
    """An existing XenServer (root, password via SSH_ASKPASS) and optionally a devstack host."""
    from ..xenserver import dom0

    if bool(devstack_ssh_config) != bool(devstack_host):
        raise ConfigError("verify: --devstack-ssh-config and --devstack-host go together")
    xs_config = sshconfig.write(cfg, "\n".join([
        "Host xenserver",
        f"  HostName {host}",
        "  User root",
        f"  Port {cfg.wire.ssh_port}",
        "  PubkeyAuthentication no",
        "  PreferredAuthentications password,keyboard-interactive",
        "  StrictHostKeyChecking accept-new",
        f"  UserKnownHostsFile {cfg.paths.known_hosts}",
        "  ConnectTimeout 15",
    ]), cfg.paths.host_ssh_config("xenserver"))
    askpass = dom0.askpass_env(cfg.paths, cfg.password.get_secret_value())
    targets = [Target("xenserver", "ssh://xenserver", xs_config, sudo=False, suites=["test_xenserver.py"], env=askpass)]
    if devstack_ssh_config:
        try:
            text = Path(devstack_ssh_config).read_text()
        except OSError as exc:
            raise ConfigError(f"verify: cannot read {devstack_ssh_config}: {exc.strerror}") from None
        ds_config = sshconfig.write(cfg, text, cfg.paths.host_ssh_config("devstack"))
        targets.append(Target("devstack", f"ssh://{devstack_host}", ds_config, sudo=True,
                              suites=list(flavours.DEVSTACK_SUITES)))
    return targets


# ------------------------------------------------------------------ stage API


def inputs(cfg) -> str:
    from ..devstack import nova_src

    facts = cfg.paths.facts
    # Your own Nova's package too: an edit there is what the next verify exercises.
    return digest(json.dumps(cfg.public_dict(), sort_keys=True), digest_tree(SUITES),
                  facts.read_bytes() if facts.is_file() else b"", nova_src.content_digest(cfg.nova_src_path))


def present(cfg) -> bool:
    try:
        root = ET.parse(cfg.paths.report).getroot()
    except (OSError, ET.ParseError):
        return False
    suites = list(root.iter("testsuite"))
    return bool(suites) and not any(s.get("failures", "0") != "0" or s.get("errors", "0") != "0" for s in suites)


def sync_own_nova(cfg, ssh_config: Path) -> None:
    """devstack.nova_src into the devstack machine's Nova probe, before the checks (flavours with the probe)."""
    from ..devstack import nova_src

    if not cfg.flavour.nova_probe:
        return  # where stack.sh runs, local.conf's NOVA_REPO is the checkout
    user = sshconfig.hosts(ssh_config.read_text()).get("devstack", {}).get("User", "")
    target = nova_src.Target(ssh_config, "devstack", labspec.GUEST_NOVA_SRC,
                             f"systemctl restart {labspec.GUEST_PROBE_SERVICE}", sudo=user != "root")
    src, log = cfg.nova_src_path, cfg.paths.log("verify-nova-src")
    if src is None:
        if nova_src.remove(target, log):
            console.say("    devstack.nova_src is unset: your Nova removed from the devstack machine, "
                        "the probe runs its tree's Nova again")
        return
    done = nova_src.sync(src, target, log)
    state = f"{done.changed} change(s), probe restarted" if done.restarted else "unchanged"
    console.say(f"    your Nova: {src}/{nova_src.PACKAGE} -> devstack:{labspec.GUEST_NOVA_SRC} ({state})")


def run(cfg, force: bool = False) -> None:
    targets = lab_targets(cfg)
    sync_own_nova(cfg, next(t.ssh_config for t in targets if t.role == "devstack"))
    check(cfg, targets)
