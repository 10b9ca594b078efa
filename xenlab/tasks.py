"""The task collection behind both `invoke <task>` (top-level tasks.py) and `xenlab <task>`.

Task functions stay thin: load the Config, call one module, turn XenlabError into
a one-line message and its exit code. Modules are imported inside the tasks so
that `invoke --list` does not pay for pydantic, XenAPI or testinfra.
"""

from __future__ import annotations

import functools
import inspect
import sys

from invoke import Collection, Exit, task

CONFIG_HELP = "path to xenlab.toml (default: ./xenlab.toml, or $XENLAB_CONFIG)"
FLAVOUR_HELP = "flavour to use instead of lab.flavour (e.g. standin, xcp-ng-8.2)"


def xtask(*args, **kwargs):
    """invoke's @task, plus one-line errors with xenlab's exit codes."""

    def decorate(fn):
        @functools.wraps(fn)
        def body(c, *a, **kw):
            from .errors import XenlabError

            try:
                return fn(c, *a, **kw)
            except XenlabError as exc:
                raise Exit(f"xenlab: {exc.message}", code=exc.exit_code) from None
            except KeyboardInterrupt:
                raise Exit("xenlab: interrupted", code=130) from None

        params = inspect.signature(fn).parameters
        common = {"config": CONFIG_HELP, "flavour": FLAVOUR_HELP}
        helps = {k: v for k, v in common.items() if k in params} | kwargs.pop("help", {})
        return task(*args, help=helps, **kwargs)(body)

    return decorate


def load_config(config=None, flavour=None):
    from . import config as config_mod

    return config_mod.load(config, overrides={"lab": {"flavour": flavour}})


@xtask()
def plan(c, config=None, flavour=None):
    """Render every artifact the lab needs into .xenlab/<lab>/; run no tool."""
    from . import console, plan as plan_mod

    cfg = load_config(config, flavour)
    console.header(f"plan: rendering lab {cfg.lab.name!r} ({cfg.lab.flavour}) into {cfg.lab_dir}")
    plan_mod.render_all(cfg)


@xtask(help={"force": "run vagrant up --provision even if the lab is up and current"})
def up(c, config=None, flavour=None, force=False):
    """Bring up the lab's machines (xenserver, then wiring, then devstack) with Vagrant."""
    from . import lifecycle

    lifecycle.run_stage(load_config(config, flavour), "up", force=force)


@xtask()
def down(c, config=None, flavour=None):
    """Destroy the lab's machines and their libvirt volumes; forget its stage state."""
    from . import lab

    lab.down(load_config(config, flavour))


@xtask(help={"json": "print machine-readable JSON"})
def status(c, config=None, flavour=None, json=False):
    """Show what is done: each stage's state, the lab's machines."""
    from . import status as status_mod

    status_mod.show(load_config(config, flavour), as_json=json)


@xtask(help={"json": "print findings as JSON"})
def doctor(c, config=None, flavour=None, json=False):
    """Preflight: tools, KVM or TCG, nested virt, RAM, disk, libvirtd."""
    from . import doctor as doctor_mod

    code = doctor_mod.run(load_config(config, flavour), as_json=json)
    if code:
        raise Exit(code=code)


@xtask(help={"unit": "only the fast unit tests", "k": "pytest -k expression", "x": "stop at first failure"})
def test(c, unit=False, k=None, x=False):
    """Run xenlab's own test suite (unit + integration) with pytest."""
    import subprocess

    argv = [sys.executable, "-m", "pytest", "tests/unit" if unit else "tests"]
    argv += ["-k", k] if k else []
    argv += ["-x"] if x else []
    code = subprocess.call(argv)
    if code:
        raise Exit(code=code)


ns = Collection(plan, up, down, status, doctor, test)
