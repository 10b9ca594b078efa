"""Facts about the machine xenlab runs on: can KVM really run a guest?

A /dev/kvm that exists is not enough: a paravirtual KVM (`kvm_pvm`) cannot boot a
stock kernel (QEMU aborts setting MSRs), so the lab must fall back to TCG rather
than hang. The quick answer (`accelerator`) reads kernel modules only and is what
`plan` uses; `probe_kvm` also starts QEMU for a few seconds and is what `doctor` uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYS_MODULE = Path("/sys/module")
KVM_DEVICE = Path("/dev/kvm")
PROBE_SECONDS = 4.0


@dataclass(frozen=True)
class KvmFinding:
    usable: bool
    reason: str
    nested: str = "unknown"  # "yes", "no" or "unknown": nested virtualisation for a Xen guest


def _module(name: str) -> bool:
    return (SYS_MODULE / name).is_dir()


def _nested() -> str:
    for module in ("kvm_intel", "kvm_amd"):
        param = SYS_MODULE / module / "parameters" / "nested"
        if param.is_file():
            return "yes" if param.read_text().strip() in ("Y", "1") else "no"
    return "unknown"


def kvm_static() -> KvmFinding:
    """What the kernel modules and /dev/kvm say, without starting anything."""
    if not KVM_DEVICE.exists():
        return KvmFinding(False, "/dev/kvm is missing (no hardware virtualisation here)")
    if not os.access(KVM_DEVICE, os.R_OK | os.W_OK):
        return KvmFinding(False, "/dev/kvm is not accessible to this user (join the kvm group)")
    if _module("kvm_pvm"):
        return KvmFinding(False, "/dev/kvm is a paravirtual KVM (kvm_pvm), which cannot boot a stock kernel")
    if not (_module("kvm_intel") or _module("kvm_amd")):
        return KvmFinding(False, "neither kvm_intel nor kvm_amd is loaded")
    return KvmFinding(True, "kvm_intel/kvm_amd loaded", _nested())


def probe_kvm(seconds: float = PROBE_SECONDS) -> KvmFinding:
    """Start QEMU with KVM and host CPU passthrough: alive after `seconds` means usable."""
    static = kvm_static()
    if not static.usable and not KVM_DEVICE.exists():
        return static
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        return KvmFinding(False, f"{static.reason}; qemu-system-x86_64 missing, cannot probe")
    cmd = [qemu, "-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "32",
           "-nodefaults", "-display", "none", "-serial", "none", "-no-reboot"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        # Still running BIOS code under KVM after the wait: KVM works.
        return KvmFinding(True, f"QEMU ran a guest under KVM for {seconds:.0f} s", _nested())
    lines = (done.stderr or done.stdout).strip().splitlines()
    detail = lines[-1] if lines else f"exit {done.returncode}"
    return KvmFinding(False, f"{static.reason if not static.usable else 'QEMU with KVM failed'}: {detail}")


def accelerator(requested: str) -> str:
    """'kvm' or 'tcg' for a configured 'auto' | 'kvm' | 'tcg'."""
    if requested != "auto":
        return requested
    return "kvm" if kvm_static().usable else "tcg"
