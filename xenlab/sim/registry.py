"""The table of XenAPI messages with behaviour of their own, and how a module adds to it.

Each message is registered with its parameters' wire types, in the order XAPI's
datamodel gives them (xapi-project/xen-api ocaml/idl/datamodel*.ml); the handler
gets the Api and the unmarshalled parameters (after the session). The modules that
register are messages.py (host, PIF, SR, pool), storage.py (VDI, SR.scan), vm.py
(VM), devices.py (VBD, VIF, network) and tasks.py (task, event); api.py dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import xapitypes

_MISSING = object()


@dataclass(frozen=True)
class Param:
    name: str
    type: xapitypes.Type
    default: object = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING


@dataclass(frozen=True)
class Message:
    name: str
    fn: Callable
    params: tuple[Param, ...]
    session: bool = True  # the first wire parameter is a session reference
    readonly: bool = False

    @property
    def required(self) -> int:
        return sum(1 for p in self.params if p.required)


MESSAGES: dict[str, Message] = {}


def message(name: str, *params: Param, session: bool = True, readonly: bool = False):
    def register(fn):
        MESSAGES[name] = Message(name, fn, params, session, readonly)
        return fn
    return register


def P(name, type_, default=_MISSING) -> Param:
    return Param(name, type_, default)


def ref(cls: str, name: str = "self") -> Param:
    return Param(name, xapitypes.Ref(cls))


S, B, I, M, F = xapitypes.STRING, xapitypes.BOOL, xapitypes.INT, xapitypes.MAP, xapitypes.FLOAT
RECORD = xapitypes.Record()
