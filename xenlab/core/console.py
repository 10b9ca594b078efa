"""Progress output: stage headers, elapsed times, warnings.

Everything the user sees goes through here, so one place decides the format and
one place scrubs secrets (`redact`) before anything is printed or logged.
"""

import sys
import time
from contextlib import contextmanager

_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret so that `redact` hides it from every later message."""
    if value:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "********")
    return text


def shown(value, limit: int = 120) -> str:
    """A path or value fit for a one-line message: long ones keep their ends."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]}"


def say(message: str) -> None:
    print(redact(message), flush=True)


def warn(message: str) -> None:
    print(f"warning: {redact(message)}", file=sys.stderr, flush=True)


def header(title: str) -> None:
    say(f"==> {title}")


@contextmanager
def stage(title: str):
    """Print a header, run the body, then print how long it took."""
    header(title)
    started = time.monotonic()
    try:
        yield
    finally:
        say(f"<== {title} ({time.monotonic() - started:.1f} s)")
