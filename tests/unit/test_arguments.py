"""Arguments that parse safely: a bad number is one ParseError, a repeatable path may come bare."""

import pytest
from invoke import Collection, ParseError, task
from invoke.parser import Parser

from xenlab.arguments import HelpWanted, Paths, WholeNumber, XTask


@task(klass=XTask, iterable=["path"], positional=["path"])
def check(c, path=None, port=8080, json=False):
    pass


def parse(*argv):
    (ctx,) = Parser(contexts=Collection(check).to_contexts()).parse_argv(["check", *argv])
    return ctx.as_kwargs


def test_int_options_take_ascii_whole_numbers_only():
    assert parse("a", "--port", "8081")["port"] == 8081
    assert parse("a", "--port", "-1")["port"] == -1
    for bad in ("abc", "1.5", " 1", "٣", "", "0x10", "1" * 19):
        with pytest.raises(ParseError, match=f"--port takes a whole number, not {bad!r}"):
            parse("a", "--port", bad)


def test_the_first_path_may_come_bare_the_others_by_option():
    assert parse("local.conf")["path"] == ["local.conf"]
    assert parse("local.conf", "--path", "nova.conf")["path"] == ["local.conf", "nova.conf"]
    assert parse("--path", "a", "--path", "b")["path"] == ["a", "b"]
    assert parse("--path", "a", "--json") == {"path": ["a"], "port": 8080, "json": True}


def test_no_path_at_all_is_a_parse_error():
    with pytest.raises(ParseError, match="did not receive required positional arguments: 'path'"):
        parse()


def test_the_classes_are_the_ones_tasks_get():
    kinds = {arg.name: type(arg) for arg in check.get_arguments()}
    assert kinds["path"] is Paths and kinds["port"] is WholeNumber


def test_a_bare_option_is_not_taken_for_a_path():
    # invoke offers bare words to a positional argument before it looks at --help.
    with pytest.raises(HelpWanted, match="put it first") as wanted:
        parse("--help")
    assert wanted.value.task == "check"
    with pytest.raises(ParseError, match="No idea what '--bogus' is"):
        parse("--bogus")
    assert parse("./-x")["path"] == ["./-x"]
