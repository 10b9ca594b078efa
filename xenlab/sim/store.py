"""The object store: {class: {ref: record}} with XenAPI's generic methods.

Every class gets get_all, get_all_records, get_all_records_where, get_record,
get_by_uuid, get_by_name_label, get_<field>, and for read/write fields set_<field>,
add_to_<map>/remove_from_<map> and add_<set>/remove_<set>: new kinds of objects are
new records, not code. Every method declares its parameters' wire types (xapitypes.py),
so a value of the wrong shape is refused as XAPI refuses it and never stored.

A store made with `schema=True` knows XenAPI's classes and the modelled fields'
types (schema.py); a bare Store() knows what its records hold, typed by value.
"""

from __future__ import annotations

import collections
import uuid as uuidlib

from . import schema as schema_mod
from . import where as where_mod
from . import xapitypes
from .failure import Failure

NULL_REF = xapitypes.NULL_REF
# Classes whose records live only while the simulator runs (never in --state-db).
TRANSIENT = frozenset({"session", "task", "event"})
MAX_EVENTS = 4096  # changes event.from can still report (XAPI keeps a bounded queue too)


def new_ref() -> str:
    return f"OpaqueRef:{uuidlib.uuid4()}"


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def parse_where(expr: str):
    """The tree of a get_all_records_where expression (see where.py)."""
    return where_mod.parse(expr)


class Method:
    """A generic method: callable with the call's parameters after the session."""

    def __init__(self, fn, params: tuple = (), readonly: bool = True):
        self.fn = fn
        self.params = params  # ((name, xapitypes.Type), ...)
        self.readonly = readonly

    def __call__(self, *args):
        return self.fn(*args)


class Store:
    def __init__(self, schema: bool = False):
        self.classes: dict[str, dict[str, dict]] = {}
        self.schema = schema
        if schema:
            for cls in schema_mod.CLASSES:
                self.classes[cls] = {}
        self.generation = 0  # bumped by every change to a persistent class
        self.event_id = 0  # bumped by every change, for event.from
        self.events: collections.deque = collections.deque(maxlen=MAX_EVENTS)

    # ------------------------------------------------------------ records

    def changed(self, cls: str, ref: str | None = None, op: str = "mod") -> None:
        if cls not in TRANSIENT:
            self.generation += 1
        if cls != "session":
            self.event_id += 1
            self.events.append((self.event_id, cls, ref or "", op))

    def events_since(self, event_id: int) -> list[tuple]:
        """(id, class, ref, add|mod|del) of each change after `event_id` (EVENTS_LOST if forgotten)."""
        if self.events and event_id < self.events[0][0] - 1 and event_id < self.event_id - MAX_EVENTS:
            raise Failure("EVENTS_LOST")
        return [e for e in self.events if e[0] > event_id]

    def add(self, cls: str, record: dict, ref: str | None = None) -> str:
        ref = ref or new_ref()
        if self.schema:
            record = {**schema_mod.defaults(cls), **record}
        if not record.get("uuid"):
            record["uuid"] = new_uuid()
        self.classes.setdefault(cls, {})[ref] = record
        self.changed(cls, ref, "add")
        return ref

    def remove(self, cls: str, ref: str) -> None:
        if self.classes.get(cls, {}).pop(ref, None) is not None:
            self.changed(cls, ref, "del")

    def record(self, cls: str, ref: str) -> dict:
        try:
            return self.classes[cls][ref]
        except (KeyError, TypeError):
            raise Failure("HANDLE_INVALID", cls, ref) from None

    def update(self, cls: str, ref: str, **fields) -> dict:
        rec = self.record(cls, ref)
        rec.update(fields)
        self.changed(cls, ref)
        return rec

    def find(self, cls: str, **fields) -> list[str]:
        return [ref for ref, rec in self.classes.get(cls, {}).items()
                if all(rec.get(k) == v for k, v in fields.items())]

    def by_uuid(self, cls: str, uuid: str) -> str:
        refs = self.find(cls, uuid=uuid)
        if not refs:
            raise Failure("UUID_INVALID", cls, uuid)
        return refs[0]

    def knows(self, cls: str) -> bool:
        return cls in self.classes

    # ------------------------------------------------------------ field types

    def field(self, cls: str, name: str) -> schema_mod.Field | None:
        """The field's declaration (a schema field, or one inferred from the records)."""
        declared = schema_mod.fields(cls).get(name) if self.schema else None
        if declared:
            return declared
        for rec in self.classes.get(cls, {}).values():
            if name in rec:
                # Fields outside the schema are read-only in a schema store.
                return schema_mod.Field(name, xapitypes.infer(rec[name]), rw=not self.schema)
        return None

    def db_text(self, cls: str, rec: dict, column: str) -> str:
        name = where_mod.column_field(column)
        if name is None or name not in rec:
            raise Failure("INTERNAL_ERROR", "missing field", column, "")
        declared = self.field(cls, name)
        return (declared.type if declared else xapitypes.infer(rec[name])).db_text(rec[name])

    # ------------------------------------------------------------ generic API

    def method(self, cls: str, name: str) -> Method | None:
        """The generic method `cls.name`, or None."""
        if not self.knows(cls):
            return None
        self_ = ("self", xapitypes.Ref(cls))
        if name == "get_all":
            return Method(lambda: list(self.classes[cls]))
        if name == "get_all_records":
            return Method(lambda: dict(self.classes[cls]))
        if name == "get_all_records_where":
            return Method(lambda expr: self._where(cls, expr), (("expr", xapitypes.STRING),))
        if name == "get_record":
            return Method(lambda ref: self.record(cls, ref), (self_,))
        if name == "get_by_uuid":
            return Method(lambda uuid: self.by_uuid(cls, uuid), (("uuid", xapitypes.STRING),))
        if name == "get_by_name_label" and self.field(cls, "name_label"):
            return Method(lambda label: self.find(cls, name_label=label), (("label", xapitypes.STRING),))
        for prefix in ("get_", "set_", "add_to_", "remove_from_", "add_", "remove_"):
            if name.startswith(prefix):
                made = self._field_method(cls, prefix, name[len(prefix):], self_)
                if made:
                    return made
        return None

    def _field_method(self, cls: str, prefix: str, name: str, self_) -> Method | None:
        field = self.field(cls, name)
        if field is None:
            return None
        kind = field.type
        if prefix == "get_":
            return Method(lambda ref: self._get(cls, ref, name, kind), (self_,))
        if not field.rw:
            return None
        if prefix == "set_":
            return Method(lambda ref, value: self._set(cls, ref, name, value), (self_, ("value", kind)), False)
        if isinstance(kind, xapitypes.Map) and prefix == "add_to_":
            return Method(lambda ref, key, value: self._map_add(cls, ref, name, key, value),
                          (self_, ("key", xapitypes.STRING), ("value", xapitypes.STRING)), False)
        if isinstance(kind, xapitypes.Map) and prefix == "remove_from_":
            return Method(lambda ref, key: self._map_remove(cls, ref, name, key),
                          (self_, ("key", xapitypes.STRING)), False)
        if isinstance(kind, xapitypes.Set) and prefix == "add_":
            return Method(lambda ref, value: self._set_add(cls, ref, name, value),
                          (self_, ("value", kind.element)), False)
        if isinstance(kind, xapitypes.Set) and prefix == "remove_":
            return Method(lambda ref, value: self._set_remove(cls, ref, name, value),
                          (self_, ("value", kind.element)), False)
        return None

    def _get(self, cls, ref, name, kind):
        rec = self.record(cls, ref)
        return rec[name] if name in rec else kind.default()

    def _set(self, cls, ref, name, value):
        self.record(cls, ref)[name] = value
        self.changed(cls, ref)
        return ""

    def _map_add(self, cls, ref, name, key, value):
        target = self.record(cls, ref).setdefault(name, {})
        if key == "":
            # ocaml/database/string_marshall_helper.ml ensure_nonempty
            raise Failure("INTERNAL_ERROR", "Db_exn.Empty_key_in_map")
        if key in target:
            raise Failure("MAP_DUPLICATE_KEY", cls, name, ref, key)
        target[key] = value
        self.changed(cls, ref)
        return ""

    def _map_remove(self, cls, ref, name, key):
        if self.record(cls, ref).setdefault(name, {}).pop(key, None) is not None:
            self.changed(cls, ref)
        return ""

    def _set_add(self, cls, ref, name, value):
        target = self.record(cls, ref).setdefault(name, [])
        if value not in target:
            target.append(value)
            self.changed(cls, ref)
        return ""

    def _set_remove(self, cls, ref, name, value):
        target = self.record(cls, ref).setdefault(name, [])
        if value in target:
            target.remove(value)
            self.changed(cls, ref)
        return ""

    def _where(self, cls: str, expr: str) -> dict:
        tree = where_mod.parse(expr)
        out = {}
        for ref, rec in self.classes[cls].items():
            if where_mod.evaluate(tree, lambda column: self.db_text(cls, rec, column)):
                out[ref] = rec
        return out
