"""Driving Packer: the template directory, its variables, and the version gate.

The templates in packer/ are plain HCL2, never rendered: values reach them as
variables. Non-secret values from the flavour file and the config go in a rendered
JSON var file (`packer.pkrvars.json`, a plan artifact); per-build paths go as `-var`;
the one secret goes through the environment (PKR_VAR_root_password), which Packer
reads and `ps` does not show.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..core import console, kvm, proc
from ..core.files import write_json
from ..core.paths import PACKER_DIR, cache_dir
from ..errors import ToolError

PLUGINS_DIR = PACKER_DIR / "plugins"
SCRIPTS_DIR = PACKER_DIR / "scripts"
BOX_DIR = PACKER_DIR / "box"
SECRET_VAR = "PKR_VAR_root_password"
# Packer's own update check would phone home on every run.
QUIET_ENV = {"CHECKPOINT_DISABLE": "1"}
INIT_SINCE = (1, 7)
VAGRANT_KEY_PLACES = (
    Path.home() / ".vagrant.d" / "insecure_private_key",
    *sorted(Path("/usr/share/rubygems-integration/all/gems").glob("vagrant-*/keys/vagrant")),
    *sorted(Path("/opt/vagrant/embedded/gems").glob("gems/vagrant-*/keys/vagrant")),
)
_version_cache: dict[str, tuple[int, ...]] = {}


def template_files() -> list[Path]:
    """Everything a build reads from packer/ (the plugins file is not read by 1.6)."""
    return sorted(PACKER_DIR.glob("*.pkr.hcl"))


def version() -> tuple[int, ...]:
    """Packer's version: asked once per binary (its path, size and mtime), then kept."""
    path = os.path.realpath(proc.require("packer"))
    st = os.stat(path)
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    cache = cache_dir() / "packer-version.json"
    if key not in _version_cache:
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
        if key not in known:
            out = proc.run(["packer", "version"], timeout=30, quiet=True, env=QUIET_ENV)
            found = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
            if not found:
                raise ToolError(f"cannot read Packer's version from {out[:80]!r} (run ./bootstrap)")
            known[key] = ".".join(found.groups())
            write_json(cache, known)
        _version_cache[key] = tuple(int(part) for part in known[key].split("."))
    return _version_cache[key]


def version_text() -> str:
    return ".".join(map(str, version()))


def init(log: Path) -> None:
    """`packer init` for Packer >= 1.7 (plugins are separate there); 1.6 needs none."""
    if version() < INIT_SINCE:
        return
    proc.run(["packer", "init", str(PLUGINS_DIR)], log=log, env=QUIET_ENV, timeout=600, what="packer init")


def source(cfg, flavour) -> str:
    """The `-only` name: build.builder.source (HCL2 builds are named in build.pkr.hcl)."""
    builder = "virtualbox-iso" if cfg.lab.provider == "virtualbox" and not flavour.standin else "qemu"
    return f"{flavour.packer_build}.{builder}.{flavour.packer_build}"


# The flavour's fields Packer's templates read (packer/variables.pkr.hcl); the rest is xenlab's.
PACKER_FIELDS = ("kind", "iso_url", "iso_checksum", "boot_wait", "boot_command", "install_timeout", "disk_bus",
                 "disk_serial")


def variables(cfg) -> dict:
    """Non-secret variable values from the flavour and the config: pure, so `plan` can render them."""
    accel = kvm.accelerator(cfg.lab.accelerator)
    flavour = cfg.flavour
    return {
        "flavour": flavour.name,
        **{name: list(v) if isinstance(v := getattr(flavour, name), tuple) else v for name in PACKER_FIELDS},
        "memory_mb": cfg.xenserver.memory_mb,
        "cpus": cfg.xenserver.cpus,
        "disk_gb": cfg.xenserver.disk_gb,
        "accelerator": accel,
        # Host passthrough gives Xen VMX/SVM; TCG has no host CPU to pass, max is closest.
        "cpu_model": "host" if accel == "kvm" else "max",
    }


def render_vars(cfg) -> str:
    return json.dumps(variables(cfg), indent=2, sort_keys=True) + "\n"


def vagrant_key() -> Path:
    for place in VAGRANT_KEY_PLACES:
        if place.is_file():
            return place
    raise ToolError("Vagrant's insecure private key not found (install vagrant, or run any vagrant command once)")


def secret_env(cfg) -> dict[str, str]:
    return {**QUIET_ENV, SECRET_VAR: cfg.password.get_secret_value()}


def argv(command: str, cfg, flavour, extra: dict[str, str], flags: tuple = ()) -> list[str]:
    args = ["packer", command, *flags, f"-only={source(cfg, flavour)}", f"-var-file={cfg.paths.packer_vars}"]
    args += [f"-var={key}={value}" for key, value in sorted(extra.items())]
    return args + [str(PACKER_DIR)]


def _reasons(lines: list[str]) -> str:
    """Packer's reason: its '* ...' lines, or an HCL2 diagnostic ("Error: <summary>",
    where it is, then a paragraph of detail), never just the position line."""
    reasons = [line[2:].strip() for line in lines if line.startswith("* ")]
    if reasons:
        return reasons[0]
    errors = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    if errors:
        summary = lines[errors[-1]].removeprefix("Error: ").strip()
        detail = proc.last_paragraph(lines[errors[-1] + 1:])
        return f"{summary}: {detail}" if detail != "(no output)" else summary
    return proc.failing_line(lines)


def _build_failure(lines: list[str]) -> str:
    """Packer's own summary of a failed build: `--> source: error` or `Build 'x' errored ...`."""
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith("--> ") or "errored" in stripped:
            return stripped
    return proc.failing_line(lines)


def validate(cfg, flavour, extra: dict[str, str], log: Path | None = None) -> None:
    try:
        proc.run(argv("validate", cfg, flavour, extra), log=log, env=secret_env(cfg), timeout=120,
                 what="packer validate", quiet=True, summarise=_reasons)
    except ToolError as exc:
        raise ToolError(exc.message.replace("packer validate failed (exit 1): ", "packer validate failed: ")) from None


def build(cfg, flavour, extra: dict[str, str], log: Path, timeout: float) -> None:
    console.say(f"    packer build -only={source(cfg, flavour)} (log: {log})")
    proc.run(argv("build", cfg, flavour, extra, flags=("-color=false",)), log=log,
             env={**secret_env(cfg), "PACKER_CACHE_DIR": str(cfg.paths.packer_cache)},
             timeout=timeout, what="packer build", cwd=cfg.paths.workdir, summarise=_build_failure)
