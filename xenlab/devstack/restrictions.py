"""Settings that break Nova's independent compute (the driver refuses to start
otherwise: nova/virt/xenapi/driver.py at nova 21.x, NotSupportedWithOption), found
in a DevStack local.conf and/or a nova.conf.

nova.conf text is read by oslo.config itself, with every option Nova 21.2.4 registers
(nova_options.json: each group, name, type and default, generated from Nova's own
definitions), so quotes, `:`, continuation lines, section-name case, `$my_ip` and
other substitutions, and invalid values get Nova's reading; a value Nova cannot read
is a finding (nova-compute does not start). A local.conf keeps DevStack's own rules:
meta sections, localrc read as shell, and its post-config body for nova.conf,
which is nova.conf text on top of what DevStack's xenserver plugin writes.

`check_text`/`check_file` return findings (file, section, option, value, why) so
that `check-config`, `wire` and the verify suites share one judgement.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.files import NotRegular, TooLarge, read_regular
from ..errors import ConfigError
from . import nova_options

# local.conf meta sections whose body is nova.conf text.
NOVA_TARGETS = {"$NOVA_CONF", "$NOVA_CPU_CONF", "/etc/nova/nova.conf", "/etc/nova/nova-cpu.conf"}
LOCALRC = "local|localrc"
POST_CONFIG = "post-config|$NOVA_CONF"
_META = re.compile(r"^\[\[([^|\]]+)\|([^\]]+)\]\]")
MAX_BYTES = 8 * 2**20  # Nova's whole sample config is well under 1 MiB
# What lib/nova_plugins/hypervisor-xenserver writes into nova.conf before
# post-config is merged (DevStack train/ussuri): the body goes on top.
DEVSTACK_BASE = "[DEFAULT]\ncompute_driver = xenapi.XenAPIDriver\nflat_injected = False\n"
SUBSTITUTION = "a `$` in it names no option Nova has, or leads back to itself; a literal `$` is written `$$`"
# oslo.config logs a deprecated name it reads (`logdir` for log-dir), as into Nova's log: here
# that is no finding (Nova reads it), and no line on stderr (logging's last resort) either.
logging.getLogger("oslo_config").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Finding:
    file: str
    section: str
    option: str
    value: str
    why: str

    def line(self) -> str:
        if not self.option:
            return f"{self.file}: {self.why}"
        return f"{self.file}: [{self.section}] {self.option} = {self.value or '(unset)'}: {self.why}"


@contextmanager
def _in_memory(text: str):
    """A path oslo.config can open that holds `text` and touches no disk (it may hold a password)."""
    fd = os.memfd_create("nova.conf")
    try:
        os.write(fd, text.encode("utf-8", "surrogateescape"))
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


class Unreadable(Exception):
    """oslo.config cannot parse the file: Nova does not start with it."""


class NovaConf:
    """A nova.conf as Nova reads it: oslo.config's parse, values typed on access."""

    def __init__(self, text: str):
        from oslo_config import cfg

        self.conf = cfg.ConfigOpts()
        nova_options.register(self.conf)
        with _in_memory(text) as path:
            try:
                self.conf(args=[], prog="nova-compute", default_config_files=[path], default_config_dirs=[],
                          use_env=False)
                self.raw = _raw_values(path)
            except cfg.ConfigFileParseError as exc:
                raise Unreadable(str(exc.msg).replace(f"at {path}:", "at line ")) from None
            except (cfg.Error, UnicodeDecodeError) as exc:
                raise Unreadable(str(exc).replace(path, "the file")) from None

    def get(self, group: str | None, name: str):
        """(value, None) or (None, why Nova cannot read it)."""
        from oslo_config import cfg

        try:
            return (self.conf[name] if group is None else self.conf[group][name]), None
        except cfg.ConfigFileValueError as exc:
            return None, str(exc).rpartition("is not valid: ")[2] or "not a valid value"
        except (cfg.TemplateSubstitutionError, cfg.NoSuchOptError):
            return None, SUBSTITUTION
        except RecursionError:  # `$` substitutions that lead back to themselves: Nova crashes the same way
            return None, SUBSTITUTION
        except cfg.Error as exc:
            return None, str(exc)

    def written(self, group: str | None, name: str) -> str:
        """The text the file gives for the option (the last one wins), '' when it gives none."""
        want = group or "DEFAULT"
        for section in reversed(self.raw):
            if _normalised(section) == want and name in self.raw[section]:
                return self.raw[section][name][-1]
        return ""


def _normalised(section: str) -> str:
    # How oslo.config matches a section to a group: case-insensitively, but
    # DEFAULT only as DEFAULT (oslo_config/cfg.py _normalize_group_name).
    return section if section == "DEFAULT" else section.lower()


def _raw_values(path: str) -> dict[str, dict[str, list[str]]]:
    from oslo_config import cfg

    sections: dict[str, dict[str, list[str]]] = {}
    cfg.ConfigParser(path, sections).parse()
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


def check_nova(name: str, text: str, in_local_conf: bool = False) -> list[Finding]:
    """Nova's verdict on nova.conf `text`: the restrictions of independent compute."""
    section_of = (lambda s: f"{POST_CONFIG}] [{s}") if in_local_conf else (lambda s: s)

    def add(group, option, value, why):
        out.append(Finding(name, section_of(group or "DEFAULT"), option, value, why))

    out: list[Finding] = []
    try:
        conf = NovaConf(text)
    except Unreadable as exc:
        where = f"its [[{POST_CONFIG}]] body: " if in_local_conf else ""
        return [Finding(name, section_of(""), "", "", f"{where}oslo.config cannot parse it ({exc}): "
                                                     "nova-compute does not start")]

    def value(group, option):
        got, bad = conf.get(group, option)
        if bad:
            # A password's value is never shown, nor quoted by oslo.config's reason.
            secret = (group or "DEFAULT", option) in nova_options.secrets()
            add(group, option, "(hidden)" if secret else conf.written(group, option),
                f"Nova cannot read it ({SUBSTITUTION if secret else bad}): nova-compute does not start")
        return got, bad

    driver, _ = value(None, "compute_driver")
    if driver is not None and "xenapi" not in driver.lower():
        return out  # not a XenAPI compute node: nothing to judge
    independent, bad = value("xenserver", "independent_compute")
    if not bad and not independent:
        add("xenserver", "independent_compute", conf.written("xenserver", "independent_compute"),
            "must be True: nova-compute runs outside dom0 and talks to XenAPI over the network")
    check_host, bad = value("xenserver", "check_host")
    if not bad and check_host:
        add("xenserver", "check_host", conf.written("xenserver", "check_host"),
            "must be False with independent compute (Nova's default is True; the driver refuses to start)")
    flat, bad = value(None, "flat_injected")
    if not bad and flat:
        add(None, "flat_injected", conf.written(None, "flat_injected"),
            "must be False with independent compute: use config drive / cloud-init instead")
    fmt, bad = value(None, "default_ephemeral_format")
    if not bad and fmt and fmt != "ext3":
        add(None, "default_ephemeral_format", conf.written(None, "default_ephemeral_format"),
            "must be unset or ext3 with independent compute")
    if not in_local_conf:  # in a local.conf, XENAPI_CONNECTION_URL/XENAPI_PASSWORD say it
        url, bad_url = value("xenserver", "connection_url")
        password, bad_password = value("xenserver", "connection_password")
        if not bad_url and not url:
            add("xenserver", "connection_url", conf.written("xenserver", "connection_url"),
                "unset: the XenAPI driver refuses to start without connection_url and connection_password")
        if not bad_password and password is None:
            add("xenserver", "connection_password", "",
                "unset: the XenAPI driver refuses to start without connection_url and connection_password")
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
    elif "\\" in password or "$" in password or any(c.isspace() for c in password):
        # iniset drops a backslash and writes `$` raw, which oslo.config then substitutes.
        add("XENAPI_PASSWORD", "(hidden)",
            "holds a backslash, a `$` or whitespace, which DevStack cannot carry into nova.conf")
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
            findings += check_nova(name, DEVSTACK_BASE + nova_text, in_local_conf=True)
        return findings
    return check_nova(name, text)


def check_file(path: str | Path) -> list[Finding]:
    """A file's findings; it must be a regular UTF-8 file (a FIFO or a device is never read)."""
    path = Path(path)
    try:
        data = read_regular(path, MAX_BYTES)
        text = data.decode()
    except NotRegular:
        raise ConfigError(f"check-config: {path} is not a regular file") from None
    except TooLarge:
        raise ConfigError(f"check-config: {path} is larger than {MAX_BYTES // 2**20} MiB") from None
    except OSError as exc:
        raise ConfigError(f"check-config: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"check-config: {path} is not UTF-8 text (byte {exc.start})") from None
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
