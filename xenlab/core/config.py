"""The one typed configuration model.

Settings flow one way: embedded defaults, then `xenlab.toml`, then `XENLAB_*`
environment variables, then task options (e.g. `--flavour`), into one frozen
`Config`. No other module reads settings on its own: they take a `Config`.

Environment variables name a section and a key: `XENLAB_XENSERVER_MEMORY_MB=8192`
sets `[xenserver] memory_mb`. The secret is special (see `password`): it lives
in the model only as a `SecretStr`. Every error names the file, variable or
option the bad value came from, in one line.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import tomllib
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import ConfigError
from . import console, flavours as flavours_mod, password as password_mod
from .paths import FLAVOUR_DIR, SHARED_ENTRIES, LabPaths
from .files import read_text
from .console import shown

CONFIG_FILE = "xenlab.toml"
ENV_PREFIX = "XENLAB_"
ENV_CONFIG = "XENLAB_CONFIG"
MAX_CONFIG_BYTES = 1 * 2**20
# XENLAB_* variables that are not settings of the model: the secret, the config
# path, the Vagrantfile's choice of lab, what verify hands its suites and what a
# test dom0 sets for the dom0 script.
ENV_RESERVED = {password_mod.ENV_PASSWORD, ENV_CONFIG, "XENLAB_LAB", "XENLAB_LAB_SPEC", "XENLAB_DRIVEN",
                "XENLAB_VERIFY_CONTEXT", "XENLAB_VERIFY_COUNTS", "XENLAB_SSH_PASSWORD", "XENLAB_DOM0_ROOT"}
FLAVOUR_SUFFIX = ".pkrvars.hcl"
# Private ranges only: the lab's network lives on the host, beside its others.
# The derived management network: cidr's third octet plus this (see Network.management_network),
# else vagrant-libvirt's own default (lib/vagrant-libvirt/config.rb, management_network_address).
MANAGEMENT_OFFSET = 64
VAGRANT_LIBVIRT_MANAGEMENT = ipaddress.IPv4Network("192.168.121.0/24")
PRIVATE_NETS = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def matching(regex: str, what: str, max_length: int | None = None):
    """A str that the whole of `regex` matches (fullmatch: a trailing newline fails,
    whichever engine; `$` alone lets one through in Python's re)."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value[:80]!r} is not {what}")
        return value

    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(check)]


Name = matching(r"[a-z0-9][a-z0-9-]{0,30}", "a name (a-z, 0-9 and -, up to 31 characters)")
# Full-length digests only: a shortened one cannot be checked.
Checksum = matching(r"|(?i:md5:[0-9a-f]{32}|sha1:[0-9a-f]{40}|sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})"
                    r"|file:(https?://|/)\S+", "sha256:<hex> (md5, sha1, sha512; the whole digest) or file:<url>")
UserName = matching(r"[a-z_][a-z0-9_-]{0,31}", "a user name (a-z, 0-9, _ and -, up to 32 characters)")
# Vagrant box names: `org/name` or `name`, nothing a shell or the Vagrantfile would split.
BoxName = matching(r"|[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?", "a box name (org/name)")
LibvirtUri = matching(r"[a-z]+(\+[a-z]+)?://\S*", "a libvirt URI (qemu:///system)", max_length=512)
IsoUrl = matching(r"|(https?|file)://\S+", "an http(s):// or file:// URL", max_length=2048)
Version = matching(r"\d+\.\d+\.\d+", "a version (x.y.z)")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def remote_host(uri: str) -> str:
    """The host a libvirt URI names ('' for this machine: qemu:///system, qemu+unix:///...)."""
    return urllib.parse.urlsplit(uri).hostname or ""


def host_name_or_ipv4(value: str) -> str:
    """An IPv4 address or a DNS name; all-numeric names must be valid addresses."""
    if not value:
        return value
    labels = value.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        ipaddress.IPv4Address(value)  # raises ValueError with the reason
        return value
    if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{value!r} is neither an IPv4 address nor a host name")
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Lab(Section):
    name: Name = "xenlab"
    # A flavour is a var file under packer/flavours/ (data, not code).
    flavour: str = "xcp-ng-8.3"
    provider: Literal["libvirt", "virtualbox"] = "libvirt"
    # Where vagrant-libvirt creates the machines: local, or qemu+ssh://you@big-host/system.
    libvirt_uri: LibvirtUri = "qemu:///system"
    # auto: KVM when a probe shows a guest kernel really runs under it, else TCG.
    accelerator: Literal["auto", "kvm", "tcg"] = "auto"

    @field_validator("libvirt_uri")
    @classmethod
    def _reached_over_ssh(cls, value: str) -> str:
        # A remote host's lab network is reached through SSH (machines/libvirthost.py):
        # libvirt's tcp and tls transports give no way in to it.
        if remote_host(value) and "ssh" not in value.split(":", 1)[0]:
            raise ValueError(f"{value[:80]!r} names a remote host without SSH: reach it as "
                             "qemu+ssh://user@host/system (xenlab tunnels the lab's network through that SSH)")
        return value

    @field_validator("name")
    @classmethod
    def _not_shared(cls, value: str) -> str:
        # A lab's folder is .xenlab/<name>, beside what the labs share there.
        if value in SHARED_ENTRIES:
            raise ValueError(f"{value!r} is taken: .xenlab/{value} holds {SHARED_ENTRIES[value]} (choose another name)")
        return value


class Iso(Section):
    # Empty url and path: the flavour's own published ISO and checksum.
    url: IsoUrl = ""
    path: Annotated[str, StringConstraints(max_length=4096)] = ""
    # "sha256:<hex>" or Packer's "file:<url of a checksum file>".
    checksum: Checksum = ""

    @model_validator(mode="after")
    def _one_source(self) -> "Iso":
        # "<field>: why" names the field, so the error names where its value came from.
        if self.url and self.path:
            raise ValueError("path: set either url or path, not both")
        if self.url and not self.checksum:
            raise ValueError("url: a url needs a checksum (sha256:<hex> or file:<checksum url>)")
        return self


class XenServer(Section):
    memory_mb: int = Field(4096, ge=2048, le=262144)
    cpus: int = Field(2, ge=1, le=64)
    # The installer's partition layout needs at least 60 GB; the qcow2 is thin.
    disk_gb: int = Field(60, ge=60, le=4096)


DevStackRelease = Literal["train", "ussuri"]


class DevStack(Section):
    # Empty: the flavour's default (an Ubuntu 18.04 box, or the stand-in box).
    box: BoxName = ""
    memory_mb: int = Field(8192, ge=1024, le=262144)
    cpus: int = Field(2, ge=1, le=64)
    release: DevStackRelease = "train"
    user: UserName = "stack"
    os_xenapi_version: Version = "0.3.4"
    # Your own Nova checkout (e.g. "~/src/nova"): the stand-in's driver runs from its nova/
    # package, synced in by verify; on DevStack flavours it is NOVA_REPO. Empty: Nova as released.
    nova_src: Annotated[str, StringConstraints(max_length=4096)] = ""


class Network(Section):
    cidr: str = "192.168.57.0/24"
    xenserver_ip: str = "192.168.57.10"
    devstack_ip: str = "192.168.57.11"
    # vagrant-libvirt's management network (the machines' NAT NIC, how Vagrant reaches them).
    # Empty: derived from cidr (see management_network), so that labs of other ranges get
    # other management networks: vagrant-libvirt gives every lab 192.168.121.0/24 otherwise,
    # and finds a network by its range before its name (create_networks.rb).
    management_cidr: str = ""

    @model_validator(mode="after")
    def _addresses(self) -> "Network":
        try:
            net = ipaddress.IPv4Network(self.cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"cidr: {exc}") from None
        if not any(net.subnet_of(private) for private in PRIVATE_NETS):
            raise ValueError(f"cidr: {self.cidr} is not inside a private range (10.0.0.0/8, 172.16.0.0/12, "
                             "192.168.0.0/16)")
        if net.prefixlen > 29:
            raise ValueError(f"cidr: {self.cidr} is too small for a lab (at most /29)")
        for key in ("xenserver_ip", "devstack_ip"):
            value = getattr(self, key)
            try:
                addr = ipaddress.IPv4Address(value)
            except ValueError:
                raise ValueError(f"{key}: {value[:40]!r} is not an IPv4 address") from None
            if addr not in net or addr in (net.network_address, net.broadcast_address):
                raise ValueError(f"{key}: {value} is not a host address in {self.cidr}")
            if addr == next(net.hosts()):
                raise ValueError(f"{key}: {value} is the network's gateway address")
        if self.xenserver_ip == self.devstack_ip:
            raise ValueError("xenserver_ip and devstack_ip must differ")
        management = self.management_network
        if management.overlaps(net):
            key = "management_cidr" if self.management_cidr else "cidr"
            what = "" if self.management_cidr else " (derived from cidr: set network.management_cidr)"
            raise ValueError(f"{key}: the management network {management}{what} overlaps {self.cidr}")
        return self

    @property
    def management_network(self) -> ipaddress.IPv4Network:
        """management_cidr, else the /24 whose third octet is cidr's plus 64: 192.168.57.0/24 (the
        default) gives 192.168.121.0/24, vagrant-libvirt's own default, so a default lab keeps it.
        A cidr wider than that /24 (10.20.0.0/16) keeps vagrant-libvirt's default."""
        if self.management_cidr:
            return self._management_setting()
        net = ipaddress.IPv4Network(self.cidr)
        base = net.network_address.packed
        derived = ipaddress.IPv4Network(f"{base[0]}.{base[1]}.{(base[2] + MANAGEMENT_OFFSET) % 256}.0/24")
        return VAGRANT_LIBVIRT_MANAGEMENT if derived.overlaps(net) else derived

    def _management_setting(self) -> ipaddress.IPv4Network:
        try:
            net = ipaddress.IPv4Network(self.management_cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"management_cidr: {exc}") from None
        if not any(net.subnet_of(private) for private in PRIVATE_NETS):
            raise ValueError(f"management_cidr: {self.management_cidr} is not inside a private range")
        if net.prefixlen > 28:
            raise ValueError(f"management_cidr: {self.management_cidr} is too small (at most /28)")
        return net


class Wire(Section):
    # The XenServer to wire: empty means the lab's own (network.xenserver_ip).
    # XenAPI is reached on port 80 (Nova's client cannot take a port in its URL).
    host: Annotated[str, StringConstraints(max_length=253)] = ""
    ssh_port: int = Field(22, ge=1, le=65535)
    # Per XenAPI/SSH request, and how many times to try reaching the host.
    timeout_s: int = Field(10, ge=1, le=300)
    attempts: int = Field(3, ge=1, le=20)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return host_name_or_ipv4(value)


class Credentials(Section):
    xenapi_user: UserName = "root"
    # A file holding the XenAPI/root password, mode 0600. Empty: XENLAB_PASSWORD,
    # else one generated once per lab.
    password_file: Annotated[str, StringConstraints(max_length=4096)] = ""


class Settings(Section):
    """Everything a user may set; the model `Config` adds what is derived."""

    lab: Lab = Lab()
    iso: Iso = Iso()
    xenserver: XenServer = XenServer()
    devstack: DevStack = DevStack()
    network: Network = Network()
    wire: Wire = Wire()
    credentials: Credentials = Credentials()


class Config(BaseModel):
    """Settings plus where the lab lives and its secret. Frozen."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    root: Path  # where xenlab.toml is (or the working directory): .xenlab/ goes here
    config_path: Path | None  # the xenlab.toml read, if any
    password: SecretStr
    password_source: str  # "XENLAB_PASSWORD", a file path, or "generated"
    # The lab's flavour file, read once per command (python-hcl2 is slow to start).
    flavour: flavours_mod.Flavour

    # Shortcuts, so callers read cfg.lab.name rather than cfg.settings.lab.name.
    @property
    def lab(self) -> Lab:
        return self.settings.lab

    @property
    def iso(self) -> Iso:
        return self.settings.iso

    @property
    def xenserver(self) -> XenServer:
        return self.settings.xenserver

    @property
    def devstack(self) -> DevStack:
        return self.settings.devstack

    @property
    def network(self) -> Network:
        return self.settings.network

    @property
    def wire(self) -> Wire:
        return self.settings.wire

    @property
    def credentials(self) -> Credentials:
        return self.settings.credentials

    @property
    def paths(self) -> LabPaths:
        return LabPaths(self.root, self.lab.name)

    @property
    def lab_dir(self) -> Path:
        return self.paths.lab_dir

    @property
    def workdir(self) -> Path:
        return self.paths.workdir

    def _local_path(self, value: str) -> Path | None:
        """A path setting: `~` expanded, relative to the config's directory; None when empty."""
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def iso_path(self) -> Path | None:
        return self._local_path(self.iso.path)

    @property
    def nova_src_path(self) -> Path | None:
        return self._local_path(self.devstack.nova_src)

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain data, safe to render or print (no secret)."""
        return self.settings.model_dump(mode="json")


# ---------------------------------------------------------------- loading


def available_flavours() -> list[str]:
    return sorted(p.name[: -len(FLAVOUR_SUFFIX)] for p in FLAVOUR_DIR.glob(f"*{FLAVOUR_SUFFIX}"))


def _key_path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def _problem(err: Mapping[str, Any]) -> str:
    return "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")


def _first_error(exc: ValidationError, origins: Mapping[str, str]) -> ConfigError:
    err = exc.errors()[0]
    key = _key_path(err["loc"])
    problem = _problem(err)
    # A section's own check names its field first ("cidr: ..."): make that the key.
    section_model = Settings.model_fields.get(key)
    field, _, rest = problem.partition(": ")
    if section_model and field in section_model.annotation.model_fields and rest:
        key, problem = f"{key}.{field}", rest
    # Name where the value came from: the file, the variable or the option.
    section = key.split(".")[0]
    source = origins.get(key) or origins.get(section) or origins.get("")
    where = f"{source}: " if source else ""
    return ConfigError(f"config error: {where}{key}: {problem}" if key else f"config error: {where}{problem}")


def _read_config(path: Path, named: str) -> dict[str, Any]:
    """A config file: regular, bounded, UTF-8, TOML; anything else is one line."""
    what = f"{named} {shown(path)}" if named else shown(path)
    text = read_text(path, what, MAX_CONFIG_BYTES)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: {what}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config error: {what}: arrays or tables nested too deeply") from None


def _exists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Map XENLAB_<SECTION>_<KEY> variables onto settings, typed per field."""
    sections = Settings.model_fields
    out: dict[str, dict[str, Any]] = {}
    origins: dict[str, str] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in ENV_RESERVED:
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        key = rest[len(section) + 1:] if section else ""
        model = sections[section].annotation if section else None
        if model is None or key not in model.model_fields:
            raise ConfigError(f"config error: {name}: unknown setting (expected XENLAB_<SECTION>_<KEY>)")
        field = model.model_fields[key]
        try:
            # Environment values are text: convert them to the field's type here,
            # so that the model itself can stay strict about TOML types.
            value = TypeAdapter(field.annotation).validate_python(environ[name], strict=False)
        except ValidationError as exc:
            raise ConfigError(f"config error: {name}: {section}.{key}: {_problem(exc.errors()[0])}") from None
        out.setdefault(section, {})[key] = value
        origins[f"{section}.{key}"] = name
    return out, origins


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _config_path(path: str | os.PathLike | None, environ: Mapping[str, str]) -> tuple[Path | None, str, Path]:
    """(the file to read or None, what named it, the lab's root)."""
    if path is not None:
        explicit, named = str(path), "--config"
    elif ENV_CONFIG in environ:
        explicit, named = environ[ENV_CONFIG], ENV_CONFIG
    else:
        default = Path.cwd() / CONFIG_FILE
        return (default if _exists(default) else None), "", Path.cwd().resolve()
    if not explicit:
        raise ConfigError(f"config error: {named} is empty (give the path of a xenlab.toml)")
    if "\0" in explicit:
        raise ConfigError(f"config error: {named}: not a valid path")
    chosen = Path(explicit).expanduser()
    if not _exists(chosen):
        raise ConfigError(f"config error: {named} {shown(chosen)}: no such file")
    try:
        root = chosen.absolute().parent.resolve()
    except OSError as exc:
        raise ConfigError(f"config error: {named} {shown(chosen)}: {exc.strerror}") from None
    return chosen, named, root


def load(
    path: str | os.PathLike | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the Config. Raises ConfigError (exit 2) with a one-line message."""
    environ = os.environ if environ is None else environ
    config_path, named, root = _config_path(path, environ)

    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if config_path is not None:
        data = _read_config(config_path, named)
        origins[""] = f"{named} {shown(config_path)}" if named else shown(config_path)
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, origins) from None
    env_data, env_origins = _env_overrides(environ)
    data = _merge(data, env_data)
    origins.update(env_origins)
    # Task options left unset (None) do not override anything.
    cli = {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in (overrides or {}).items()}
    data = _merge(data, cli)
    origins.update({f"{s}.{k}": f"--{k}" for s, keys in cli.items() for k in keys})
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, origins) from None

    flavours = available_flavours()
    if settings.lab.flavour not in flavours:
        where = origins.get("lab.flavour") or origins.get("", "")
        raise ConfigError(
            f"config error: {where + ': ' if where else ''}lab.flavour: unknown flavour "
            f"{settings.lab.flavour[:40]!r} (available: {', '.join(flavours) or 'none'})"
        )
    cfg = _config(settings, root, config_path.absolute() if config_path else None, environ)
    _check_iso_path(cfg, origins.get("iso.path") or origins.get("", ""))
    _check_nova_src(cfg, origins.get("devstack.nova_src") or origins.get("", ""))
    return cfg


def _config(settings: Settings, root: Path, config_path: Path | None, environ: Mapping[str, str]) -> Config:
    """Settings made a Config: the lab's password resolved, the flavour file read."""
    password, source = password_mod.resolve(settings.credentials.password_file, root,
                                            LabPaths(root, settings.lab.name), environ)
    console.register_secret(password)
    return Config(settings=settings, root=root, config_path=config_path, password=SecretStr(password),
                  password_source=source,
                  flavour=flavours_mod.load_file(FLAVOUR_DIR / f"{settings.lab.flavour}{FLAVOUR_SUFFIX}"))


def from_spec(spec_path: str | os.PathLike, environ: Mapping[str, str] | None = None) -> Config:
    """The Config a lab spec (`plan`'s lab.json) was rendered from: its settings, root and
    config path as they were then, whatever xenlab.toml and XENLAB_* say now; only the
    password is resolved again, as `load` resolves it (it is never in the spec)."""
    import json

    path = Path(spec_path)
    what = f"lab spec {shown(path)}"
    try:
        data = json.loads(read_text(path, what, MAX_CONFIG_BYTES))["config"]
        settings = Settings.model_validate(data["settings"])
        root = Path(data["root"])
        config_path = Path(data["config_path"]) if data["config_path"] else None
    except (ValueError, KeyError, TypeError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
        raise ConfigError(f"config error: {what}: not a lab spec xenlab can read ({reason[:120]}): "
                          "run `invoke plan` again") from None
    return _config(settings, root, config_path, os.environ if environ is None else environ)


def _check_iso_path(cfg: Config, where: str) -> None:
    path = cfg.iso_path
    if path is None:
        return
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"config error: {where + ': ' if where else ''}iso.path: {shown(path)}: "
                          f"{exc.strerror}") from None
    if not regular:
        raise ConfigError(f"config error: {where + ': ' if where else ''}iso.path: {shown(path)} is not a "
                          "regular file")


# Nova's XenAPI driver, which a checkout must still have (removed in Victoria, nova 22).
NOVA_XENAPI_DRIVER = "nova/virt/xenapi/driver.py"


def _check_nova_src(cfg: Config, where: str) -> None:
    path = cfg.nova_src_path
    if path is None:
        return
    what = f"config error: {where + ': ' if where else ''}devstack.nova_src: {shown(path)}"
    try:
        kind = "dir" if path.is_dir() else "other" if path.exists() else "none"
        package, driver = (path / "nova" / "__init__.py").is_file(), (path / NOVA_XENAPI_DRIVER).is_file()
    except (OSError, ValueError) as exc:  # e.g. a NUL in the value
        raise ConfigError(f"{what}: not a usable path ({exc})") from None
    if kind != "dir":
        raise ConfigError(f"{what}: {'not a directory' if kind == 'other' else 'no such directory'}")
    if not package:
        raise ConfigError(f"{what} is not a Nova checkout (no nova/__init__.py)")
    if not driver:
        raise ConfigError(f"{what} has no {NOVA_XENAPI_DRIVER}: the XenAPI driver was removed in Victoria "
                          "(check out ussuri-eol or older)")
