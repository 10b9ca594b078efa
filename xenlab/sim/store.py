"""The object store: {class: {ref: record}} with XenAPI's generic methods.

Every class gets get_all, get_all_records, get_all_records_where, get_record,
get_by_uuid, get_by_name_label, get_<field>, set_<field>, add_to_<field> and
remove_from_<field> for free: new kinds of objects are new records, not code.
"""

from __future__ import annotations

import re
import uuid as uuidlib

NULL_REF = "OpaqueRef:NULL"


class Failure(Exception):
    """A XenAPI failure: the code and parameters of ErrorDescription."""

    def __init__(self, code: str, *params):
        super().__init__(code, *params)
        self.description = [code] + [str(p) for p in params]


def new_ref() -> str:
    return f"OpaqueRef:{uuidlib.uuid4()}"


def new_uuid() -> str:
    return str(uuidlib.uuid4())


# `field "IP"="10.0.0.1" and field "management"="true"`: the subset of XAPI's
# expression language that clients use to find records (os-xenapi finds a PIF by IP).
_TERM = re.compile(r'\s*field\s*"([^"]+)"\s*=\s*"([^"]*)"\s*(?:and\s*|$)')


def parse_where(expr: str) -> list[tuple[str, str]]:
    terms, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TERM.match(expr, pos)
        if not m:
            raise Failure("SYNTAX_ERROR", expr)
        terms.append((m.group(1), m.group(2)))
        pos = m.end()
    return terms


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Store:
    def __init__(self):
        self.classes: dict[str, dict[str, dict]] = {}

    # ------------------------------------------------------------ records

    def add(self, cls: str, record: dict, ref: str | None = None) -> str:
        ref = ref or new_ref()
        record.setdefault("uuid", new_uuid())
        self.classes.setdefault(cls, {})[ref] = record
        return ref

    def remove(self, cls: str, ref: str) -> None:
        self.classes.get(cls, {}).pop(ref, None)

    def record(self, cls: str, ref: str) -> dict:
        try:
            return self.classes[cls][ref]
        except KeyError:
            raise Failure("HANDLE_INVALID", cls, ref) from None

    def find(self, cls: str, **fields) -> list[str]:
        return [ref for ref, rec in self.classes.get(cls, {}).items()
                if all(rec.get(k) == v for k, v in fields.items())]

    # ------------------------------------------------------------ generic API

    def method(self, cls: str, name: str):
        """The generic handler for `cls.name`, or None. Handlers take the
        call's parameters after the session reference."""
        if cls not in self.classes:
            return None
        fixed = {
            "get_all": lambda: list(self.classes[cls]),
            "get_all_records": lambda: dict(self.classes[cls]),
            "get_all_records_where": lambda expr: self._where(cls, expr),
            "get_record": lambda ref: self.record(cls, ref),
            "get_by_uuid": lambda uuid: self._by_uuid(cls, uuid),
            "get_by_name_label": lambda label: self.find(cls, name_label=label),
        }
        if name in fixed:
            return fixed[name]
        for prefix, make in (("get_", self._getter), ("set_", self._setter),
                             ("add_to_", self._adder), ("remove_from_", self._remover)):
            if name.startswith(prefix) and self._has_field(cls, name[len(prefix):]):
                return make(cls, name[len(prefix):])
        return None

    def _has_field(self, cls: str, field: str) -> bool:
        return any(field in rec for rec in self.classes[cls].values())

    def _getter(self, cls, field):
        return lambda ref: self.record(cls, ref)[field]

    def _setter(self, cls, field):
        def set_(ref, value):
            self.record(cls, ref)[field] = value
            return ""
        return set_

    def _adder(self, cls, field):
        def add_to(ref, key, value):
            target = self.record(cls, ref)[field]
            if key in target:
                raise Failure("MAP_DUPLICATE_KEY", cls, field, ref, key)
            target[key] = value
            return ""
        return add_to

    def _remover(self, cls, field):
        def remove_from(ref, key):
            self.record(cls, ref)[field].pop(key, None)
            return ""
        return remove_from

    def _by_uuid(self, cls: str, uuid: str) -> str:
        refs = self.find(cls, uuid=uuid)
        if not refs:
            raise Failure("UUID_INVALID", cls, uuid)
        return refs[0]

    def _where(self, cls: str, expr: str) -> dict:
        terms = parse_where(expr)
        return {ref: rec for ref, rec in self.classes[cls].items()
                if all(_as_text(rec.get(k, "")) == v for k, v in terms)}
