"""The `xenlab` console script: the same tasks as `invoke` in a checkout.

Its one difference: a command line invoke cannot parse (an unknown task or
option, an option without its value, a word where a number goes) is a usage
error, exit 2 with one line, as xenlab's own argument errors are. `invoke` in a
checkout runs invoke's own Program, which ends a parse error with exit 1; the
top-level tasks.py hands that running program the same rule for the task part of
the command line (`usage_errors_exit_2`). A bad value for one of invoke's own core
options (`invoke -T abc`, `invoke -c`), parsed before tasks.py loads, still ends
the invoke way there (exit 1; a traceback for a non-number).
"""

from __future__ import annotations

import re

from invoke import Exit, ParseError, Program

from . import __version__
from .errors import EXIT_CONFIG
from .arguments import HelpWanted, parsed_safely
from .collection import ns

# invoke names a flag by its repr: "Flag <Argument: pool_size (o)> needed value ..."
_ARGUMENT = re.compile(r"<\w+: (\w+)[^>]*>")


def usage_error(exc: ParseError, binary: str) -> Exit:
    text = _ARGUMENT.sub(lambda m: "--" + m.group(1).replace("_", "-"), str(exc))
    text = re.sub(r"^Flag (--\S+) needed value and was not given one!$", r"\1 needs a value", text)
    task = getattr(exc.context, "name", None)
    see = f"{binary} {task} --help" if task else f"{binary} --help"
    return Exit(f"{binary}: {text.rstrip('!')} (see `{see}`)", code=EXIT_CONFIG)


class XenlabProgram(Program):
    """invoke's Program, whose parse errors are usage errors (exit 2)."""

    def core_args(self):
        return parsed_safely(super().core_args())

    def parse_core(self, argv):
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise usage_error(exc, self.binary) from None

    def parse_tasks(self):
        tasks_parsed(self, super().parse_tasks, self.binary)


def tasks_parsed(program: Program, parse, binary: str) -> None:
    """Run a Program's task parse; its parse errors become usage errors (exit 2)."""
    try:
        parse()
    except HelpWanted as wanted:
        program.print_task_help(wanted.task)
        raise Exit(code=0) from None
    except ParseError as exc:
        raise usage_error(exc, binary) from None


def usage_errors_exit_2(running: Program | None) -> None:
    """Give invoke's own running Program (the `invoke` binary, loading tasks.py) xenlab's
    rule for the task part of the command line, which it parses after loading us."""
    if running is None or isinstance(running, XenlabProgram) or "parse_tasks" in vars(running):
        return
    parse = running.parse_tasks
    running.parse_tasks = lambda: tasks_parsed(running, parse, running.called_as)


program = XenlabProgram(namespace=ns, name="xenlab", binary="xenlab", version=__version__)


def main() -> None:
    program.run()
