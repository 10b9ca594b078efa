"""Dispatch of XenAPI calls: sessions, class methods, error codes, call counts.

A call is `class.method(session_ref, *params)`. Methods with behaviour of their
own (sessions, call_plugin) are listed in `Api.special`; every other method is a
generic one from the store.
"""

from __future__ import annotations

import collections
import hmac
import inspect
import threading
import time
import xmlrpc.client
from pathlib import Path

from .plugins import call as call_plugin
from .store import NULL_REF, Failure, Store
from . import seed as seed_mod

LOGIN_METHODS = {"session.login_with_password", "session.slave_local_login_with_password"}


def _wire(value):
    """XAPI sends int64 values as strings; everything else as XML-RPC types."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def success(value) -> dict:
    return {"Status": "Success", "Value": _wire(value)}


def failure(description) -> dict:
    return {"Status": "Failure", "ErrorDescription": [str(d) for d in description]}


class Api:
    def __init__(self, user: str, password: str, plugin_dir: str | Path,
                 management_ip: str = "127.0.0.1", pool_size: int = 1):
        self.user = user
        self.password = password
        self.plugin_dir = Path(plugin_dir)
        self.store = Store()
        self.refs = seed_mod.seed(self.store, management_ip, pool_size)
        self.calls: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.special = {
            "session.login_with_password": self.login_with_password,
            "session.slave_local_login_with_password": self.login_with_password,
            "session.logout": self.logout,
            "host.call_plugin": self.host_call_plugin,
        }

    # ---------------------------------------------------------------- entry

    def dispatch(self, method: str, params: tuple) -> dict:
        with self.lock:
            self.calls[method] += 1
            try:
                return success(self._dispatch(method, list(params)))
            except Failure as exc:
                return failure(exc.description)

    def total_calls(self) -> int:
        with self.lock:
            return sum(self.calls.values())

    def reset_counts(self) -> None:
        with self.lock:
            self.calls.clear()

    def _dispatch(self, method: str, params: list):
        cls, _, name = method.partition(".")
        handler = self.special.get(method)
        if handler is None and name:
            handler = self.store.method(cls, name)
        if handler is None:
            raise Failure("MESSAGE_METHOD_UNKNOWN", method)
        if method in LOGIN_METHODS:
            self._check_arity(method, handler, params, session=False)
            return handler(*params)
        # Every other call carries a valid session first.
        if not params or params[0] not in self.store.classes.get("session", {}):
            raise Failure("SESSION_INVALID", params[0] if params else "")
        self.store.record("session", params[0])["last_active"] = xmlrpc.client.DateTime(time.gmtime())
        self._check_arity(method, handler, params[1:], session=True)
        if method in self.special:
            return handler(*params)
        return handler(*params[1:])

    def _check_arity(self, method, handler, args, session):
        sig = inspect.signature(handler)
        positional = [p for p in sig.parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
        if method in self.special and session:
            positional = positional[1:]  # the handler takes the session itself
        required = [p for p in positional if p.default is p.empty]
        if not len(required) <= len(args) <= len(positional):
            # XAPI counts the session among the parameters it expected and received.
            extra = 1 if session else 0
            raise Failure("MESSAGE_PARAMETER_COUNT_MISMATCH", method,
                          len(positional) + extra, len(args) + extra)

    # ---------------------------------------------------------------- sessions

    def login_with_password(self, uname, pwd, version="1.0", originator=""):
        good_user = hmac.compare_digest(str(uname).encode(), self.user.encode())
        good_password = hmac.compare_digest(str(pwd).encode(), self.password.encode())
        if not (good_user and good_password):
            raise Failure("SESSION_AUTHENTICATION_FAILED", uname,
                          "Authentication failure")
        return self.store.add("session", {
            "this_host": self.refs["host"], "this_user": NULL_REF, "auth_user_name": uname,
            "originator": originator, "api_version": version, "pool": False,
            "is_local_superuser": True, "subject": NULL_REF, "parent": NULL_REF,
            "last_active": xmlrpc.client.DateTime(time.gmtime()), "other_config": {},
            "tasks": [], "rbac_permissions": [], "validation_time": xmlrpc.client.DateTime(time.gmtime()),
        })

    def logout(self, session):
        self.store.remove("session", session)
        return ""

    def expire_sessions(self) -> int:
        """Forget every session, as XAPI does after a restart or idle timeout."""
        with self.lock:
            count = len(self.store.classes.get("session", {}))
            self.store.classes["session"] = {}
            return count

    # ---------------------------------------------------------------- host

    def host_call_plugin(self, session, host, plugin, fn, args):
        self.store.record("host", host)
        return call_plugin(self.plugin_dir, plugin, fn, args)
