"""XAPI's expression language for `<class>.get_all_records_where`.

    field "IP"="10.0.0.1" and not (field "management"="true" or true)

Grammar, tokens and precedence as xapi-project/xen-api ocaml/database/db_filter_lex.mll
and db_filter_parse.mly give them: `and` and `or` share one precedence, left to
right; `not` binds looser than both, so `not a and b` is `not (a and b)`. A
malformed expression is INVALID_VALUE [expr, exception] (ocaml/xapi/exnHelper.ml
Expression_error); comparing a column a record does not have is
INTERNAL_ERROR ["missing field", name, ""] (ocaml/database/db_cache_types.ml).
"""

from __future__ import annotations

from .failure import Failure

PARSE_ERROR = "Parsing.Parse_error"
# XAPI's parser is table-driven and takes any nesting; this one recurses, so it
# refuses (as unparseable) nesting deeper than this, as no real client writes.
MAX_NESTING = 100
LEX_ERROR = 'Failure("lexing: empty token")'
KEYWORDS = ("true", "false", "field", "and", "or", "not")

# Fields inside a datamodel namespace are stored as <namespace>__<field> (XAPI's
# database column names, e.g. `field "name__label"`); the rest keep their API name.
NAMESPACED = {
    "name_label": "name__label", "name_description": "name__description",
    "memory_static_max": "memory__static_max", "memory_static_min": "memory__static_min",
    "memory_dynamic_max": "memory__dynamic_max", "memory_dynamic_min": "memory__dynamic_min",
    "VCPUs_params": "VCPUs__params", "VCPUs_max": "VCPUs__max", "VCPUs_at_startup": "VCPUs__at_startup",
    "PV_bootloader": "PV__bootloader", "PV_kernel": "PV__kernel", "PV_ramdisk": "PV__ramdisk",
    "PV_args": "PV__args", "PV_bootloader_args": "PV__bootloader_args", "PV_legacy_args": "PV__legacy_args",
    "HVM_boot_policy": "HVM__boot_policy", "HVM_boot_params": "HVM__boot_params",
    "HVM_shadow_multiplier": "HVM__shadow_multiplier",
    "actions_after_shutdown": "actions__after_shutdown", "actions_after_reboot": "actions__after_reboot",
    "actions_after_crash": "actions__after_crash", "actions_after_softreboot": "actions__after_softreboot",
    "API_version_major": "API_version__major", "API_version_minor": "API_version__minor",
    "API_version_vendor": "API_version__vendor",
    "API_version_vendor_implementation": "API_version__vendor_implementation",
}
COLUMN_TO_FIELD = {column: field for field, column in NAMESPACED.items()}


def column_field(column: str) -> str | None:
    """The API field a database column holds (None for a namespaced field's bare API name)."""
    if column in COLUMN_TO_FIELD:
        return COLUMN_TO_FIELD[column]
    if column in NAMESPACED:
        return None
    return column


def _tokens(expr: str):
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in " \t\n":
            i += 1
        elif c in "=()":
            yield c, None
            i += 1
        elif c == '"':
            end = expr.find('"', i + 1)
            if end < 0:
                raise Failure("INVALID_VALUE", expr, LEX_ERROR)
            yield "ident", expr[i + 1:end]
            i = end + 1
        else:
            for word in KEYWORDS:
                if expr.startswith(word, i):
                    yield word, None
                    i += len(word)
                    break
            else:
                raise Failure("INVALID_VALUE", expr, LEX_ERROR)
    yield "eof", None


class _Parser:
    def __init__(self, expr: str):
        self.expr = expr
        self.tokens = list(_tokens(expr))
        self.pos = 0
        self.depth = 0

    def peek(self) -> str:
        return self.tokens[self.pos][0]

    def take(self, kind: str):
        token, value = self.tokens[self.pos]
        if token != kind:
            raise Failure("INVALID_VALUE", self.expr, PARSE_ERROR)
        self.pos += 1
        return value

    def parse(self):
        tree = self.chain()
        self.take("eof")
        return tree

    def chain(self):
        left = self.unary()
        while self.peek() in ("and", "or"):
            op = self.peek()
            self.pos += 1
            left = (op, left, self.unary())
        return left

    def nested(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise Failure("INVALID_VALUE", self.expr, PARSE_ERROR)
        inner = self.chain()
        self.depth -= 1
        return inner

    def unary(self):
        if self.peek() == "not":
            self.pos += 1
            return ("not", self.nested())
        return self.primary()

    def primary(self):
        kind = self.peek()
        if kind in ("true", "false"):
            self.pos += 1
            return (kind,)
        if kind == "(":
            self.pos += 1
            inner = self.nested()
            self.take(")")
            return inner
        left = self.value()
        self.take("=")
        return ("eq", left, self.value())

    def value(self):
        if self.peek() == "field":
            self.pos += 1
            return ("field", self.take("ident"))
        return ("literal", self.take("ident"))


def parse(expr: str):
    """The expression tree: ("eq", a, b), ("and"|"or", x, y), ("not", x), ("true",), ("false",)."""
    return _Parser(expr).parse()


def evaluate(tree, lookup) -> bool:
    """Evaluate `tree` for one record; `lookup(column)` gives a field's database text.

    Iterative over and/or chains (a long expression is a deep left spine)."""
    kind = tree[0]
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind == "not":
        return not evaluate(tree[1], lookup)
    if kind == "eq":
        def value(v):
            return lookup(v[1]) if v[0] == "field" else v[1]
        return value(tree[1]) == value(tree[2])
    # A left spine of and/or: evaluate from the bottom up, short-circuiting as OCaml's && and || do.
    spine = []
    node = tree
    while node[0] in ("and", "or"):
        spine.append(node)
        node = node[1]
    result = evaluate(node, lookup)
    for op in reversed(spine):
        if op[0] == "and":
            result = result and evaluate(op[2], lookup)
        else:
            result = result or evaluate(op[2], lookup)
    return result
