"""The `xenlab` console script: the same tasks as `invoke` in a checkout."""

from invoke import Program

from . import __version__
from .tasks import ns

program = Program(namespace=ns, name="xenlab", binary="xenlab", version=__version__)


def main() -> None:
    program.run()
