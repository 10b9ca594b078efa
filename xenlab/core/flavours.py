"""Flavour data: the small `packer/flavours/<name>.pkrvars.hcl` files.

A flavour is data, for Packer (ISO, checksum, boot line, installer quirks) and for
xenlab (is it a stand-in, how long its stages may take, which devstack box and
verify suites go with it, what the host needs). Packer gets its part through the
variable file `plan` renders (xenlab/images/packer.py PACKER_FIELDS), so
packer/variables.pkr.hcl declares only what its templates use, and adding a version
is adding one file. Python reads behaviour from here and never compares flavour names.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import hosttools
from .files import digest, write_json
from .paths import FLAVOUR_DIR, cache_dir

# Bump when what read() keeps of a file changes: cached parses of the old shape are then ignored.
PARSED_SHAPE = "plain-1"

SUFFIX = ".pkrvars.hcl"
# What verify runs on a devstack host where stack.sh ran (packer/variables.pkr.hcl says the same):
# its config, Nova's compute service, and a server booted through the OpenStack API.
DEVSTACK_SUITES = ("test_devstack.py", "test_devstack_services.py", "test_instance_server.py")


@dataclass(frozen=True)
class Flavour:
    name: str
    path: Path
    product: str
    # Not XenServer (a Debian box with xenlab's simulator): said everywhere.
    standin: bool = False
    # Packer: which build (xenserver from an ISO, standin from the base image) and
    # which Vagrantfile goes into the box.
    packer_build: str = "xenserver"
    kind: str = "xenserver"
    iso_url: str = ""
    iso_checksum: str = "none"
    network_backend: str = ""
    boot_wait: str = "3s"  # as packer/variables.pkr.hcl declares it
    boot_command: tuple[str, ...] = ()
    # The installer's isolinux boots its own default after this many seconds: the
    # typed line must start before (autoboot_source names the file that says so).
    autoboot_timeout_s: float = 0.0
    autoboot_source: str = ""
    # The disk bus of the install and of the lab (the installer's initrd is host-specific).
    disk_bus: str = "ide"
    # The IDE disk's serial, set alike in the build and the lab ("" leaves QEMU's own).
    disk_serial: str = ""
    # How long Packer waits for SSH into the installed host (the install runs first).
    install_timeout: str = "90m"
    # The devstack machine's box, and boxes this build makes besides the flavour's own.
    devstack_box: str = "generic/ubuntu1804"
    companion_boxes: tuple[str, ...] = ()
    # Bounds, in seconds.
    build_timeout_s: int = 4 * 3600
    up_timeout_s: int = 4 * 3600
    # What the host needs.
    needs_kvm: bool = True
    needs_uplink: bool = True
    disk_gb_needed: int = 25
    # The deployment suites verify runs on the devstack host (xenlab/suites/).
    devstack_suites: tuple[str, ...] = field(default=DEVSTACK_SUITES)
    # The devstack machine gets Nova's compute probe (xenlab/devstack/probe.py): where
    # stack.sh cannot run, Nova's own driver still shows it can report the host.
    nova_probe: bool = False
    # ... and Glance from the probe's tree with the lab's VHD image in it
    # (xenlab/devstack/glance.py), which nova.conf's [glance] api_servers names.
    glance_service: bool = False

    @property
    def host_tools(self) -> tuple[str, ...]:
        """The tools only this flavour's build needs, from the one list (xenlab/host-tools.toml)."""
        return hosttools.build_tools(self.packer_build)

    @property
    def box_name(self) -> str:
        return f"xenlab/{self.name}"

    @property
    def typing_starts_s(self) -> float:
        """Seconds from boot until Packer types the first key: boot_wait plus the
        boot_command's leading <wait> keys (Packer's boot_command syntax)."""
        delay = duration_s(self.boot_wait)
        rest = "".join(self.boot_command)
        while (m := _LEADING_WAIT.match(rest)):
            delay += duration_s(m.group(1)) if m.group(1) else 1.0  # a bare <wait> is one second
            rest = rest[m.end():]
        return delay

    def describe(self) -> str:
        return f"stand-in (NOT XenServer: {self.product})" if self.standin else self.product


# A Go duration as Packer reads boot_wait and <waitXX> ("5" alone means seconds).
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_LEADING_WAIT = re.compile(r"<wait([0-9.a-zµ]*)>")


def duration_s(text: str) -> float:
    """Seconds in a Go duration such as 3s, 1m30s or 500ms (Packer's boot_wait)."""
    text = text.strip()
    parts = list(_DURATION.finditer(text))
    if not text or "".join(m.group(0) for m in parts) != text:
        raise ConfigError(f"not a duration: {text!r} (e.g. 3s, 1m30s)")
    if len(parts) > 1 and any(m.group(2) is None for m in parts):
        raise ConfigError(f"not a duration: {text!r} (a unit after each number)")
    return sum(float(m.group(1)) * _UNIT_S[m.group(2)] for m in parts)


def plain(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on strings: give back the string itself."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, list):
        return tuple(plain(v) for v in value)
    return value


def _tuples(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def read(path: Path) -> dict[str, Any]:
    """The file's settings; parsed once per content (building python-hcl2's parser
    costs half a second, which a no-op `invoke lab` cannot afford)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"flavour file {path}: {exc.strerror}") from None
    key = digest(PARSED_SHAPE, text)
    cache = cache_dir() / "flavour-data.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if isinstance(known.get(key), dict):
        return {k: _tuples(v) for k, v in known[key].items()}
    import hcl2

    try:
        raw = hcl2.loads(text.decode())
    except UnicodeDecodeError:
        raise ConfigError(f"flavour file {path}: not UTF-8") from None
    except Exception as exc:  # python-hcl2 raises lark errors of several kinds
        raise ConfigError(f"flavour file {path}: not valid HCL: {str(exc).splitlines()[0]}") from None
    data = {k: plain(v) for k, v in raw.items() if not k.startswith("__")}
    write_json(cache, {**known, key: data})
    return data


_TYPES = {name: hint for name, hint in typing.get_type_hints(Flavour).items() if name not in ("name", "path")}
PACKER_ONLY = {"flavour"}


def _typed(value, hint) -> bool:
    if typing.get_origin(hint) is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def load_file(path: Path) -> Flavour:
    data = read(path)
    types = _TYPES
    for key, value in data.items():
        if key in PACKER_ONLY:
            continue
        if key not in types:
            raise ConfigError(f"flavour file {path}: unknown setting {key!r}")
        if not _typed(value, types[key]):
            kind = "list of strings" if typing.get_origin(types[key]) is tuple else types[key].__name__
            raise ConfigError(f"flavour file {path}: {key} = {value!r} is not a {kind}")
    if data.get("glance_service") and not data.get("nova_probe"):
        raise ConfigError(f"flavour file {path}: glance_service runs from the Nova probe's tree: set nova_probe too")
    name = data.pop("flavour", path.name[: -len(SUFFIX)])
    return Flavour(name=name, path=path, **data)


def all_flavours() -> list[Flavour]:
    return [load_file(p) for p in sorted(FLAVOUR_DIR.glob(f"*{SUFFIX}"))]
