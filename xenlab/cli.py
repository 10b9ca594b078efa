"""`xenlab` and the checkout's `invoke`: invoke's Program, whose every command-line mistake,
core options included, is a usage error (exit 2, one line). invoke parses its core options
before it loads tasks.py, so only the binary can own them: `invoke` is this Program too."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from invoke import Exit, ParseError, Program
from invoke import __version__ as invoke_version

from . import __version__
from .arguments import HelpWanted, parsed_safely
from .collection import ns
from .core.files import read_text
from .errors import EXIT_CONFIG, XenlabError

# invoke names a flag by its repr: "Flag <Argument: pool_size (o)> needed value ..."
_ARGUMENT = re.compile(r"<\w+: (\w+)[^>]*>")
LIST_FORMATS = ("flat", "nested", "json")  # Program.list_<format>


def _usage_errors(step):
    """A Program step whose failures are the command line's: a ParseError, a bad -f file,
    or invoke's Exit with a message and code 1 (`-c nosuch`, `-l nosuch`, `-D 1 -F json -l`)."""

    @functools.wraps(step)
    def checked(self, *args):
        try:
            return step(self, *args)
        except HelpWanted as wanted:
            self.print_task_help(wanted.task)
            raise Exit(code=0) from None
        except (ParseError, XenlabError) as exc:
            raise self.usage_error(getattr(exc, "message", str(exc)), getattr(exc, "context", None)) from None
        except Exit as exc:
            if exc.message and exc.code == 1:
                raise self.usage_error(exc.message) from None
            raise

    return checked


class XenlabProgram(Program):
    def core_args(self):
        return parsed_safely(super().core_args())

    parse_core = _usage_errors(Program.parse_core)
    parse_collection = _usage_errors(Program.parse_collection)
    parse_tasks = _usage_errors(Program.parse_tasks)
    parse_cleanup = _usage_errors(Program.parse_cleanup)

    @_usage_errors
    def update_config(self, merge: bool = True) -> None:
        path = self.args.config.value or os.environ.get("INVOKE_RUNTIME_CONFIG")
        if path:  # before invoke opens it: a FIFO would block it, a directory be a traceback
            read_text(Path(path), f"--config {path}", 2**20)
        if self.args["prompt-for-sudo-password"].value and not os.isatty(0):
            raise ParseError("--prompt-for-sudo-password needs a terminal to ask on")
        try:
            super().update_config(merge)
        except EOFError:  # Ctrl-D at the prompt
            raise ParseError("--prompt-for-sudo-password: no password given") from None
        except Exception as exc:  # the file's kind, or its YAML, JSON or Python (which invoke runs)
            raise ParseError(f"{'--config ' + path if path else 'invoke configuration'}: cannot load it: {exc}") \
                from None

    def list_tasks(self) -> None:
        if self.list_format not in LIST_FORMATS:
            raise ParseError(f"--list-format takes {', '.join(LIST_FORMATS)}, not {self.list_format!r}")
        super().list_tasks()

    def usage_error(self, text: str, task=None) -> Exit:
        binary = self.called_as or self.binary
        text = _ARGUMENT.sub(lambda m: "--" + m.group(1).replace("_", "-"), text.removeprefix("config error: "))
        text = re.sub(r"^Flag (--\S+) needed value and was not given one!$", r"\1 needs a value", text)
        see = f"{binary} {task.name} --help" if getattr(task, "name", None) else f"{binary} --help"
        return Exit(f"{binary}: {' '.join(text.split()).rstrip('!')} (see `{see}`)", code=EXIT_CONFIG)


program = XenlabProgram(namespace=ns, name="xenlab", binary="xenlab", version=__version__)
# The checkout's `invoke` and `inv` (pyproject.toml), saying whose command line they are.
invoke_program = XenlabProgram(name="Invoke", binary="inv[oke]", binary_names=["invoke", "inv"],
                               version=f"{invoke_version} (xenlab {__version__}'s command line)")
