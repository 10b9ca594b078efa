"""Quoting for POSIX shells (sh, bash): the one rule, used wherever xenlab writes shell."""

from __future__ import annotations


def quote(value: str) -> str:
    """Single-quoted, so that the shell reads back exactly `value` (`'` as `'\\''`)."""
    return "'" + value.replace("'", "'\\''") + "'"
