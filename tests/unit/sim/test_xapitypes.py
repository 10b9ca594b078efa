import xmlrpc.client

import pytest

from xenlab.sim import xapitypes as wire
from xenlab.sim.failure import Failure


def deep(depth):
    value = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def failure_text(type_, value):
    with pytest.raises(Failure) as exc:
        type_.check(value)
    assert exc.value.code == "INTERNAL_ERROR"
    return exc.value.description[1]


def test_values_render_as_rpclib_prints_them():
    assert wire.rpc_repr([1, "a", True, 1.5, None, {"k": "v"}]) == "[I(1);S(a);B(true);F(1.5);N;{k:S(v)}]"
    assert wire.rpc_repr(xmlrpc.client.Binary(b"hi")) == "B64(hi)"
    assert wire.rpc_repr(xmlrpc.client.DateTime("20240101T00:00:00Z")) == "D(20240101T00:00:00Z)"


def test_a_value_nested_thousands_deep_renders_bounded_without_recursion():
    text = wire.rpc_repr(deep(5000))
    assert text.startswith("{a:{a:") and text.endswith("...") and len(text) <= wire.MAX_ECHO + 3


def test_wrong_types_fail_with_rpclibs_failure_text():
    assert failure_text(wire.STRING, 1) == 'Failure("Expected string, got \'I(1)\'")'
    assert failure_text(wire.STRING, ["a", "b"]) == 'Failure("Expected string, got \'[S(a);S(b)]\'")'
    assert failure_text(wire.BOOL, "true") == 'Failure("Expected bool, got \'S(true)\'")'
    assert failure_text(wire.MAP, []) == 'Failure("Expecting Rpc.Dict, but found \'[]\'")'
    assert failure_text(wire.STRINGS, "a") == 'Failure("Expecting Rpc.Enum, but found \'S(a)\'")'
    assert failure_text(wire.INT, "12x") == 'Failure("Int64.of_string")'
    assert failure_text(wire.Enum("None", "DHCP"), "dynamic") == 'Failure("Unknown tag/contents")'


def test_a_map_refuses_nested_values_so_nothing_deep_is_stored():
    assert failure_text(wire.MAP, deep(3000)).startswith('Failure("Expected string, got \'{a:{a:')


def test_accepted_values_are_normalised():
    assert wire.INT.check("42") == 42 and wire.INT.check(7) == 7
    assert wire.Enum("None", "DHCP", "Static").check("dhcp") == "DHCP"
    assert wire.FLOAT.check(2) == 2.0
    assert wire.MAP.check({"a": "b"}) == {"a": "b"}


def test_ocaml_quoting_escapes_like_printexc():
    assert wire.ocaml_quoted('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\001\\195\\169"'


def test_int64_values_go_out_as_strings():
    assert wire.to_wire({"a": 1, "b": [2, True], "c": None}) == {"a": "1", "b": ["2", True], "c": None}


def test_database_text_of_sets_and_maps_is_xapis_sexpression():
    assert wire.BOOL.db_text(True) == "true"
    assert wire.STRINGS.db_text(["a", "b'c"]) == "('a' 'b\\'c')"
    assert wire.MAP.db_text({"k": "v"}) == "(('k' 'v'))"
