"""Arguments that parse safely, for the tasks and the program (xenlab/cli.py): invoke
casts an int option with int() (a bad one was a traceback), and cannot take a
repeatable option's first value bare (`check-config local.conf --path nova.conf`).
"""

from __future__ import annotations

import re

from invoke import Argument, ParseError, Task


class WholeNumber(Argument):
    """An int option, in ASCII digits: anything else is a parse error (one line), not a ValueError."""

    def set_value(self, value, cast=True):
        if cast and not re.fullmatch(r"-?[0-9]{1,18}", str(value)):
            raise ParseError(f"--{self.names[0]} takes a whole number, not {value!r}")
        super().set_value(value, cast)


class HelpWanted(ParseError):
    """`check-config --help`: invoke offers a bare word to a positional argument before
    it looks at core options, so it would read a file called --help."""

    def __init__(self, task: str):
        super().__init__(f"--help after {task} reads as a file: put it first (`--help {task}`)")
        self.task = task


class Paths(Argument):
    """A repeatable option whose first value may come bare. invoke fills a positional
    argument while its value is None (a list starts as [], so never): this one starts as
    None. A bare word that starts with `-` is an unknown option, not a file (`./-x` is)."""

    def __init__(self, task: str = "", **kwargs):
        super().__init__(**{**kwargs, "kind": list, "default": None, "positional": True})
        self.raw_value = self._value = None
        self.task = task

    def set_value(self, value, cast=True):
        if str(value) in ("-h", "--help"):
            raise HelpWanted(self.task)
        if str(value).startswith("-") and self._value is None:
            raise ParseError(f"No idea what {value!r} is!")
        self.raw_value = value
        self._value = [*(self._value or []), value]


def parsed_safely(args: list[Argument], task: str = "") -> list[Argument]:
    """int options as WholeNumbers, positional lists as Paths; the others as they are."""
    out = []
    for arg in args:
        opts = {"names": arg.names, "help": arg.help, "attr_name": arg.attr_name, "optional": arg.optional}
        if arg.kind is list and arg.positional:
            arg = Paths(task=task, **opts)
        elif arg.kind is int and not arg.incrementable:
            arg = WholeNumber(**opts, kind=int, default=arg.default, positional=arg.positional)
        out.append(arg)
    return out


class XTask(Task):
    """A task whose arguments parse safely (see parsed_safely)."""

    def get_arguments(self, ignore_unknown_help=None):
        return parsed_safely(super().get_arguments(ignore_unknown_help), self.name.replace("_", "-"))
