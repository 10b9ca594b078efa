"""Can KVM really run a guest here? One verdict, used by `doctor` and by the lab.

A /dev/kvm that exists is not enough. A paravirtual KVM (`kvm_pvm`) cannot boot a
stock kernel, and on some hosts QEMU with `-accel kvm -cpu host` runs the BIOS and
the boot loader and then the guest kernel prints nothing at all. So after the
static checks (device, access, modules) the probe boots a real Linux kernel under
KVM with its console on a serial port and waits, bounded, for the kernel to reach
the point where it looks for its root file system. Only that counts as usable.

The verdict is cached per host kernel, QEMU and probe kernel, so `plan` (which
needs the accelerator) stays fast; `accelerator("auto")` and doctor read the same.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import proc
from .files import write_json
from .paths import cache_dir

SYS_MODULE = Path("/sys/module")
KVM_DEVICE = Path("/dev/kvm")
PROBE_TIMEOUT = 60.0
# Lines a booting kernel prints on its serial console once it ran through its
# early boot: with no disk and no initrd it ends looking for a root file system.
BOOTED = re.compile(r"VFS: Unable to mount root|Kernel panic - not syncing|Run /init|Freeing unused kernel")


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


def probe_kernel_cache() -> Path:
    """Where ./bootstrap puts a kernel to probe with on a host whose /boot has none."""
    return cache_dir() / "probe-kernel" / "vmlinuz"


def probe_kernel() -> Path | None:
    for candidate in [*sorted(glob.glob("/boot/vmlinuz-*"), reverse=True), str(probe_kernel_cache())]:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.R_OK):
            return path
    return None


def boot_kernel(kernel: Path, accel: str, timeout: float | None = None) -> tuple[bool, str]:
    """Boot `kernel` under QEMU with `accel`; (did it reach its root fs lookup, the last line it printed)."""
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    qemu = proc.require("qemu-system-x86_64")
    cpu = ["-cpu", "host"] if accel == "kvm" else []
    guest = proc.start([qemu, "-accel", accel, *cpu, "-machine", "pc", "-m", "256", "-nodefaults",
                        "-display", "none", "-serial", "stdio", "-no-reboot", "-kernel", str(kernel),
                        "-append", "console=ttyS0 panic=-1"], quiet=True, what="KVM probe")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and guest.poll() is None:
            if any(BOOTED.search(line) for line in list(guest.lines)):
                break
            time.sleep(0.2)
    finally:
        guest.stop()
        guest.wait(10)  # and its output read to the end
    booted = [line.strip() for line in guest.lines if BOOTED.search(line)]
    if booted:
        return True, booted[0]
    text = [line.strip() for line in guest.lines if line.strip()]
    return False, (text[-1] if text else "the guest kernel printed nothing")[:200]


def _cache_key(kernel: Path) -> str:
    qemu = shutil.which("qemu-system-x86_64") or ""
    st = kernel.stat()
    return f"{os.uname().release}|{qemu}|{os.stat(qemu).st_mtime_ns if qemu else 0}|{kernel}|{st.st_size}"


def verdict(refresh: bool = False) -> KvmFinding:
    """Usable only when a guest kernel really boots under KVM (cached, see the docstring)."""
    static = kvm_static()
    if not static.usable:
        return static
    kernel = probe_kernel()
    if kernel is None:
        return KvmFinding(False, "no kernel to probe KVM with (no /boot/vmlinuz-*): run ./bootstrap, which "
                                 "fetches one; until then the lab uses TCG", static.nested)
    cache = cache_dir() / "kvm-probe.json"
    key = _cache_key(kernel)
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if not refresh and isinstance(known.get(key), dict):
        return KvmFinding(**known[key])
    booted, line = boot_kernel(kernel, "kvm")
    if booted:
        finding = KvmFinding(True, f"a Linux guest booted under KVM ({line})", static.nested)
    else:
        finding = KvmFinding(False, f"a Linux guest did not boot under KVM within {PROBE_TIMEOUT:.0f} s "
                                    f"(last console line: {line}); the lab uses TCG", static.nested)
    write_json(cache, {**known, key: asdict(finding)})
    return finding


def accelerator(requested: str) -> str:
    """'kvm' or 'tcg' for a configured 'auto' | 'kvm' | 'tcg': what the lab will use."""
    if requested != "auto":
        return requested
    return "kvm" if verdict().usable else "tcg"
