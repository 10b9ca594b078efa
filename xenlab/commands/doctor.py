"""`doctor`: preflight checks, each with a clear verdict and what to do.

Verdicts: ok, warn (the lab still works, maybe slowly or with limits) and fail
(a stage cannot run). Exit code 0 unless something fails.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass

from ..core import console, hosttools, kvm, proc
from ..stages import lifecycle
from ..core.proc import tool_version
from ..errors import HostError, ToolError
from ..machines import libvirt, libvirtd, libvirthost

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: str
    detail: str


# What doctor looks at: every stage of the lifecycle, and its own probes.
ALL_STAGES = (*lifecycle.names(), "doctor")


def _lab_tags(cfg) -> set[str]:
    return hosttools.lab_tags(cfg.lab.provider, cfg.flavour.packer_build)


def check_tools(cfg, stages=ALL_STAGES, versions: bool = True) -> list[Finding]:
    """The tools (host-tools.toml) the lab needs for `stages`; `versions` runs each to show its version."""
    tags = _lab_tags(cfg)
    out = []
    for tool in hosttools.needed(stages, tags):
        path = tool.find()
        if not path:
            out.append(Finding(f"tool {tool.name}", FAIL, f"missing ({tool.why}): {tool.remedy()}"))
            continue
        version = tool_version([path, *tool.version[1:]]) if versions and tool.version else None
        out.append(Finding(f"tool {tool.name}", OK, version or path))
    plugins = hosttools.needed(stages, tags, hosttools.vagrant_plugins())
    if plugins and shutil.which("vagrant"):
        installed = _vagrant_plugins()
        for plugin in plugins:
            if plugin.name in installed:
                out.append(Finding(plugin.name, OK, "Vagrant plugin installed"))
            else:
                out.append(Finding(plugin.name, FAIL, f"Vagrant plugin missing ({plugin.why}): {plugin.remedy()}"))
    return out


def _vagrant_plugins() -> set[str]:
    """Names `vagrant plugin list` shows, one plugin a line: `vagrant-libvirt (0.11.2, system)`."""
    try:
        listed = proc.run(["vagrant", "plugin", "list"], timeout=60, quiet=True)
    except ToolError:
        return set()
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


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
    flavour = cfg.flavour
    if flavour.needs_kvm:
        if not finding.usable and cfg.lab.accelerator == "tcg":
            # Asked for by name: allowed, but said plainly.
            out.append(Finding("nested-virt", WARN, f"{flavour.product} under TCG (lab.accelerator = 'tcg'): its "
                               "install takes hours and Xen's own guests cannot start"))
        elif not finding.usable:
            # Under TCG its install takes hours and Xen's own guests cannot start.
            out.append(Finding("nested-virt", FAIL, f"{flavour.product} runs Xen inside a VM: this host's KVM cannot "
                               f"run a guest ({finding.reason}): use a host with nested KVM, or --flavour standin"))
        elif finding.nested != "yes":
            out.append(Finding("nested-virt", WARN, f"nested virtualisation is {finding.nested}: set "
                               "'options kvm_intel nested=1' (or kvm_amd) and reload the module"))
        else:
            out.append(Finding("nested-virt", OK, "enabled"))
    return out


def check_kvm_device(cfg) -> list[Finding]:
    """libvirt's QEMU capability cache holds only while the QEMU user (group kvm) can
    open /dev/kvm (libvirt 9.0 qemu_capabilities.c, virQEMUCapsIsValid)."""
    device = kvm.KVM_DEVICE
    if cfg.lab.provider != "libvirt" or not device.exists() or _remote(cfg):
        return []
    st = device.stat()
    try:
        import grp

        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    if group == "kvm" and st.st_mode & 0o060 == 0o060:
        return [Finding("kvm-device", OK, f"{device} is group kvm, mode {st.st_mode & 0o777:o}")]
    return [Finding("kvm-device", WARN, f"{device} is group {group}, mode {st.st_mode & 0o777:o}: libvirt probes "
                    f"QEMU again on every call (seconds each); `chgrp kvm {device} && chmod 0660 {device}`, as "
                    "Debian's udev rule does (./bootstrap does it)")]


def _meminfo_mb(key: str) -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    return 0


def check_memory(cfg) -> list[Finding]:
    if _remote(cfg):
        return []  # the machines' memory is the libvirt host's: check_libvirt_host
    need_mb = cfg.xenserver.memory_mb + cfg.devstack.memory_mb
    have_mb = _meminfo_mb("MemAvailable")
    return [Finding("memory", OK if have_mb >= need_mb else WARN,
                    f"{have_mb} MiB available, the lab's machines ask for {need_mb} MiB")]


def check_disk(cfg) -> list[Finding]:
    cfg.root.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(cfg.root).free // 2**30
    need_gb = cfg.flavour.disk_gb_needed  # box + images + build copy
    return [Finding("disk", OK if free_gb >= need_gb else WARN,
                    f"{free_gb} GiB free under {cfg.root}, about {need_gb} GiB needed")]


def check_libvirt(cfg) -> list[Finding]:
    """The check `up` makes before Vagrant runs (machines.libvirt.check, starting nothing),
    and, for the local daemon, who runs it: systemd, xenlab, something else, or nobody.
    A remote host that lacks libvirtd, the user's libvirt group or SSH is a failure: no
    stage that needs it can run until it is fixed there."""
    if cfg.lab.provider != "libvirt" or not shutil.which("virsh"):
        return []
    who = f"; {libvirtd.who().describe()}" if libvirtd.local(cfg.lab.libvirt_uri) else ""
    try:
        libvirt.check(cfg, start=False)
    except HostError as exc:
        if _remote(cfg):
            return [Finding("libvirtd", FAIL, exc.message)]
        if libvirtd.startable(cfg.lab.libvirt_uri):
            return [Finding("libvirtd", WARN, libvirtd.who().describe())]
        return [Finding("libvirtd", WARN, f"{exc.message} (before `invoke up`){who}")]
    return [Finding("libvirtd", OK, f"reachable at {cfg.lab.libvirt_uri}{who}")]


def _remote(cfg) -> bool:
    return cfg.lab.provider == "libvirt" and libvirthost.of(cfg).remote


def check_libvirt_host(cfg) -> list[Finding]:
    """A remote libvirt host, where the machines run: its KVM (nested, for a real flavour), its
    memory and the disk of its storage pool, each with the fix named (asked over its SSH)."""
    if not _remote(cfg) or not shutil.which("virsh"):
        return []
    host = libvirthost.of(cfg)
    if not libvirt.answers(cfg):
        return []  # check_libvirt says what is missing
    on = f"on {host.hostname}"
    out = []
    try:
        offered = libvirthost.kvm_offered(cfg)
        facts = libvirthost.facts(cfg, libvirt.pool_path(cfg.lab.libvirt_uri))
    except (HostError, ToolError) as exc:
        return [Finding("libvirt host", FAIL, f"{host.describe()} answers libvirt but not a shell over SSH "
                                              f"({exc.message[:160]}): xenlab needs both there")]
    nested, memory_mb, free_gb = (facts.nested if offered else "unknown"), facts.memory_available_mb, facts.disk_free_gb
    flavour = cfg.flavour
    if flavour.needs_kvm and cfg.lab.accelerator == "tcg":
        out.append(Finding("nested-virt (host)", WARN, f"{flavour.product} under TCG (lab.accelerator = 'tcg'): "
                           "its install takes hours and Xen's own guests cannot start"))
    elif flavour.needs_kvm and not offered:
        out.append(Finding("nested-virt (host)", FAIL, f"{flavour.product} runs Xen inside a VM, and libvirt {on} "
                           "offers no KVM: use a host with KVM (kvm_intel or kvm_amd loaded), or --flavour standin"))
    elif flavour.needs_kvm and nested != "yes":
        out.append(Finding("nested-virt (host)", FAIL, f"{flavour.product} runs Xen inside a VM, and nested "
                           f"virtualisation {on} is {nested}: set 'options kvm_intel nested=1' (or kvm_amd) there "
                           "and reload the module"))
    elif cfg.lab.accelerator == "kvm" and not offered:
        out.append(Finding("kvm (host)", FAIL, f"lab.accelerator is 'kvm' but libvirt {on} offers no KVM: set it "
                                               "to auto or tcg"))
    else:
        out.append(Finding("kvm (host)", OK, f"the machines run under {libvirthost.accelerator(cfg).upper()} {on}"
                                             + (f", nested virtualisation {nested}" if offered else "")))
    need_mb = cfg.xenserver.memory_mb + cfg.devstack.memory_mb
    out.append(Finding("memory (host)", OK if memory_mb >= need_mb else WARN,
                       f"{memory_mb} MiB available {on}, the lab's machines ask for {need_mb} MiB"))
    need_gb = cfg.flavour.disk_gb_needed
    out.append(Finding("disk (host)", OK if free_gb >= need_gb else WARN,
                       f"{free_gb} GiB free for libvirt's pool {on}, about {need_gb} GiB needed"
                       + ("" if free_gb >= need_gb else ": free some there (`virsh pool-info default`)")))
    return out


def check_uplink(cfg) -> list[Finding]:
    """The real flavours download an ISO and DevStack: is there a route out at all?

    Asks the kernel's routing table only; sends no packet.
    """
    if not cfg.flavour.needs_uplink or cfg.iso.path:
        return []
    try:
        proc.run([hosttools.tool("ip").find() or "ip", "route", "get", "1.1.1.1"], timeout=5, quiet=True)
        routed = True
    except ToolError:
        routed = False
    if routed:
        return [Finding("uplink", OK, "a default route exists (the ISO and DevStack are downloaded)")]
    return [Finding("uplink", WARN, "no route to the internet: give the ISO as iso.path, or use --flavour standin")]


CHECKS = [check_tools, check_kvm, check_kvm_device, check_memory, check_disk, check_libvirt, check_libvirt_host,
          check_uplink]


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
