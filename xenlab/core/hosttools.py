"""The system tools xenlab runs: one list, xenlab/host-tools.toml.

./bootstrap installs their Debian packages from it; `doctor` and the preflight
check the tools a lab needs; the flavours and the stand-in's base image take
their build's tools from it. A lab's needs are the stages it runs plus its tags:
its provider and its flavour's Packer build (`build:<packer_build>`).

Standard library only: ./bootstrap reads the list with the system python3 before
.venv exists (`python3 -m xenlab.core.hosttools packages`).
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Iterable

LIST = Path(__file__).resolve().parents[1] / "host-tools.toml"
# What root runs lives in /usr/sbin, which a user's PATH on Debian leaves out.
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


class BadList(ValueError):
    """host-tools.toml names a key or a type this reader does not know."""


@dataclass(frozen=True)
class Tool:
    name: str
    package: str
    why: str
    stages: tuple[str, ...]
    when: tuple[str, ...] = ()
    version: tuple[str, ...] = ()
    checked: bool = True
    install: bool = True
    fix: str = ""

    def needed(self, stages: Iterable[str], tags: Iterable[str]) -> bool:
        """Does a lab running `stages`, with `tags`, need it?"""
        return bool(set(self.stages) & set(stages)) and (not self.when or bool(set(self.when) & set(tags)))

    def find(self) -> str | None:
        return shutil.which(self.name) or shutil.which(self.name, path=SBIN)

    def remedy(self) -> str:
        return self.fix or f"install the Debian package {self.package} (./bootstrap does)"


def _entries(table: dict, where: str) -> list[Tool]:
    known = {f.name for f in fields(Tool)} - {"name"}
    out = []
    for name, entry in table.items():
        unknown = set(entry) - known
        if unknown:
            raise BadList(f"{LIST.name}: [{where}.{name}]: unknown key(s) {', '.join(sorted(unknown))}")
        if not isinstance(entry.get("package"), str) or not isinstance(entry.get("stages"), list):
            raise BadList(f"{LIST.name}: [{where}.{name}]: needs package (text) and stages (a list)")
        out.append(Tool(name=name, **{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}))
    return out


@cache
def _load() -> tuple[tuple[Tool, ...], tuple[Tool, ...]]:
    data = tomllib.loads(LIST.read_text())
    return tuple(_entries(data.get("tool", {}), "tool")), tuple(_entries(data.get("vagrant_plugin", {}),
                                                                            "vagrant_plugin"))


def tools() -> tuple[Tool, ...]:
    return _load()[0]


def vagrant_plugins() -> tuple[Tool, ...]:
    return _load()[1]


def tool(name: str) -> Tool:
    return next(t for t in tools() if t.name == name)


def lab_tags(provider: str, packer_build: str) -> set[str]:
    return {provider, f"build:{packer_build}"}


def needed(stages: Iterable[str], tags: Iterable[str], entries: Iterable[Tool] | None = None) -> list[Tool]:
    """The checked tools (or `entries`) a lab running `stages` with `tags` needs."""
    stages, tags = list(stages), list(tags)
    return [t for t in (tools() if entries is None else entries) if t.checked and t.needed(stages, tags)]


def build_tools(packer_build: str) -> tuple[str, ...]:
    """The tools that only a flavour with this Packer build needs."""
    return tuple(t.name for t in tools() if f"build:{packer_build}" in t.when)


def packages() -> list[str]:
    """What ./bootstrap installs: every listed package Debian's archive has, once each."""
    return list(dict.fromkeys(t.package for t in (*tools(), *vagrant_plugins()) if t.install))


def main(argv: list[str]) -> int:
    if argv == ["packages"]:
        print("\n".join(packages()))
        return 0
    print("usage: python3 -m xenlab.core.hosttools packages", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
