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


def load_config(config=None, flavour=None, host=None):
    """The Config, with task options overriding settings (None overrides nothing)."""
    from . import config as config_mod

    return config_mod.load(config, overrides={"lab": {"flavour": flavour}, "wire": {"host": host}})


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


@xtask(help={"force": "rebuild even when the inputs did not change"})
def build(c, config=None, flavour=None, force=False):
    """Build the lab's Vagrant box with Packer (skipped when its inputs did not change)."""
    from . import lifecycle

    lifecycle.run_stage(load_config(config, flavour), "build", force=force)


@xtask(help={"unit": "only the fast unit tests", "k": "pytest -k expression", "x": "stop at first failure"})
def test(c, unit=False, k=None, x=False):
    """Run xenlab's own test suite (unit + integration) with pytest."""
    import subprocess

    # No path: pytest's testpaths (tests/unit, tests/integration) from pyproject.toml.
    argv = [sys.executable, "-m", "pytest"] + (["tests/unit"] if unit else [])
    argv += ["-k", k] if k else []
    argv += ["-x"] if x else []
    code = subprocess.call(argv)
    if code:
        raise Exit(code=code)


@xtask(help={
    "host": "wire an existing XenServer at this address instead of the lab's (credentials from config/env)",
    "force": "run even if nothing changed since the last wire",
})
def wire(c, config=None, flavour=None, host=None, force=False):
    """Connect DevStack to XenServer: host facts, dom0 plugins + key, local.conf/nova.conf."""
    from . import lifecycle

    lifecycle.run_stage(load_config(config, flavour, host), "wire", force=force)


@xtask(help={"port": "loopback port to serve on (default 8080)", "pool_size": "hosts in the simulated pool",
             "plugin_dir": "dom0 plugin directory (default .xenlab/<lab>/sim/plugins)"})
def sim(c, config=None, port=8080, pool_size=1, plugin_dir=None):
    """Serve the XenAPI simulator on 127.0.0.1 (log in as the lab's user and password)."""
    from . import simtask

    simtask.serve(load_config(config), port=port, pool_size=pool_size, plugin_dir=plugin_dir)


@xtask(iterable=["path"], help={"path": "a local.conf or nova.conf to check (repeatable)", "json": "print JSON"})
def check_config(c, path, json=False):
    """Report settings in local.conf/nova.conf that break Nova's independent compute."""
    from . import restrictions

    restrictions.report(path, as_json=json)


@xtask(help={
    "host": "verify an existing XenServer at this address instead of the lab's (no Vagrant)",
    "devstack_ssh_config": "with --host: an ssh config file that reaches the devstack host",
    "devstack_host": "with --host: the devstack host's name in that ssh config",
})
def verify(c, config=None, flavour=None, host=None, devstack_ssh_config=None, devstack_host=None):
    """Check both hosts with testinfra; JUnit report in .xenlab/<lab>/reports/."""
    from . import lifecycle, verify as verify_mod

    cfg = load_config(config, flavour, host)
    if host:
        verify_mod.check(cfg, verify_mod.host_targets(cfg, host, devstack_ssh_config, devstack_host))
    else:
        lifecycle.run_stage(cfg, "verify", force=True)


@xtask(name="lab", help={"from_": "redo the stages from this one on (build, up, wire, verify)"})
def lab_(c, config=None, flavour=None, from_=None):
    """build -> up -> wire -> verify, resuming after the last finished stage."""
    from . import lifecycle, plan as plan_mod, status as status_mod

    cfg = load_config(config, flavour)
    if from_:
        lifecycle.stage(from_)  # an unknown name is a config error before anything runs
    plan_mod.render_all(cfg, quiet=True)
    lifecycle.run_sequence(cfg, force_from=from_)
    status_mod.show(cfg)


ns = Collection(plan, status, doctor, test, build, up, down, wire, sim, check_config, verify, lab_)
