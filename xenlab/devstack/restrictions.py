"""Settings that break Nova's independent compute (the driver refuses to start
otherwise: nova/virt/xenapi/driver.py at nova 21.x, NotSupportedWithOption), found
in a DevStack local.conf and/or a nova.conf.

`check_text`/`check_file` return findings (file, section, option, value, why) so
that `check-config`, `wire` and the verify suites share one judgement.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

TRUE = {"true", "yes", "on", "1"}
FALSE = {"false", "no", "off", "0"}
# local.conf meta sections whose body is nova.conf text.
NOVA_TARGETS = {"$NOVA_CONF", "$NOVA_CPU_CONF", "/etc/nova/nova.conf", "/etc/nova/nova-cpu.conf"}
LOCALRC = "local|localrc"
_META = re.compile(r"^\[\[([^|\]]+)\|([^\]]+)\]\]")
_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")


@dataclass(frozen=True)
class Finding:
    file: str
    section: str
    option: str
    value: str
    why: str

    def line(self) -> str:
        return f"{self.file}: [{self.section}] {self.option} = {self.value or '(unset)'}: {self.why}"


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """oslo.config-style ini: [section], `key = value`, # and ; comments. Later wins."""
    sections: dict[str, dict[str, str]] = {}
    current = "DEFAULT"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = _SECTION.match(line)
        if m:
            current = m.group(1).strip()
            continue
        if "=" in line:
            key, _, value = line.partition("=")
            sections.setdefault(current, {})[key.strip()] = value.strip()
    return sections


def split_local_conf(text: str) -> tuple[dict[str, str], str]:
    """(localrc variables, nova.conf text from post-config sections) of a local.conf."""
    localrc: dict[str, str] = {}
    nova_lines: list[str] = []
    meta = None
    for raw in text.splitlines():
        m = _META.match(raw)
        if m:
            meta = f"{m.group(1).strip()}|{m.group(2).strip()}"
            continue
        if meta is None:
            continue
        phase, _, target = meta.partition("|")
        if meta == LOCALRC:
            _localrc_line(raw, localrc)
        elif phase == "post-config" and target in NOVA_TARGETS and raw[:1] not in (" ", "\t"):
            # stack.sh drops indented lines inside post-config.
            nova_lines.append(raw)
    return localrc, "\n".join(nova_lines)


def _localrc_line(raw: str, out: dict[str, str]) -> None:
    m = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", raw)
    if not m:
        return
    try:
        words = shlex.split(m.group(2), comments=True)
    except ValueError:
        words = [m.group(2)]
    out[m.group(1)] = words[0] if words else ""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in TRUE


def check_nova(name: str, conf: dict[str, dict[str, str]], require_driver: bool = True) -> list[Finding]:
    out: list[Finding] = []
    default = conf.get("DEFAULT", {})
    xen = conf.get("xenserver", {})
    driver = default.get("compute_driver")
    if require_driver and driver is not None and "xenapi" not in driver.lower():
        return out  # not a XenAPI compute node: nothing to judge

    def add(section, option, value, why):
        out.append(Finding(name, section, option, value or "", why))

    if not _bool(xen.get("independent_compute"), False):
        add("xenserver", "independent_compute", xen.get("independent_compute"),
            "must be True: nova-compute runs outside dom0 and talks to XenAPI over the network")
    if _bool(xen.get("check_host"), True):
        add("xenserver", "check_host", xen.get("check_host"),
            "must be False with independent compute (Nova's default is True; the driver refuses to start)")
    if _bool(default.get("flat_injected"), False):
        add("DEFAULT", "flat_injected", default.get("flat_injected"),
            "must be False with independent compute: use config drive / cloud-init instead")
    fmt = default.get("default_ephemeral_format", "")
    if fmt and fmt != "ext3":
        add("DEFAULT", "default_ephemeral_format", fmt,
            "must be unset or ext3 with independent compute")
    return out


def check_localrc(name: str, rc: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    section = "local|localrc"

    def add(option, value, why):
        out.append(Finding(name, section, option, value, why))

    if rc.get("VIRT_DRIVER") != "xenserver":
        add("VIRT_DRIVER", rc.get("VIRT_DRIVER", ""), "must be xenserver for Nova's XenAPI driver")
        return out
    url = rc.get("XENAPI_CONNECTION_URL", "")
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+", url):
        add("XENAPI_CONNECTION_URL", url,
            "must be scheme and host only (no port, path or trailing slash): os-xenapi SSHes to "
            "root@<everything after //> and Nova's client cannot take a port")
    password = rc.get("XENAPI_PASSWORD")
    if not password:
        add("XENAPI_PASSWORD", "", "unset: stack.sh would prompt for it and an unattended run would hang")
    elif "\\" in password or any(c.isspace() for c in password):
        add("XENAPI_PASSWORD", "(hidden)",
            "holds a backslash or whitespace, which DevStack cannot carry into nova.conf")
    for var in ("ADMIN_PASSWORD", "DATABASE_PASSWORD", "RABBIT_PASSWORD", "SERVICE_PASSWORD"):
        if not rc.get(var):
            add(var, "", "unset: stack.sh would prompt for it and an unattended run would hang")
    images = rc.get("IMAGE_URLS", "")
    for url in filter(None, (u.strip() for u in images.split(","))):
        if not url.endswith((".vhd.tgz", ".vhd")):
            add("IMAGE_URLS", url,
                "only VHD images work with independent compute (no separate kernel/ramdisk images)")
    return out


def check_text(name: str, text: str) -> list[Finding]:
    """Findings for one file's text; a local.conf is recognised by its meta sections."""
    if any(_META.match(line) for line in text.splitlines()):
        localrc, nova_text = split_local_conf(text)
        findings = check_localrc(name, localrc)
        if localrc.get("VIRT_DRIVER") == "xenserver":
            # DevStack's xenserver plugin itself sets compute_driver and flat_injected=False.
            conf = parse_ini(nova_text)
            conf.setdefault("DEFAULT", {}).setdefault("flat_injected", "False")
            findings += [
                Finding(name, f"post-config|$NOVA_CONF] [{f.section}", f.option, f.value, f.why)
                for f in check_nova(name, conf, require_driver=False)
            ]
        return findings
    return check_nova(name, parse_ini(text))


def check_file(path: str | Path) -> list[Finding]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"check-config: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"check-config: {path} is not a text file") from None
    return check_text(str(path), text)


def check_files(paths) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        findings += check_file(path)
    return findings


def report(paths, as_json: bool = False) -> None:
    """`check-config`: print every finding; ChecksFailed (exit 1) when any."""
    import json

    from ..core import console
    from ..errors import ChecksFailed

    if not paths:
        raise ConfigError("check-config: give at least one file (--path local.conf --path nova.conf)")
    findings = check_files(paths)
    if as_json:
        print(json.dumps([f.__dict__ for f in findings], indent=2))
    else:
        for f in findings:
            console.say(f.line())
    if findings:
        raise ChecksFailed(f"check-config: {len(findings)} setting(s) break independent compute")
    if not as_json:
        console.say(f"check-config: {len(paths)} file(s), no setting breaks independent compute")
