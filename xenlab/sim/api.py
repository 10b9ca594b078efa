"""Dispatch of XenAPI calls: parameter types, sessions, error codes, call counts, persistence.

A call is `class.method(session_ref, *params)`, handled in XAPI's order
(xapi-project/xen-api ocaml/idl/ocaml_backend/gen_server.ml): the method is looked
up (messages.py, else the store's generic methods); the parameter count is checked
(MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, received], neither counting the
session); every parameter is unmarshalled with its type (xapitypes.py); then the session is
checked (SESSION_INVALID). A method XAPI does not know is MESSAGE_METHOD_UNKNOWN,
after the session check when a session was sent.

Every call is answered with an envelope: a bug in the simulator is INTERNAL_ERROR,
never a dropped connection. Call counts are kept per method name only for names the
simulator resolves (a bounded set), whatever the session: a request with an invented
name is counted under one key, so no request, authenticated or not, can grow them.
"""

from __future__ import annotations

import collections
import contextlib
import hmac
import sys
import threading
import time
from pathlib import Path

from . import devices, storage, tasks, vm  # noqa: F401  (their messages register in registry.py)
from . import messages as messages_mod
from . import seed as seed_mod
from . import statedb, xapitypes
from .dom0 import Dom0
from .failure import Failure
from .machine import Simulated
from .sessions import Sessions
from .store import NULL_REF, Store, new_ref

LOGIN_METHODS = {"session.login_with_password", "session.slave_local_login_with_password"}
UNKNOWN_KEY = "(unknown method)"
MAX_ERROR_TEXT = 512


def success(value) -> dict:
    return {"Status": "Success", "Value": xapitypes.to_wire(value)}


def failure(description) -> dict:
    return {"Status": "Failure", "ErrorDescription": [str(d) for d in description]}


class Api:
    def __init__(self, user: str, password: str, plugin_dir: str | Path, management_ip: str = "127.0.0.1",
                 pool_size: int = 1, *, machine: Simulated | None = None, state_db: Path | None = None,
                 inventory: dict | None = None, clock=time.time):
        self.user = user
        self.password = password
        self.plugin_dir = Path(plugin_dir)
        self.machine = machine or Simulated()
        self.guest = machine is not None and type(machine) is not Simulated
        self.state_db = Path(state_db) if state_db else None
        self.store = Store(schema=True)
        self.sessions = Sessions(self.store, clock)
        self.calls: collections.Counter[str] = collections.Counter()
        self.lock = threading.RLock()
        self.changes = threading.Condition(self.lock)  # event.from waits on it
        self.current_session = NULL_REF
        self._task = NULL_REF
        self.local_client = False  # the call came over the local Unix socket
        self._dom0s: dict[str, Dom0] = {}
        self._domid = 0
        if self.state_db and self.state_db.exists():
            statedb.load(self.store, self.state_db)
            self.refs = self._found_refs(inventory or {})
            vm.reset_after_restart(self)  # no simulated domain outlives the simulator
        elif self.state_db:
            self.refs = self._first_boot(inventory or {}, management_ip)
        else:
            self.refs = seed_mod.seed(self.store, management_ip, pool_size)
        self.saved = None if self.state_db and not self.state_db.exists() else self.store.generation
        self.persist()

    # ---------------------------------------------------------------- databases

    def _first_boot(self, inventory: dict, management_ip: str | None) -> dict:
        facts = self.machine.facts()
        cpu_info = dict(seed_mod.CPU_INFO)
        memory, free, hostname = seed_mod.HOST_MEMORY, None, "xenlab-sim-0"
        if facts:  # --guest: the host is this machine, as xapi reads it from the hypervisor
            cpu_info["cpu_count"] = str(facts.cpu_count)
            if facts.memory_total:
                memory, free = facts.memory_total, facts.memory_free
            hostname = facts.hostname
        return seed_mod.first_boot(self.store, inventory.get("INSTALLATION_UUID") or None,
                                   inventory.get("CONTROL_DOMAIN_UUID") or None, hostname,
                                   management_ip or "", cpu_info, memory, free)

    def _found_refs(self, inventory: dict) -> dict:
        """The refs of a loaded database: this host is the inventory's INSTALLATION_UUID, else the master."""
        pool = next(iter(self.store.classes.get("pool", {})), NULL_REF)
        host = self.store.classes.get("pool", {}).get(pool, {}).get("master", NULL_REF)
        wanted = inventory.get("INSTALLATION_UUID")
        if wanted and self.store.find("host", uuid=wanted):
            host = self.store.find("host", uuid=wanted)[0]
        rec = self.store.classes.get("host", {}).get(host, {})
        default_sr = self.store.classes.get("pool", {}).get(pool, {}).get("default_SR", NULL_REF)
        management = self.store.find("PIF", host=host, management=True)
        return {"pool": pool, "host": host, "control_domain": rec.get("control_domain", NULL_REF),
                "host_metrics": rec.get("metrics", NULL_REF), "sr": default_sr,
                "pif": management[0] if management else NULL_REF, "hosts": list(self.store.classes.get("host", {}))}

    def persist(self, force: bool = False) -> None:
        """Write --state-db if anything persistent changed since the last write."""
        if not self.state_db or (self.saved == self.store.generation and not force):
            return
        try:
            statedb.save(self.store, self.state_db)
        except OSError as exc:
            print(f"xenlab-sim: cannot write {self.state_db}: {exc.strerror}", file=sys.stderr, flush=True)
            return
        self.saved = self.store.generation

    # ---------------------------------------------------------------- the hosts' running state

    def dom0(self, host: str) -> Dom0:
        """The host's dom0: xenstore, network devices, console logs (none of it persists)."""
        return self._dom0s.setdefault(host, Dom0())

    def next_domid(self) -> int:
        """Xen hands out domain IDs in rising order; 0 is the control domain."""
        self._domid += 1
        return self._domid

    def current_task(self) -> str:
        """The task XAPI makes for the call being served (the key of current_operations)."""
        if self._task == NULL_REF:
            self._task = new_ref()
        return self._task

    def wait_for_change(self, seconds: float) -> None:
        """Let other calls run until one changes something, or `seconds` pass (event.from)."""
        if seconds > 0:
            self.changes.wait(seconds)

    # ---------------------------------------------------------------- entry

    def dispatch(self, method, params, local: bool = False) -> dict:
        """One XML-RPC call from the wire, answered with XAPI's envelope (`local`: from the Unix socket)."""
        with self.lock:
            self.sessions.maybe_gc()
            self.local_client = local
            try:
                envelope = success(self.invoke(method, list(params), counted=True))
            except Failure as exc:
                envelope = failure(exc.description)
            except Exception as exc:  # a simulator bug: answered, never a dropped connection
                envelope = failure(["INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT]])
            finally:
                self.local_client = False
                self._task = NULL_REF
            self.persist()
            self.changes.notify_all()
            return envelope

    def total_calls(self) -> int:
        with self.lock:
            return sum(self.calls.values())

    def reset_counts(self) -> None:
        with self.lock:
            self.calls.clear()

    def _resolve(self, method: str):
        if not isinstance(method, str):
            return None
        known = messages_mod.MESSAGES.get(method)
        if known:
            return known
        cls, _, name = method.partition(".")
        generic = self.store.method(cls, name) if name else None
        if generic is None:
            return None
        params = tuple(messages_mod.Param(n, t) for n, t in generic.params)
        return messages_mod.Message(method, lambda api, *args: generic(*args), params, True, generic.readonly)

    def invoke(self, method: str, params: list, counted: bool = False):
        """Run one call; returns its value or raises its Failure."""
        msg = self._resolve(method)
        if msg is None:
            if counted:
                self.calls[UNKNOWN_KEY] += 1
            if params:
                session = xapitypes.STRING.check(params[0])
                if not self.sessions.valid(session):
                    raise Failure("SESSION_INVALID", session)
            raise Failure("MESSAGE_METHOD_UNKNOWN", method)
        if counted:
            self.calls[method] += 1
        args = params[1:] if msg.session else params
        received = len(params) - 1 if msg.session else len(params)
        too_few = received < msg.required
        too_many = received > len(msg.params) and all(p.required for p in msg.params)
        if too_few or too_many:
            raise Failure("MESSAGE_PARAMETER_COUNT_MISMATCH", method, msg.required, received)
        session = xapitypes.STRING.check(params[0]) if msg.session else NULL_REF
        values = [param.type.check(args[i]) if i < len(args) else param.default
                  for i, param in enumerate(msg.params)]
        if msg.session and not self.sessions.valid(session):
            raise Failure("SESSION_INVALID", session)
        outer, self.current_session = self.current_session, session
        try:
            return msg.fn(self, *values)
        finally:
            self.current_session = outer

    # ---------------------------------------------------------------- sessions

    def login(self, uname: str, pwd: str, version: str, originator: str) -> str:
        if self.local_client:
            # xapi_session.ml login_with_password: a client on the local Unix socket is trusted as root.
            return self.sessions.create(self.refs["host"], uname, originator, version)
        good_user = hmac.compare_digest(uname.encode(), self.user.encode())
        good_password = hmac.compare_digest(pwd.encode(), self.password.encode())
        if not (good_user and good_password):
            raise Failure("SESSION_AUTHENTICATION_FAILED", uname, "Authentication failure")
        return self.sessions.create(self.refs["host"], uname, originator, version)

    @contextlib.contextmanager
    def local_session(self, originator: str = "cli"):
        """A session of local root, as XAPI gives a client on its Unix socket (no password)."""
        ref = self.sessions.create(self.refs["host"], "root", originator, "1.0")
        try:
            yield ref
        finally:
            self.sessions.destroy(ref)

    def expire_sessions(self) -> int:
        """Forget every session, as XAPI does when it restarts."""
        with self.lock:
            return self.sessions.clear()
