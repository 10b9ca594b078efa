"""Sessions as XAPI keeps them: made by login, refreshed by use, destroyed when idle
or when a group holds too many.

XAPI's database garbage collector runs every db_GC_TIMER seconds
(xapi-project/xen-api ocaml/xapi/db_gc.ml) and its timeout_sessions
(ocaml/xapi/db_gc_util.ml) sorts sessions into groups: pool (intra-pool) sessions;
sessions of root or of no user name, by originator; those with no originator;
other users, by user name. In every group it destroys the sessions inactive for
longer than inactive_session_timeout, then, beyond the group's limit, the least
recently active ones. A session's last_active is refreshed by use when it is older
than threshold_last_active. The limits are ocaml/xapi/xapi_globs.ml's (v26.1.4).
XAPI's periodic revalidation (session_revalidation_interval) only concerns sessions
of externally authenticated (AD) users, which the simulator has none of.
"""

from __future__ import annotations

import time
import xmlrpc.client

from .store import NULL_REF, Store

DB_GC_TIMER = 30.0  # db_gc.ml
INACTIVE_SESSION_TIMEOUT = 86400.0  # xapi_globs.ml inactive_session_timeout: 24 h
THRESHOLD_LAST_ACTIVE = 600.0  # xapi_globs.ml threshold_last_active: 10 min
MAX_TASKS = 200  # xapi_globs.ml max_tasks
MAX_SESSIONS = MAX_TASKS * 2  # xapi_globs.ml max_sessions: pool sessions, and those with no originator
MAX_SESSIONS_PER_ORIGINATOR = 500  # xapi_globs.ml
MAX_SESSIONS_PER_USER_NAME = 500  # xapi_globs.ml
# The simulator's own bound on all sessions together (XAPI has none): an authenticated
# client inventing originators cannot grow memory without end between two passes.
MAX_SESSIONS_TOTAL = 4096


def _datetime(seconds: float) -> xmlrpc.client.DateTime:
    return xmlrpc.client.DateTime(time.gmtime(seconds))


class Sessions:
    """The `session` records of a store, with XAPI's expiry rules; `clock` is injectable."""

    def __init__(self, store: Store, clock=time.time):
        self.store = store
        self.clock = clock
        self.active: dict[str, float] = {}  # ref -> its last_active, in seconds since the epoch
        self.last_gc = clock()

    @property
    def table(self) -> dict:
        return self.store.classes.setdefault("session", {})

    def __len__(self) -> int:
        return len(self.table)

    def create(self, this_host: str, user: str, originator: str, version: str, pool: bool = False) -> str:
        now = self.clock()
        if len(self.table) >= MAX_SESSIONS_TOTAL:
            self._destroy_oldest(list(self.active), len(self.table) - MAX_SESSIONS_TOTAL + 1)
        ref = self.store.add("session", {
            "this_host": this_host, "this_user": NULL_REF, "auth_user_name": user, "auth_user_sid": "",
            "originator": originator, "api_version": version, "pool": pool, "is_local_superuser": True,
            "subject": NULL_REF, "parent": NULL_REF, "last_active": _datetime(now), "other_config": {},
            "tasks": [], "rbac_permissions": [], "validation_time": _datetime(now), "client_certificate": False,
        })
        self.active[ref] = now
        return ref

    def valid(self, ref) -> bool:
        """Is `ref` a live session? Refreshes its last_active as XAPI does."""
        if not isinstance(ref, str) or ref not in self.table:
            return False
        now = self.clock()
        if now - self.active.setdefault(ref, now) > THRESHOLD_LAST_ACTIVE:
            self.table[ref]["last_active"] = _datetime(now)
            self.active[ref] = now
        return True

    def destroy(self, ref: str) -> None:
        self.table.pop(ref, None)
        self.active.pop(ref, None)

    def clear(self) -> int:
        """Forget every session, as a restart of XAPI does."""
        count = len(self.table)
        self.table.clear()
        self.active.clear()
        return count

    def maybe_gc(self) -> int:
        """Run the collector if a DB_GC_TIMER period has passed since the last pass."""
        if self.clock() - self.last_gc < DB_GC_TIMER:
            return 0
        return self.gc()

    def gc(self) -> int:
        """One pass of XAPI's timeout_sessions; returns how many sessions it destroyed."""
        now = self.clock()
        self.last_gc = now
        groups: dict[tuple, list[str]] = {}
        for ref, rec in self.table.items():
            rootish = rec.get("auth_user_name", "") in ("", "root")
            if rec.get("pool"):
                key = ("internal",)
            elif rootish and rec.get("originator", "") == "":
                key = ("external",)
            elif rootish:
                key = ("originator", rec.get("originator", ""))
            else:
                key = ("username", rec.get("auth_user_name", ""))
            groups.setdefault(key, []).append(ref)
        before = len(self.table)
        for key, refs in groups.items():
            limit = {"internal": MAX_SESSIONS, "external": MAX_SESSIONS,
                     "originator": MAX_SESSIONS_PER_ORIGINATOR, "username": MAX_SESSIONS_PER_USER_NAME}[key[0]]
            young = []
            for ref in refs:
                if now - self.active.get(ref, now) > INACTIVE_SESSION_TIMEOUT:
                    self.destroy(ref)
                else:
                    young.append(ref)
            if len(young) > limit:
                self._destroy_oldest(young, len(young) - limit)
        return before - len(self.table)

    def _destroy_oldest(self, refs: list[str], count: int) -> None:
        for ref in sorted(refs, key=lambda r: self.active.get(r, 0.0))[:count]:
            self.destroy(ref)
