"""The KVM probe's kernel: the one on this host (or the one ./bootstrap fetched into
the cache when /boot has none) really boots and prints what the probe waits for.

Booted under TCG with no disk, no NIC and no network (`-nodefaults`): the same
serial-console check the probe makes under KVM, on a host where KVM cannot run it.
"""

from __future__ import annotations

from tests.support.prereq import missing, require_tool
from xenlab.core import kvm


def test_the_probe_kernel_boots_to_its_root_fs_lookup():
    require_tool("qemu-system-x86_64")
    kernel = kvm.probe_kernel()
    if kernel is None:
        missing(f"no kernel in /boot and none at {kvm.probe_kernel_cache()}: run ./bootstrap")
    booted, line = kvm.boot_kernel(kernel, "tcg", timeout=180)
    assert booted, f"{kernel} did not reach its root file system lookup under TCG: {line}"
    assert kvm.BOOTED.search(line)
