"""The `xenlab` console script: the same tasks as `invoke` in a checkout.

Its one difference: a command line invoke cannot parse (an unknown task or
option, an option without its value, a word where a number goes) is a usage
error, exit 2 with one line, as xenlab's own argument errors are. `invoke` in a
checkout runs invoke's own Program, which prints the same line and exits 1: the
top-level tasks.py is only a collection it loads, with no say in how its parse
errors end (short of patching invoke's Program class in place).
"""

import re

from invoke import Exit, ParseError, Program

from . import __version__
from .errors import EXIT_CONFIG
from .arguments import HelpWanted, parsed_safely
from .tasks import ns

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
        try:
            super().parse_tasks()
        except HelpWanted as wanted:
            self.print_task_help(wanted.task)
            raise Exit(code=0) from None
        except ParseError as exc:
            raise usage_error(exc, self.binary) from None


program = XenlabProgram(namespace=ns, name="xenlab", binary="xenlab", version=__version__)


def main() -> None:
    program.run()
