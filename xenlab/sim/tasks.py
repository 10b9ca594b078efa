"""Tasks and events: what a client that waits on XAPI uses.

xapi-project/xen-api ocaml/xapi (v26.1.4):
- xapi_task.ml create (a pending task of this session, resident on this host), destroy
  (a completed task goes; one still pending is marked for destruction), cancel (a
  pending task becomes cancelling; the simulator's operations never stay pending, so
  a task that is not a client's own completes as cancelled at once).
- xapi_event.ml from: the objects of the subscribed classes ("*", "vm", "vm/<ref>")
  changed since the token, as {events, valid_ref_counts, token}; a token is
  "%020d,%020d"; one that does not parse is EVENT_FROM_TOKEN_PARSE_FAILURE; an empty
  answer waits up to `timeout` seconds for a change (the simulator bounds the wait).
"""

from __future__ import annotations

import time
import xmlrpc.client

from . import xapitypes
from .failure import Failure
from .registry import F, P, S, message, ref
from .store import NULL_REF

MAX_EVENT_WAIT = 60.0  # seconds one event.from may hold its connection (XAPI: up to the timeout given)


def _now() -> xmlrpc.client.DateTime:
    return xmlrpc.client.DateTime(time.gmtime())


@message("task.create", P("label", S), P("description", S))
def task_create(api, label, description):
    session = api.current_session
    task = api.store.add("task", {
        "name_label": label, "name_description": description, "allowed_operations": ["cancel"],
        "current_operations": {}, "created": _now(), "finished": xmlrpc.client.DateTime("19700101T00:00:00Z"),
        "status": "pending", "resident_on": api.refs["host"], "progress": 0.0, "type": "<none/>", "result": "",
        "error_info": [], "other_config": {}, "subtask_of": NULL_REF, "subtasks": [], "backtrace": "()",
    })
    if session in api.store.classes.get("session", {}):
        rec = api.store.record("session", session)
        rec["tasks"] = rec.get("tasks", []) + [task]
    return task


def _completed(rec: dict) -> bool:
    return rec.get("status") in ("success", "failure", "cancelled")


@message("task.destroy", ref("task"))
def task_destroy(api, task):
    rec = api.store.record("task", task)
    if _completed(rec):
        api.store.remove("task", task)
        for session in api.store.classes.get("session", {}).values():
            if task in session.get("tasks", []):
                session["tasks"] = [t for t in session["tasks"] if t != task]
    else:
        rec.setdefault("current_operations", {})["task"] = "destroy"
        api.store.changed("task", task)
    return ""


@message("task.cancel", ref("task", "task"))
def task_cancel(api, task):
    """A task the client made itself (task.create) is the client's to finish: it is marked
    cancelling; any other pending task is cancelled."""
    rec = api.store.record("task", task)
    if _completed(rec):
        raise Failure("OPERATION_NOT_ALLOWED", "task is already completed")
    rec["current_operations"] = {api.current_task(): "cancel"}
    api.store.update("task", task, status="cancelling")
    return ""


@message("task.set_status", ref("task"), P("value", S))
def task_set_status(api, task, value):
    status = xapitypes.Enum("pending", "success", "failure", "cancelling", "cancelled").check(value)
    fields = {"status": status}
    if status in ("success", "failure", "cancelled"):
        fields["finished"] = _now()
        fields["progress"] = 1.0
    api.store.update("task", task, **fields)
    if status != "pending" and api.store.record("task", task).get("current_operations", {}).get("task") == "destroy":
        api.store.remove("task", task)
    return ""


@message("task.set_progress", ref("task"), P("value", F))
def task_set_progress(api, task, value):
    api.store.update("task", task, progress=value)
    return ""


# ------------------------------------------------------------------ event.from


def _token(event_id: int) -> str:
    return "%020d,%020d" % (event_id, 0)


def _parse_token(token: str) -> int:
    """xapi_event.ml Token.of_string: "" or "<id>,<message generation>"."""
    if token == "":
        return 0
    parts = token.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        int(parts[1])
        return int(parts[0])
    except ValueError:
        raise Failure("EVENT_FROM_TOKEN_PARSE_FAILURE", token) from None


def _matches(classes: list[str], cls: str, ref_: str) -> bool:
    for sub in classes:
        if sub == "*":
            return True
        name, _, obj = sub.partition("/")
        if name.lower() == cls.lower() and (not obj or obj == ref_):
            return True
    return False


@message("event.from", P("classes", xapitypes.STRINGS), P("token", S), P("timeout", F))
def event_from(api, classes, token, timeout):
    since = _parse_token(token)
    deadline = time.monotonic() + max(0.0, min(timeout, MAX_EVENT_WAIT))
    while True:
        events, last = [], since
        for event_id, cls, ref_, op in api.store.events_since(since):
            last = max(last, event_id)
            if not _matches(classes, cls, ref_):
                continue
            event = {"id": str(event_id), "timestamp": "%.6f" % time.time(), "class": cls.lower(),
                     "operation": op, "ref": ref_}
            record = api.store.classes.get(cls, {}).get(ref_)
            if op != "del" and record is not None:
                event["snapshot"] = dict(record)
            events.append(event)
        if events or time.monotonic() >= deadline:
            last = max(last, api.store.event_id)
            counts = {}
            for sub in classes:
                name = sub.partition("/")[0]
                for cls in api.store.classes:
                    if name == "*" or name.lower() == cls.lower():
                        counts[cls.lower()] = len(api.store.classes[cls])
            return {"events": events, "valid_ref_counts": counts, "token": _token(last)}
        api.wait_for_change(deadline - time.monotonic())
