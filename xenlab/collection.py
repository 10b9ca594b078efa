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

from .arguments import XTask

CONFIG_HELP = "path to xenlab.toml (default: ./xenlab.toml, or $XENLAB_CONFIG)"
FLAVOUR_HELP = "flavour to use instead of lab.flavour (e.g. standin, xcp-ng-8.3)"


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
        return task(*args, help=helps, klass=XTask, **kwargs)(body)

    return decorate


def load_config(config=None, flavour=None, host=None):
    """The Config, with task options overriding settings (None overrides nothing)."""
    from .core import config as config_mod

    return config_mod.load(config, overrides={"lab": {"flavour": flavour}, "wire": {"host": host}})


@xtask()
def plan(c, config=None, flavour=None):
    """Render every artifact the lab needs into .xenlab/<lab>/; run no tool."""
    from .core import console
    from .stages import plan as plan_mod

    cfg = load_config(config, flavour)
    console.header(f"plan: rendering lab {cfg.lab.name!r} ({cfg.lab.flavour}) into {cfg.lab_dir}")
    plan_mod.render_all(cfg)


@xtask(help={"force": "bring the machines up and wire again even if they are up and current"})
def up(c, config=None, flavour=None, force=False):
    """Bring up the lab's machines: up-xenserver, wire, up-devstack."""
    from .commands import preflight
    from .stages import lifecycle, plan as plan_mod

    cfg = load_config(config, flavour)
    span = lifecycle.machine_span()
    preflight.check(cfg, span)
    plan_mod.render_all(cfg, quiet=True)
    lifecycle.run_sequence(cfg, only=span, force_from=span[0] if force else None)


@xtask(help={"purge": "also remove the box images from the libvirt pool, the lab's snapshots and its password pin"})
def down(c, config=None, flavour=None, purge=False):
    """Destroy the lab's machines and their volumes; forget its machine stages (the box images stay)."""
    from .stages import down as down_stage

    down_stage.down(load_config(config, flavour), purge=purge)


@xtask(help={"json": "print machine-readable JSON"})
def status(c, config=None, flavour=None, json=False):
    """Show what is done: each stage's state, the lab's machines."""
    from .commands import status as status_mod

    status_mod.show(load_config(config, flavour), as_json=json)


@xtask(help={"json": "print findings as JSON"})
def doctor(c, config=None, flavour=None, json=False):
    """Preflight: tools, KVM or TCG, nested virt, RAM, disk, libvirtd."""
    from .commands import doctor as doctor_mod

    code = doctor_mod.run(load_config(config, flavour), as_json=json)
    if code:
        raise Exit(code=code)


@xtask(help={"force": "rebuild even when the inputs did not change"})
def build(c, config=None, flavour=None, force=False):
    """Build the lab's Vagrant box with Packer (skipped when its inputs did not change)."""
    from .commands import preflight
    from .stages import lifecycle

    cfg = load_config(config, flavour)
    preflight.check(cfg, ["build"])
    lifecycle.run_stage(cfg, "build", force=force)


@xtask(help={"unit": "only the fast unit tests", "k": "pytest -k expression", "x": "stop at first failure"})
def test(c, unit=False, k=None, x=False):
    """Run xenlab's own test suite (unit + integration) with pytest."""
    import os

    from .core.paths import PROJECT_DIR

    # No path: pytest's testpaths (tests/unit, tests/integration, tests/vm) from pyproject.toml.
    argv = [sys.executable, "-m", "pytest"] + (["tests/unit"] if unit else [])
    argv += ["-k", k] if k else []
    argv += ["-x"] if x else []
    # pytest takes this process over: its output, its exit code.
    sys.stdout.flush()
    os.chdir(PROJECT_DIR)
    os.execv(sys.executable, argv)


@xtask(help={
    "host": "wire an existing XenServer at this address instead of the lab's (credentials from config/env)",
    "force": "run even if nothing changed since the last wire",
})
def wire(c, config=None, flavour=None, host=None, force=False):
    """Connect DevStack to XenServer: host facts, dom0 plugins + key, local.conf/nova.conf."""
    from .stages import lifecycle

    lifecycle.run_stage(load_config(config, flavour, host), "wire", force=force)


@xtask(help={"port": "loopback port to serve on (default 8080)", "pool_size": "hosts in the simulated pool (1-1024)",
             "plugin_dir": "dom0 plugin directory (default .xenlab/<lab>/sim/plugins)"})
def sim(c, config=None, port=8080, pool_size=1, plugin_dir=None):
    """Serve the XenAPI simulator on 127.0.0.1 (log in as the lab's user and password)."""
    # Whole numbers are parsed by xenlab/arguments.py; their ranges are the simulator's own (options.py).
    from .commands import sim as sim_mod

    port, pool_size = sim_mod.checked(port, pool_size)
    sim_mod.serve(load_config(config), port=port, pool_size=pool_size, plugin_dir=plugin_dir)


@xtask(iterable=["path"], positional=["path"],
       help={"path": "a local.conf or nova.conf to check (the first may be given bare; repeatable)",
             "json": "print JSON"})
def check_config(c, path=None, json=False):
    """Report settings in local.conf/nova.conf that break Nova's independent compute."""
    from .devstack import restrictions

    restrictions.report(path or [], as_json=json)


@xtask(help={
    "host": "verify an existing XenServer at this address instead of the lab's (no Vagrant)",
    "devstack_ssh_config": "with --host: an ssh config file that reaches the devstack host",
    "devstack_host": "with --host: the devstack host's name in that ssh config",
})
def verify(c, config=None, flavour=None, host=None, devstack_ssh_config=None, devstack_host=None):
    """Check both hosts with testinfra; JUnit report in .xenlab/<lab>/reports/."""
    from .stages import lifecycle
    from .stages import verify as verify_mod

    cfg = load_config(config, flavour, host)
    if host:
        verify_mod.check(cfg, verify_mod.host_targets(cfg, host, devstack_ssh_config, devstack_host))
    else:
        lifecycle.run_stage(cfg, "verify", force=True)


@xtask(name="lab", help={
    "from_": "redo the stages from this one on (build, up-xenserver, wire, up-devstack, verify)",
    "snapshot": "restore this snapshot if the lab has it (then verify); else run the lab and take it",
})
def lab_(c, config=None, flavour=None, from_=None, snapshot=None):
    """build -> up-xenserver -> wire -> up-devstack -> verify, resuming after the last finished stage."""
    from .commands import snapshot as snapshot_mod, status as status_mod
    from .stages import lifecycle, plan as plan_mod
    from .machines import saves

    # The arguments first: a bad one is a usage error before anything looks at the host
    # or writes a file (loading the config may generate the lab's password).
    if from_:
        lifecycle.stage(from_)
    if snapshot:
        saves.check_name(snapshot)
    cfg = load_config(config, flavour)
    restoring = snapshot and snapshot in saves.names(cfg) and not from_
    names = lifecycle.names()
    # A lab whose every stage is current needs nothing of the host: no preflight.
    todo = names if restoring else names[names.index(from_):] if from_ else lifecycle.pending(cfg)
    if todo:
        from .commands import preflight

        preflight.check(cfg, todo)
    plan_mod.render_all(cfg, quiet=True)
    if restoring:
        snapshot_mod.restore(cfg, snapshot)
    else:
        for name in names[:len(names) - len(todo)]:
            lifecycle.say_current(name)  # asked once already: pending() checked them
        lifecycle.run_sequence(cfg, only=todo, force_from=from_)
        if snapshot:
            snapshot_mod.take(cfg, snapshot)
    status_mod.show(cfg)


SNAPSHOT_HELP = "the snapshot's name (default: default)"


@xtask(help={"name": SNAPSHOT_HELP, "delete": "delete the snapshot instead of taking it"})
def snapshot(c, config=None, flavour=None, name="default", delete=False):
    """Save the verified lab's machines (memory and disks) as a snapshot; the lab runs on."""
    from .commands import snapshot as snapshot_mod
    from .machines import saves

    saves.check_name(name)  # before the config, as in `lab`
    cfg = load_config(config, flavour)
    (snapshot_mod.delete if delete else snapshot_mod.take)(cfg, name)


@xtask(help={"name": SNAPSHOT_HELP})
def restore(c, config=None, flavour=None, name="default"):
    """Bring the lab back from a snapshot (no boot), then verify it."""
    from .commands import snapshot as snapshot_mod
    from .machines import saves
    from .stages import plan as plan_mod

    saves.check_name(name)  # before the config and plan's files, as in `lab`
    cfg = load_config(config, flavour)
    plan_mod.render_all(cfg, quiet=True)
    snapshot_mod.restore(cfg, name)


@xtask(help={
    "spec": "the lab spec (lab.json) Vagrant read: the hook rebuilds the lab's config from it",
    "machine": "the Vagrant machine it is about (xenserver or devstack)",
    "event": "before-up, feed, up or destroy",
    "provisioned": "Vagrant ran the machine's provisioners in this `up`",
})
def vagrant_hook(c, spec, machine, event, provisioned=False):
    """Run by the Vagrantfile on a plain `vagrant up`/`destroy`: record it, feed the next machine."""
    from .core import config as config_mod
    from .errors import ConfigError
    from .machines.labspec import MACHINES
    from .stages import hook

    if event not in hook.EVENTS:
        raise ConfigError(f"vagrant-hook: --event must be one of {', '.join(hook.EVENTS)}, not {event!r}")
    if machine not in MACHINES:
        raise ConfigError(f"vagrant-hook: no machine called {machine!r} (machines: {', '.join(MACHINES)})")
    hook.vagrant_hook(config_mod.from_spec(spec), machine, event, provisioned)


ns = Collection(plan, status, doctor, test, build, up, down, wire, sim, check_config, verify, lab_, snapshot, restore,
                vagrant_hook)
