"""Checks of the simulator's command-line values, shared by `python3 -m xenlab.sim`
and `xenlab sim`: each raises ValueError with the one line the user sees."""

from __future__ import annotations

import ipaddress

MAX_POOL_SIZE = 1024


def port(text) -> int:
    try:
        value = int(str(text), 10)
    except ValueError:
        raise ValueError(f"port must be a number from 0 to 65535, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise ValueError(f"port must be from 0 to 65535, not {value}")
    return value


def pool_size(text) -> int:
    try:
        value = int(str(text), 10)
    except ValueError:
        raise ValueError(f"pool size must be a number from 1 to {MAX_POOL_SIZE}, not {text!r}") from None
    if not 1 <= value <= MAX_POOL_SIZE:
        raise ValueError(f"pool size must be from 1 to {MAX_POOL_SIZE}, not {value}")
    return value


def ipv4(text) -> str:
    try:
        return str(ipaddress.IPv4Address(str(text)))
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 address") from None
