"""The XenAPI client side of `wire`: log in with the official SDK, read host facts,
judge whether the host can serve independent compute, check the dom0 plugins.

The number of calls is fixed (it does not grow with the pool): facts come from
the pool master's record, never from listing every host.
"""

from __future__ import annotations

import http.client
import socket
import time
import xmlrpc.client
from dataclasses import asdict, dataclass

import XenAPI

from .. import plugin_pickle
from ..errors import AuthError, HostError, UnsupportedHost

ORIGINATOR = "xenlab"
PLUGIN_API = "2.1"  # what os-xenapi's client asks for (exact major, minor >= 1)
# Product versions whose dom0 still runs os-xenapi's Python 2 plugins: XenServer 7.x,
# XCP-ng 8.2 and 8.3 (xcp-ng-rpms/xapi SPECS/xapi.spec keeps python2_compat below
# XenServer 9, whose plugins moved to python3).
SUPPORTED = ((7, 0), (8, 3))
_NETWORK_ERRORS = (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError)


@dataclass(frozen=True)
class HostFacts:
    url: str
    brand: str
    product_version: str
    platform_version: str
    api_version: str
    host_uuid: str
    host_ref: str
    hostname: str
    management_ip: str
    default_sr_uuid: str
    default_sr_type: str

    def public(self) -> dict:
        return asdict(self)


class _Timeout:
    """A transport with a timeout, so a host that stalls cannot hang wire."""

    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class _Transport(_Timeout, xmlrpc.client.Transport):
    pass


class _SafeTransport(_Timeout, xmlrpc.client.SafeTransport):
    pass


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout) or isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return f"HTTP {exc.errcode} {exc.errmsg}"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def login(url: str, user: str, password: str, timeout: float = 10, attempts: int = 3,
          delay: float = 1.0, named: str = "") -> XenAPI.Session:
    """A logged-in SDK session. Network failures are retried `attempts` times
    (HostError after); a refused password is final at once (AuthError): retrying
    it only risks locking the account. `named`: how messages name the host, when
    `url` is a tunnel's end rather than the host's own address."""
    transport = (_SafeTransport if url.startswith("https:") else _Transport)(timeout)
    shown = named or url
    last = ""
    for attempt in range(1, attempts + 1):
        session = XenAPI.Session(url, transport=transport)
        try:
            session.login_with_password(user, password, PLUGIN_API, ORIGINATOR)
            return session
        except XenAPI.Failure as exc:
            code = exc.details[0] if exc.details else "?"
            if code == "SESSION_AUTHENTICATION_FAILED":
                raise AuthError(f"XenAPI at {shown} refused the password for user {user!r}") from None
            if code == "HOST_IS_SLAVE":
                raise HostError(f"{shown} is a pool member; wire its pool master {exc.details[1]}") from None
            raise HostError(f"XenAPI at {shown} refused login: {code}") from None
        except xmlrpc.client.Fault as exc:
            last = f"fault {exc.faultCode}: {exc.faultString}"
        except _NETWORK_ERRORS as exc:
            last = _describe(exc)
        if attempt < attempts:
            time.sleep(delay * attempt)
    raise HostError(f"XenAPI at {shown}: {last} (tried {attempts} times, {timeout:g} s each)")


def call(fn, *args):
    """One SDK call, with network errors and unexpected failures as HostError."""
    try:
        return fn(*args)
    except XenAPI.Failure as exc:
        raise HostError(f"XenAPI call failed: {' '.join(exc.details)}") from None
    except _NETWORK_ERRORS as exc:
        raise HostError(f"XenAPI connection lost: {_describe(exc)}") from None


def facts(session: XenAPI.Session, url: str) -> HostFacts:
    x = session.xenapi
    pool = call(x.pool.get_all)[0]
    master = call(x.pool.get_master, pool)
    host = call(x.host.get_record, master)
    sr_ref = call(x.pool.get_default_SR, pool)
    sr_uuid, sr_type = "", ""
    if sr_ref and sr_ref != "OpaqueRef:NULL":
        sr = call(x.SR.get_record, sr_ref)
        sr_uuid, sr_type = sr.get("uuid", ""), sr.get("type", "")
    sv = host.get("software_version", {})
    return HostFacts(
        url=url,
        brand=sv.get("product_brand", ""),
        product_version=sv.get("product_version", ""),
        platform_version=sv.get("platform_version", ""),
        api_version=f"{host.get('API_version_major', '?')}.{host.get('API_version_minor', '?')}",
        host_uuid=host.get("uuid", ""),
        host_ref=master,
        hostname=host.get("hostname", ""),
        management_ip=host.get("address", ""),
        default_sr_uuid=sr_uuid,
        default_sr_type=sr_type,
    )


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in text.split(".")[:2])
    except ValueError:
        return None


def check_supported(f: HostFacts) -> None:
    """Refuse (UnsupportedHost, exit 6) a host that cannot serve independent compute."""
    what = f"{f.brand or 'host'} {f.product_version or '(no version)'} at {f.url}"
    if not f.default_sr_type:
        raise UnsupportedHost(f"{what} has no default SR: set a local ext SR as the pool default")
    if f.default_sr_type != "ext":
        raise UnsupportedHost(
            f"{what}: the default SR is {f.default_sr_type!r}, not 'ext': Nova's XenAPI driver needs a "
            "file-based (ext) default SR for VHD images (reinstall with sr-type=\"ext\" or add one)")
    version = _version(f.product_version)
    if version is None or not SUPPORTED[0] <= version <= SUPPORTED[1]:
        raise UnsupportedHost(
            f"{what}: product version not supported: os-xenapi's dom0 plugins are Python 2 scripts, "
            f"which need a dom0 of {SUPPORTED[0][0]}.{SUPPORTED[0][1]} to {SUPPORTED[1][0]}.{SUPPORTED[1][1]}")


def compatible(requested: str, current: str) -> bool:
    """os-xenapi's rule (oslo versionutils.is_compatible): same major, not older."""
    req, cur = _version(requested), _version(current)
    return bool(req and cur) and cur[0] == req[0] and cur >= req


def plugin_version(session: XenAPI.Session, f: HostFacts) -> str:
    """Call dom0_plugin_version.py/get_version exactly as Nova's client does."""
    args = {"params": plugin_pickle.NO_ARGS, "host_uuid": f.host_uuid}
    try:
        answer = session.xenapi.host.call_plugin(f.host_ref, "dom0_plugin_version.py", "get_version", args)
    except XenAPI.Failure as exc:
        raise HostError(f"dom0 plugin check failed: {' '.join(exc.details)}") from None
    except _NETWORK_ERRORS as exc:
        raise HostError(f"dom0 plugin check: {_describe(exc)}") from None
    try:
        return str(plugin_pickle.loads(answer))
    except Exception:
        raise HostError(f"dom0 plugin check: unreadable answer {answer[:40]!r}") from None


def logout(session: XenAPI.Session) -> None:
    try:
        session.xenapi.session.logout()
    except (XenAPI.Failure, xmlrpc.client.Fault, *_NETWORK_ERRORS):
        pass  # the session expires on its own; nothing to undo
