import pytest

from xenlab.sim import where
from xenlab.sim.failure import Failure

ROW = {"IP": "10.0.0.1", "management": "true", "name__label": "eth0"}


def ev(expr, row=ROW):
    return where.evaluate(where.parse(expr), row.__getitem__)


@pytest.mark.parametrize("expr, expected", [
    ('field "IP"="10.0.0.1"', True),
    ('"10.0.0.1"=field "IP"', True),
    ('field "IP"="10.0.0.2"', False),
    ("true", True),
    ("false", False),
    ('not field "IP"="10.0.0.2"', True),
    ('field "IP"="x" or field "management"="true"', True),
    ('(field "IP"="x" or true) and false', False),
    # and/or share a precedence, left to right; `not` takes the whole rest (db_filter_parse.mly)
    ("true or false and false", False),
    ("not true and false", True),
])
def test_expressions_evaluate_as_xapis_grammar_says(expr, expected):
    assert ev(expr) is expected


@pytest.mark.parametrize("expr, exc", [
    ('field "IP"=', where.PARSE_ERROR),
    ("true or", where.PARSE_ERROR),
    ("1", where.LEX_ERROR),
    ('field "IP', where.LEX_ERROR),
    ("(" * 200 + "true" + ")" * 200, where.PARSE_ERROR),
])
def test_malformed_expressions_are_invalid_value(expr, exc):
    with pytest.raises(Failure) as got:
        where.parse(expr)
    assert got.value.description == ["INVALID_VALUE", expr, exc]


def test_a_long_chain_evaluates_without_recursion():
    expr = " and ".join(['field "IP"="10.0.0.1"'] * 5000)
    assert ev(expr) is True


def test_namespaced_fields_have_double_underscore_columns():
    assert where.column_field("name__label") == "name_label"
    assert where.column_field("name_label") is None
    assert where.column_field("IP") == "IP"
