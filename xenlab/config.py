"""The one typed configuration model.

Settings flow one way: embedded defaults, then `xenlab.toml`, then `XENLAB_*`
environment variables, then task options (e.g. `--flavour`), into one frozen
`Config`. No other module reads settings on its own: they take a `Config`.

Environment variables name a section and a key: `XENLAB_XENSERVER_MEMORY_MB=8192`
sets `[xenserver] memory_mb`. The secret is special: `XENLAB_PASSWORD` (or a
0600 `credentials.password_file`, or one generated once per lab under
`.xenlab/<lab>/secrets/`), and it lives in the model only as a `SecretStr`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .errors import ConfigError
from . import console

CONFIG_FILE = "xenlab.toml"
ENV_PREFIX = "XENLAB_"
ENV_PASSWORD = "XENLAB_PASSWORD"
ENV_CONFIG = "XENLAB_CONFIG"
# XENLAB_* variables that are not settings of the model: the secret, the config
# path, the Vagrantfile's choice of lab (XENLAB_LAB, XENLAB_LAB_SPEC: `xenlab wire`
# runs in its trigger with them set), and what verify hands its suites.
ENV_RESERVED = {ENV_PASSWORD, ENV_CONFIG, "XENLAB_LAB", "XENLAB_LAB_SPEC",
                "XENLAB_VERIFY_CONTEXT", "XENLAB_VERIFY_COUNTS", "XENLAB_SSH_PASSWORD"}

# The project checkout: packer/ templates and flavour data live beside the package.
PROJECT_DIR = Path(__file__).resolve().parent.parent
FLAVOUR_DIR = PROJECT_DIR / "packer" / "flavours"
FLAVOUR_SUFFIX = ".pkrvars.hcl"

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")]
Checksum = Annotated[
    str, StringConstraints(pattern=r"^$|^(md5|sha1|sha256|sha512):[0-9a-fA-F]+$|^file:\S+$")
]
UserName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Lab(Section):
    name: Name = "xenlab"
    # A flavour is a var file under packer/flavours/ (data, not code).
    flavour: str = "xcp-ng-8.2"
    provider: Literal["libvirt", "virtualbox"] = "libvirt"
    # Where vagrant-libvirt creates the machines: local, or qemu+ssh://big-host/system.
    libvirt_uri: str = "qemu:///system"
    # auto: KVM when `doctor` finds it can run a guest, else TCG (slow but works).
    accelerator: Literal["auto", "kvm", "tcg"] = "auto"


class Iso(Section):
    # Empty url and path: the flavour's own published ISO and checksum file.
    url: str = ""
    path: str = ""
    # "sha256:<hex>" or Packer's "file:<url of a checksum file>".
    checksum: Checksum = ""

    @model_validator(mode="after")
    def _one_source(self) -> "Iso":
        if self.url and self.path:
            raise ValueError("set either url or path, not both")
        if self.url and not self.url.startswith(("http://", "https://", "file://")):
            raise ValueError(f"url must be http(s):// or file://, got {self.url!r}")
        if self.url and not self.checksum:
            raise ValueError("a url needs a checksum (sha256:<hex> or file:<checksum url>)")
        return self


class XenServer(Section):
    memory_mb: int = Field(4096, ge=2048, le=262144)
    cpus: int = Field(2, ge=1, le=64)
    # The installer's partition layout needs at least 60 GB; the qcow2 is thin.
    disk_gb: int = Field(60, ge=60, le=4096)


DevStackRelease = Literal["train", "ussuri"]


class DevStack(Section):
    # Empty: the flavour's default (an Ubuntu 18.04 box, or the stand-in box).
    box: str = ""
    memory_mb: int = Field(8192, ge=1024, le=262144)
    cpus: int = Field(2, ge=1, le=64)
    release: DevStackRelease = "train"
    user: UserName = "stack"
    os_xenapi_version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")] = "0.3.4"


class Network(Section):
    cidr: str = "192.168.57.0/24"
    xenserver_ip: str = "192.168.57.10"
    devstack_ip: str = "192.168.57.11"

    @model_validator(mode="after")
    def _addresses(self) -> "Network":
        try:
            net = ipaddress.IPv4Network(self.cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"cidr: {exc}") from None
        if net.prefixlen > 29:
            raise ValueError(f"cidr: {self.cidr} is too small for a lab (at most /29)")
        for key in ("xenserver_ip", "devstack_ip"):
            value = getattr(self, key)
            try:
                addr = ipaddress.IPv4Address(value)
            except ValueError:
                raise ValueError(f"{key}: {value!r} is not an IPv4 address") from None
            if addr not in net or addr in (net.network_address, net.broadcast_address):
                raise ValueError(f"{key}: {value} is not a host address in {self.cidr}")
            if addr == next(net.hosts()):
                raise ValueError(f"{key}: {value} is the network's gateway address")
        if self.xenserver_ip == self.devstack_ip:
            raise ValueError("xenserver_ip and devstack_ip must differ")
        return self


class Wire(Section):
    # The XenServer to wire: empty means the lab's own (network.xenserver_ip).
    # XenAPI is reached on port 80 (Nova's client cannot take a port in its URL).
    host: Annotated[str, StringConstraints(pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")] = ""
    ssh_port: int = Field(22, ge=1, le=65535)
    # Per XenAPI/SSH request, and how many times to try reaching the host.
    timeout_s: int = Field(10, ge=1, le=300)
    attempts: int = Field(3, ge=1, le=20)


class Credentials(Section):
    xenapi_user: UserName = "root"
    # A file holding the XenAPI/root password, mode 0600. Empty: XENLAB_PASSWORD,
    # else one generated once per lab.
    password_file: str = ""


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
    password: SecretStr
    password_source: str  # "XENLAB_PASSWORD", a file path, or "generated"

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
    def workdir(self) -> Path:
        """All xenlab state: .xenlab/ beside the config."""
        return self.root / ".xenlab"

    @property
    def lab_dir(self) -> Path:
        """Rendered artifacts, logs, reports and secrets of this lab."""
        return self.workdir / self.lab.name

    @property
    def flavour_file(self) -> Path:
        return FLAVOUR_DIR / f"{self.lab.flavour}{FLAVOUR_SUFFIX}"

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain data, safe to render or print (no secret)."""
        return self.settings.model_dump(mode="json")


# ---------------------------------------------------------------- loading


def available_flavours() -> list[str]:
    return sorted(p.name[: -len(FLAVOUR_SUFFIX)] for p in FLAVOUR_DIR.glob(f"*{FLAVOUR_SUFFIX}"))


def _key_path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def _first_error(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors()[0]
    key = _key_path(err["loc"])
    if err["type"] == "extra_forbidden":
        problem = "unknown key"
    else:
        problem = err["msg"].removeprefix("Value error, ")
    where = f"{source}: " if source else ""
    return ConfigError(f"config error: {where}{key}: {problem}" if key else f"config error: {where}{problem}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: {path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config error: cannot read {path}: {exc.strerror}") from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Map XENLAB_<SECTION>_<KEY> variables onto settings, typed per field."""
    sections = Settings.model_fields
    out: dict[str, dict[str, Any]] = {}
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
            raise ConfigError(f"config error: {name}: {exc.errors()[0]['msg']}") from None
        out.setdefault(section, {})[key] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Characters DevStack cannot carry through to nova.conf (FACTS.md section 3):
# its iniset drops backslashes, and stack.sh tests the value unquoted.
_PASSWORD_RULES = (
    (lambda p: not p, "is empty"),
    (lambda p: "\\" in p, "contains a backslash, which DevStack's iniset drops from nova.conf"),
    (lambda p: any(ch.isspace() for ch in p),
     "contains whitespace or a newline, which DevStack's stack.sh cannot read unquoted"),
    (lambda p: any(ord(ch) < 32 or ord(ch) == 127 for ch in p), "contains a control character"),
)


def check_password(password: str, source: str) -> None:
    for broken, why in _PASSWORD_RULES:
        if broken(password):
            raise ConfigError(f"config error: password from {source} {why}")


def generate_password() -> str:
    # URL-safe alphabet: nothing that bash, XML or an ini file would treat specially.
    return secrets.token_urlsafe(18)


def write_secret_file(path: Path, text: str) -> None:
    """Write a file only its owner can read, with no moment of wider access."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)


def _read_password_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"config error: credentials.password_file: cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"config error: credentials.password_file: {path} is mode {stat.S_IMODE(mode):04o}, "
            "must be 0600 (chmod 600 it)"
        )
    return text.rstrip("\n")


def _resolve_password(settings: Settings, root: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    if environ.get(ENV_PASSWORD):
        return environ[ENV_PASSWORD], ENV_PASSWORD
    if settings.credentials.password_file:
        path = (root / settings.credentials.password_file).expanduser()
        return _read_password_file(path), str(path)
    generated = root / ".xenlab" / settings.lab.name / "secrets" / "password"
    if generated.exists():
        return _read_password_file(generated), "generated"
    password = generate_password()
    write_secret_file(generated, password + "\n")
    return password, "generated"


def load(
    path: str | os.PathLike | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the Config. Raises ConfigError (exit 2) with a one-line message."""
    environ = os.environ if environ is None else environ
    explicit = path or environ.get(ENV_CONFIG)
    config_path = Path(explicit) if explicit else Path.cwd() / CONFIG_FILE
    if explicit and not config_path.is_file():
        raise ConfigError(f"config error: {config_path}: no such file")
    root = config_path.resolve().parent

    data: dict[str, Any] = {}
    source = ""
    if config_path.is_file():
        data = _read_toml(config_path)
        source = str(config_path.name)
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    data = _merge(data, _env_overrides(environ))
    # Task options left unset (None) do not override anything.
    cli = {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in (overrides or {}).items()}
    data = _merge(data, cli)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, "") from None

    flavours = available_flavours()
    if settings.lab.flavour not in flavours:
        raise ConfigError(
            f"config error: lab.flavour: unknown flavour {settings.lab.flavour!r} "
            f"(available: {', '.join(flavours) or 'none'})"
        )

    password, password_source = _resolve_password(settings, root, environ)
    check_password(password, password_source)
    console.register_secret(password)
    return Config(
        settings=settings,
        root=root,
        password=SecretStr(password),
        password_source=password_source,
    )
