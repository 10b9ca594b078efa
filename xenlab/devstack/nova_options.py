"""Every option Nova 21.2.4 registers, as Nova defines it (group, name, type, default),
so that check-config reads a nova.conf with all of them registered: `$my_ip`, `${my_ip}`
and `$host` resolve as oslo.config resolves them in nova-compute.

nova_options.json is generated, never edited by hand: `python -m xenlab.devstack.nova_options`
runs nova_options_dump.py under `python -S` with the Nova probe tree (Nova 21.2.4 and its
own oslo.config, built by xenlab/devstack/probe.py) and writes the file. A test checks that
the committed file is what this generates. Only oslo.config is imported at module level:
the dump script imports build_opt under Nova's oslo.config to check each option rebuilds.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

TABLE = Path(__file__).with_name("nova_options.json")
DUMP = Path(__file__).with_name("nova_options_dump.py")


def _nothing(value):  # nova/conf/utils.py _dummy_opt: a removed option, whatever its value
    return None


def build_type(spec: dict):
    from oslo_config import types

    kind = spec["kind"]
    if kind == "str":
        return str
    if kind == "none":
        return _nothing
    params = {k: build_type(v) if k in ("item_type", "value_type") and v else v for k, v in spec.items() if k != "kind"}
    return getattr(types, kind)(**params)


def build_opt(name: str, spec: dict):
    from oslo_config import cfg

    kwargs = {"default": spec["default"], "secret": spec.get("secret", False), "required": spec.get("required", False)}
    kind = build_type(spec["type"])
    opt = cfg.MultiOpt(name, item_type=kind, **kwargs) if spec.get("multi") else cfg.Opt(name, type=kind, **kwargs)
    # The whole list as Nova's option holds it (Opt() would add `_` spellings of dashed names again).
    opt.deprecated_opts = [cfg.DeprecatedOpt(n, group=g) for g, n in spec.get("deprecated", [])]
    return opt


@functools.cache
def table() -> dict:
    return json.loads(TABLE.read_text())


@functools.cache
def _built() -> list:
    # Built once: an option may be registered on many ConfigOpts (one per file read).
    return [(None if group == "DEFAULT" else group, [build_opt(name, spec) for name, spec in opts.items()])
            for group, opts in table()["options"].items()]


def register(conf) -> None:
    """Register every Nova option on an oslo.config ConfigOpts."""
    for group, opts in _built():
        conf.register_opts(opts, group=group)


@functools.cache
def secrets() -> frozenset[tuple[str, str]]:
    """(group, name) of the options Nova marks secret: their values are never shown."""
    return frozenset((g, n) for g, opts in table()["options"].items() for n, spec in opts.items() if spec.get("secret"))


def generate(tree: Path) -> str:
    """The table's text, from Nova's own definitions in the probe tree, under the Python the
    probe runs on: Nova computes `bindir` from its prefix (/usr/local/bin, as on a DevStack
    node's system Python), and no other default from the machine but those it marks."""
    from ..core import proc
    from .probe import GUEST_PYTHON

    out = proc.run([GUEST_PYTHON, "-S", str(DUMP), str(tree), str(Path(__file__).parents[2])], timeout=300,
                   quiet=True, split_stderr=True, what="nova_options_dump.py", replace_env=True,
                   env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp"})
    return out + "\n"


if __name__ == "__main__":
    from ..core.files import write_file
    from . import probe

    write_file(TABLE, generate(probe.ensure_tree()))
    print(f"wrote {TABLE}")
