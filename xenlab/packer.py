"""Driving Packer: the template directory, its variables, and the version gate.

The templates in packer/ are plain HCL2, never rendered: values reach them as
variables. Non-secret values from the config go in a rendered JSON var file
(`.xenlab/<lab>/packer.pkrvars.json`, a plan artifact); per-build paths go as
`-var`; the one secret goes through the environment (PKR_VAR_root_password), which
Packer reads and `ps` does not show.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import console, host, proc
from .config import PROJECT_DIR
from .errors import ToolError

TEMPLATE_DIR = PROJECT_DIR / "packer"
PLUGINS_DIR = TEMPLATE_DIR / "plugins"
SCRIPTS_DIR = TEMPLATE_DIR / "scripts"
BOX_DIR = TEMPLATE_DIR / "box"
VAR_FILE = "packer.pkrvars.json"  # relative to .xenlab/<lab>/
SECRET_VAR = "PKR_VAR_root_password"
# Packer's own update check would phone home on every run.
QUIET_ENV = {"CHECKPOINT_DISABLE": "1"}
INIT_SINCE = (1, 7)
VAGRANT_KEY_PLACES = (
    Path.home() / ".vagrant.d" / "insecure_private_key",
    *sorted(Path("/usr/share/rubygems-integration/all/gems").glob("vagrant-*/keys/vagrant")),
    *sorted(Path("/opt/vagrant/embedded/gems").glob("gems/vagrant-*/keys/vagrant")),
)


def template_files() -> list[Path]:
    """Everything a build reads from packer/ (the plugins file is not read by 1.6)."""
    return sorted(TEMPLATE_DIR.glob("*.pkr.hcl"))


def version() -> tuple[int, ...]:
    out = proc.tool_version(["packer", "version"])
    if not out:
        raise ToolError("packer not found or not working (run ./bootstrap)")
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    if not found:
        raise ToolError(f"cannot read Packer's version from {out!r}")
    return tuple(int(part) for part in found.groups())


def version_text() -> str:
    return ".".join(map(str, version()))


def init(log: Path) -> None:
    """`packer init` for Packer >= 1.7 (plugins are separate there); 1.6 needs none."""
    if version() < INIT_SINCE:
        return
    proc.run(["packer", "init", str(PLUGINS_DIR)], log=log, env=QUIET_ENV, timeout=600, what="packer init")


def source(cfg, flavour) -> str:
    """The `-only` name: build.source (HCL2 builds are named in build.pkr.hcl)."""
    if flavour.standin:
        return "standin.qemu.standin"
    builder = "virtualbox-iso" if cfg.lab.provider == "virtualbox" else "qemu"
    return f"xenserver.{builder}.xenserver"


def accelerator(cfg) -> str:
    return host.accelerator(cfg.lab.accelerator)


def variables(cfg) -> dict:
    """Non-secret variable values from the config: pure, so `plan` can render them."""
    accel = accelerator(cfg)
    standin = cfg.lab.flavour == "standin"
    values = {
        "memory_mb": cfg.xenserver.memory_mb,
        "cpus": cfg.xenserver.cpus,
        "disk_gb": cfg.xenserver.disk_gb,
        "accelerator": accel,
        # Host passthrough gives Xen VMX/SVM; TCG has no host CPU to pass, max is closest.
        "cpu_model": "host" if accel == "kvm" else "max",
    }
    if standin:
        values["sim_args"] = f"--management-ip {cfg.network.xenserver_ip}"
    return values


def render_vars(cfg) -> str:
    return json.dumps(variables(cfg), indent=2, sort_keys=True) + "\n"


def vagrant_key() -> Path:
    for place in VAGRANT_KEY_PLACES:
        if place.is_file():
            return place
    raise ToolError("Vagrant's insecure private key not found (install vagrant, or run any vagrant command once)")


def secret_env(cfg) -> dict[str, str]:
    return {**QUIET_ENV, SECRET_VAR: cfg.password.get_secret_value()}



def argv(command: str, cfg, flavour, var_file: Path, extra: dict[str, str], flags: tuple = ()) -> list[str]:
    args = ["packer", command, *flags, f"-only={source(cfg, flavour)}",
            f"-var-file={flavour.path}", f"-var-file={var_file}"]
    args += [f"-var={key}={value}" for key, value in sorted(extra.items())]
    return args + [str(TEMPLATE_DIR)]


def validate(cfg, flavour, var_file: Path, extra: dict[str, str], log: Path | None = None) -> None:
    try:
        proc.run(argv("validate", cfg, flavour, var_file, extra), log=log, env=secret_env(cfg),
                 timeout=120, what="packer validate", quiet=True)
    except ToolError as exc:
        raise ToolError(f"packer validate failed: {_first_problem(log) or exc.message}; full log: {log}") from None


def _first_problem(log: Path | None) -> str:
    """Packer prints its reasons as '* ...' lines, its last line is only a position."""
    if not log or not log.is_file():
        return ""
    run = log.read_text().rsplit("$ packer validate", 1)[-1]
    reasons = [line[2:].strip() for line in run.splitlines() if line.startswith("* ")]
    return reasons[0] if reasons else ""


def build(cfg, flavour, var_file: Path, extra: dict[str, str], log: Path, timeout: float) -> None:
    console.say(f"    packer build -only={source(cfg, flavour)} (log: {log})")
    proc.run(argv("build", cfg, flavour, var_file, extra, flags=("-color=false",)), log=log,
             env={**secret_env(cfg), "PACKER_CACHE_DIR": str(cfg.workdir / "packer_cache")},
             timeout=timeout, what="packer build", cwd=cfg.workdir)
