"""XenAPI's wire types, checked the way XAPI checks them, and their failure texts.

XAPI unmarshals every parameter with rpclib before it runs a call, inside its
dispatcher's exception wrapper (xapi-project/xen-api ocaml/idl/ocaml_backend/gen_server.ml,
ocaml/xapi/server_helpers.ml dispatch_exn_wrapper). rpclib fails with OCaml's
`Failure` (mirage/ocaml-rpc src/lib/rpc.ml string_of_rpc, int64_of_rpc, ...;
ppx/ppx_deriving_rpc.ml for maps, sets and enums), which ocaml/xapi/exnHelper.ml
turns into INTERNAL_ERROR with Printexc's text. So a list where a string is
expected is answered

    ["INTERNAL_ERROR", "Failure(\\"Expected string, got '[S(a);S(b)]'\\")"]

and nothing nested deeper than a type allows is ever stored. Standard library only.
"""

from __future__ import annotations

import xmlrpc.client

from .failure import Failure

# XAPI echoes the whole offending value; the simulator echoes this much of it, so
# that an answer never grows with a hostile request.
MAX_ECHO = 256


class _Text(str):
    """A piece of output already rendered (a bracket or a separator)."""


def rpc_repr(value, limit: int = MAX_ECHO) -> str:
    """rpclib's Rpc.to_string of an XML-RPC value, cut at `limit` characters.

    Iterative, so a value nested thousands deep costs no recursion.
    """
    out: list[str] = []
    size = 0
    stack = [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, _Text):
            piece = str(item)
        elif isinstance(item, bool):
            piece = "B(true)" if item else "B(false)"
        elif isinstance(item, int):
            piece = f"I({item})"
        elif isinstance(item, float):
            piece = "F(%g)" % item
        elif isinstance(item, str):
            piece = f"S({item})"
        elif isinstance(item, xmlrpc.client.DateTime):
            piece = f"D({item.value})"
        elif isinstance(item, (xmlrpc.client.Binary, bytes, bytearray)):
            data = item.data if isinstance(item, xmlrpc.client.Binary) else bytes(item)
            piece = f"B64({data.decode('latin-1')})"
        elif item is None:
            piece = "N"
        elif isinstance(item, (list, tuple)):
            piece = "["
            stack.append(_Text("]"))
            for i, element in enumerate(reversed(item)):
                if i:
                    stack.append(_Text(";"))
                stack.append(element)
        elif isinstance(item, dict):
            piece = "{"
            stack.append(_Text("}"))
            for i, (key, element) in enumerate(reversed(list(item.items()))):
                if i:
                    stack.append(_Text(";"))
                stack.append(element)
                stack.append(_Text(f"{key}:"))
        else:
            piece = f"<{type(item).__name__}>"
        out.append(piece)
        size += len(piece)
    text = "".join(out)
    return text[:limit] + "..." if stack or len(text) > limit else text


def ocaml_quoted(text: str) -> str:
    """OCaml's %S: what Printexc prints for a Failure's message."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif char == "\b":
            out.append("\\b")
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def ocaml_failure(message: str) -> Failure:
    """XAPI's answer to an OCaml `Failure message` it did not expect."""
    return Failure("INTERNAL_ERROR", f"Failure({ocaml_quoted(message)})")


def _expected(what: str, value) -> Failure:
    return ocaml_failure(f"Expected {what}, got '{rpc_repr(value)}'")


class Type:
    """One XenAPI type: `check` returns the value to store or raises XAPI's Failure."""

    name = "?"

    def check(self, value):
        raise NotImplementedError

    def default(self):
        raise NotImplementedError

    def db_text(self, value) -> str:
        """The value as XAPI's database compares it in `field "x"="..."` expressions."""
        return str(value)


class String(Type):
    name = "string"

    def check(self, value):
        if isinstance(value, str):
            return value
        raise _expected("string", value)

    def default(self):
        return ""


class Int(Type):
    """int64: XML-RPC ints, and strings (XAPI sends int64 as strings; rpclib reads both)."""

    name = "int"

    def check(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = int(value.replace("_", ""), 0) if value.strip() == value else None
            except ValueError:
                number = None
            if number is None or not -2**63 <= number < 2**63:
                raise ocaml_failure("Int64.of_string")
            return number
        raise _expected("int64", value)

    def default(self):
        return 0


class Bool(Type):
    name = "bool"

    def check(self, value):
        if isinstance(value, bool):
            return value
        raise _expected("bool", value)

    def default(self):
        return False

    def db_text(self, value) -> str:
        return "true" if value else "false"


class Float(Type):
    name = "float"

    def check(self, value):
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ocaml_failure("float_of_string") from None
        raise _expected("float", value)

    def default(self):
        return 0.0


class DateTime(Type):
    name = "datetime"
    EPOCH = "19700101T00:00:00Z"

    def check(self, value):
        if isinstance(value, xmlrpc.client.DateTime):
            return value
        if isinstance(value, str):
            return xmlrpc.client.DateTime(value)
        raise _expected("DateTime", value)

    def default(self):
        return xmlrpc.client.DateTime(self.EPOCH)

    def db_text(self, value) -> str:
        return getattr(value, "value", str(value))


class Ref(String):
    """A reference: a string on the wire; whether it names a record is the handler's check."""

    def __init__(self, cls: str):
        self.cls = cls
        self.name = f"ref {cls}"

    def default(self):
        return NULL_REF


class Enum(Type):
    """Matched case-insensitively, stored as the datamodel spells it (ppx_deriving_rpc)."""

    def __init__(self, *values: str):
        self.values = values
        self.by_lower = {v.lower(): v for v in values}
        self.name = "enum " + "|".join(values)

    def check(self, value):
        if isinstance(value, str) and value.lower() in self.by_lower:
            return self.by_lower[value.lower()]
        raise ocaml_failure("Unknown tag/contents")

    def default(self):
        return self.values[0]


def _sexpr_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Set(Type):
    """A set of strings or references (a list on the wire)."""

    def __init__(self, element: Type):
        self.element = element
        self.name = f"{element.name} set"

    def check(self, value):
        if not isinstance(value, (list, tuple)):
            raise ocaml_failure(f"Expecting Rpc.Enum, but found '{rpc_repr(value)}'")
        return [self.element.check(v) for v in value]

    def default(self):
        return []

    def db_text(self, value) -> str:
        # ocaml/database/string_marshall_helper.ml set: an S-expression of strings.
        return "(" + " ".join(_sexpr_string(str(v)) for v in value) + ")"


class Map(Type):
    """A map of string to string (a struct on the wire)."""

    name = "(string -> string) map"

    def check(self, value):
        if not isinstance(value, dict):
            raise ocaml_failure(f"Expecting Rpc.Dict, but found '{rpc_repr(value)}'")
        return {str(k): STRING.check(v) for k, v in value.items()}

    def default(self):
        return {}

    def db_text(self, value) -> str:
        return "(" + " ".join(f"({_sexpr_string(k)} {_sexpr_string(str(v))})" for k, v in value.items()) + ")"


class Record(Type):
    """A record (a struct of typed fields on the wire), e.g. a constructor's argument."""

    name = "record"

    def check(self, value):
        if not isinstance(value, dict):
            raise ocaml_failure(f"Expecting Rpc.Dict, but found '{rpc_repr(value)}'")
        return value

    def default(self):
        return {}


NULL_REF = "OpaqueRef:NULL"
STRING, INT, BOOL, FLOAT, DATETIME = String(), Int(), Bool(), Float(), DateTime()
STRINGS, MAP = Set(STRING), Map()


def infer(value) -> Type:
    """The type of a field known only from a value in it (records outside the schema)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, dict):
        return MAP
    if isinstance(value, (list, tuple)):
        return STRINGS
    if isinstance(value, xmlrpc.client.DateTime):
        return DATETIME
    return STRING


def to_wire(value):
    """XAPI sends int64 values as strings; everything else as XML-RPC types."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value
