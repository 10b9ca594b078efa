"""`doctor`: preflight checks, each with a clear verdict and what to do.

Verdicts: ok, warn (the lab still works, maybe slowly or with limits) and fail
(a stage cannot run). Exit code 0 unless something fails.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass

from ..core import console, flavours, kvm, proc
from ..core.proc import tool_version
from ..errors import ToolError

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: str
    detail: str


# Tools each kind of use needs: (command, version argv, why).
TOOLS = {
    "packer": (["packer", "version"], "builds the boxes"),
    "vagrant": (["vagrant", "--version"], "runs the lab"),
    "qemu-system-x86_64": (["qemu-system-x86_64", "--version"], "runs VMs (Packer's qemu builder, libvirt)"),
    "qemu-img": (["qemu-img", "--version"], "makes and converts disk images"),
    "virsh": (["virsh", "--version"], "talks to libvirt"),
    "debootstrap": (["debootstrap", "--version"], "makes the stand-in's base image"),
    "ssh": (["ssh", "-V"], "reaches dom0 and the machines"),
    "VBoxManage": (["VBoxManage", "--version"], "VirtualBox provider"),
}


def _tools_for(cfg) -> list[str]:
    names = ["packer", "vagrant", "qemu-img", "ssh"]
    if cfg.lab.provider == "libvirt":
        names += ["qemu-system-x86_64", "virsh"]
    else:
        names += ["VBoxManage"]
    return names + [t for t in flavours.load(cfg).host_tools if t in TOOLS]


def check_tools(cfg) -> list[Finding]:
    out = []
    for name in _tools_for(cfg):
        argv, why = TOOLS[name]
        version = tool_version(argv)
        if version:
            out.append(Finding(f"tool {name}", OK, version))
        else:
            out.append(Finding(f"tool {name}", FAIL, f"missing ({why}): run ./bootstrap"))
    if cfg.lab.provider == "libvirt" and shutil.which("vagrant"):
        plugins = tool_version(["vagrant", "plugin", "list"], timeout=60) or ""
        if "vagrant-libvirt" in plugins:
            out.append(Finding("vagrant-libvirt", OK, plugins))
        else:
            out.append(Finding("vagrant-libvirt", FAIL, "plugin not installed: run ./bootstrap"))
    return out


def check_kvm(cfg) -> list[Finding]:
    finding = kvm.verdict()
    out = []
    if finding.usable:
        out.append(Finding("kvm", OK, finding.reason))
    else:
        out.append(Finding("kvm", WARN, f"KVM cannot run guests here ({finding.reason}); "
                                        "falling back to TCG software emulation (slow)"))
    if cfg.lab.accelerator == "kvm" and not finding.usable:
        out.append(Finding("accelerator", FAIL, "lab.accelerator is 'kvm' but KVM is unusable: set it to auto or tcg"))
    if flavours.load(cfg).needs_kvm:
        if not finding.usable:
            out.append(Finding("nested-virt", WARN, f"flavour {cfg.lab.flavour} runs Xen inside a VM: without KVM "
                               "its guests cannot start and the install takes hours; use --flavour standin here"))
        elif finding.nested != "yes":
            out.append(Finding("nested-virt", WARN, f"nested virtualisation is {finding.nested}: set "
                               "'options kvm_intel nested=1' (or kvm_amd) and reload the module"))
        else:
            out.append(Finding("nested-virt", OK, "enabled"))
    return out


def _meminfo_mb(key: str) -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    return 0


def check_resources(cfg) -> list[Finding]:
    need_mb = cfg.xenserver.memory_mb + cfg.devstack.memory_mb
    have_mb = _meminfo_mb("MemAvailable")
    mem = Finding("memory", OK if have_mb >= need_mb else WARN,
                  f"{have_mb} MiB available, the lab's machines ask for {need_mb} MiB")
    cfg.root.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(cfg.root).free // 2**30
    need_gb = flavours.load(cfg).disk_gb_needed  # box + images + build copy
    disk = Finding("disk", OK if free_gb >= need_gb else WARN,
                   f"{free_gb} GiB free under {cfg.root}, about {need_gb} GiB needed")
    return [mem, disk]


def check_libvirt(cfg) -> list[Finding]:
    if cfg.lab.provider != "libvirt" or not shutil.which("virsh"):
        return []
    try:
        proc.run(["virsh", "-c", cfg.lab.libvirt_uri, "version"], timeout=15, quiet=True)
        return [Finding("libvirtd", OK, f"reachable at {cfg.lab.libvirt_uri}")]
    except ToolError as exc:
        why = exc.message.split(": ", 1)[-1]
    return [Finding("libvirtd", WARN, f"not reachable at {cfg.lab.libvirt_uri} ({why}): start it "
                    "(systemctl start libvirtd, or 'libvirtd -d' without systemd) before 'vagrant up'")]


def check_uplink(cfg) -> list[Finding]:
    """The real flavours download an ISO and DevStack: is there a route out at all?

    Asks the kernel's routing table only; sends no packet.
    """
    if not flavours.load(cfg).needs_uplink or cfg.iso.path:
        return []
    try:
        proc.run(["ip", "route", "get", "1.1.1.1"], timeout=5, quiet=True)
        routed = True
    except ToolError:
        routed = False
    if routed:
        return [Finding("uplink", OK, "a default route exists (the ISO and DevStack are downloaded)")]
    return [Finding("uplink", WARN, "no route to the internet: give the ISO as iso.path, or use --flavour standin")]


CHECKS = [check_tools, check_kvm, check_resources, check_libvirt, check_uplink]


def run(cfg, as_json: bool = False) -> int:
    findings = [f for check in CHECKS for f in check(cfg)]
    if as_json:
        console.say(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        for f in findings:
            console.say(f"{f.verdict:>4}  {f.check:<26} {f.detail}")
    failed = [f for f in findings if f.verdict == FAIL]
    warned = [f for f in findings if f.verdict == WARN]
    if not as_json:
        console.say(f"doctor: {len(findings)} checks, {len(warned)} warnings, {len(failed)} failures")
    return 3 if failed else 0


def is_root() -> bool:
    return os.geteuid() == 0
