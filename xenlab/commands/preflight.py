"""Preflight: before `lab`, `build` or `up` download anything or start a VM, can
this host run the stages asked for, with the configured flavour and provider?

doctor's own checks, cut to those stages and made to stop: the first failure is
one line naming the fix, with the exit code of its kind. Fast: tools are looked
up on PATH (no version runs), the KVM verdict is cached (core.kvm).
"""

from __future__ import annotations

from ..core import console
from ..stages import lifecycle
from ..errors import ToolError, UnsupportedHost
from ..machines import clashes, libvirt, libvirthost
from . import doctor


def _stop_on(findings: list[doctor.Finding], error, named: bool = True) -> None:
    for f in findings:
        if f.verdict == doctor.FAIL:
            raise error(f"{f.check}: {f.detail}" if named else f.detail)


def check(cfg, stages: list[str]) -> None:
    """Raise the first reason the stages cannot run here (ToolError, UnsupportedHost, HostError)."""
    _stop_on(doctor.check_tools(cfg, stages, versions=False), ToolError)
    builds = "build" in stages
    machines = any(lifecycle.stage(name).machine for name in stages)
    remote = cfg.lab.provider == "libvirt" and libvirthost.of(cfg).remote
    if builds or (machines and not remote):
        # The accelerator Packer and libvirt will use here, and a real flavour's need for nested KVM.
        _stop_on(doctor.check_kvm(cfg), UnsupportedHost, named=False)
    if builds and not lifecycle.stage("build").target.present(cfg):
        (disk,) = doctor.check_disk(cfg)
        if disk.verdict != doctor.OK:
            raise UnsupportedHost(f"not enough disk for the build: {disk.detail}: free some space, or put the "
                                  "lab's xenlab.toml on a larger file system")
    if machines:
        libvirt.check(cfg)  # the same check `up` makes, before Vagrant starts
        if remote:  # where the machines will run: its KVM, nested KVM and memory, said there
            _stop_on(doctor.check_libvirt_host(cfg), UnsupportedHost, named=False)
        clashes.check(cfg)  # another lab's name, range or MAC: refused before anything boots
    console.say(f"==> preflight: the host can run {', '.join(stages)} for {cfg.lab.flavour} "
                f"({cfg.lab.provider})")
