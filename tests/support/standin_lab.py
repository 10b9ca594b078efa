"""The small stand-in lab the VM tests and benchmarks bring up (two TCG machines).

One shape for everyone, and one way to drive it: `StandinLab` runs `invoke`,
plain `vagrant` and `ssh` inside a network namespace the caller made (only `lo`,
libvirtd started there), so the guests have no uplink and nothing talks to a
private address from the root namespace. Downloads the lab needs from registries
(Debian's archive for the base image, PyPI for os-xenapi) happen first, in the
root namespace (`prefetch`).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from xenlab.core import config
from xenlab.core.paths import PROJECT_DIR

# The stand-in box's root/XenAPI password is the lab password it was built with.
PASSWORD = os.environ.get("XENLAB_PASSWORD") or "xenlab-test-Pw1"
INVOKE = str(PROJECT_DIR / ".venv" / "bin" / "invoke")


def config_toml(name: str, libvirt_uri: str = "", network: str = "") -> str:
    """xenlab.toml for a stand-in lab called `name`: as small as the machines go; on the libvirt
    host `libvirt_uri` names (default: this machine's), with `network`'s [network] settings."""
    return (
        f'[lab]\nname = "{name}"\nflavour = "standin"\naccelerator = "tcg"\n'
        + (f'libvirt_uri = "{libvirt_uri}"\n' if libvirt_uri else "")
        + "[xenserver]\nmemory_mb = 2048\ncpus = 1\n"
        "[devstack]\nmemory_mb = 1024\ncpus = 1\n"
        + (f"[network]\n{network}" if network else "")
    )


class StandinLab:
    """A stand-in lab whose config is `root/<config>` (labs side by side share a root)."""

    def __init__(self, ns, root: Path, name: str, password: str = PASSWORD, vagrant_home: Path | None = None,
                 libvirt_uri: str = "", network: str = "", config: str = "xenlab.toml"):
        self.ns, self.root, self.name = ns, root, name
        (root / config).write_text(config_toml(name, libvirt_uri, network))
        self.config = root / config
        self.env = {"XENLAB_PASSWORD": password, "XENLAB_CONFIG": str(self.config), "CI": "true"}
        if vagrant_home:
            self.env["VAGRANT_HOME"] = str(vagrant_home)
        self.outputs: list[str] = []
        self.timings: list[tuple[str, float]] = []

    @property
    def cfg(self):
        return config.load(self.config, environ=self.env)

    def prefetch(self) -> None:
        """What the namespace cannot download: the base image, the os-xenapi sdist, Nova's probe tree."""
        from xenlab.devstack import probe
        from xenlab.images import baseimage
        from xenlab.xenserver import osxenapi

        cfg = self.cfg
        baseimage.ensure(self.root / "prefetch.log")
        osxenapi.sdist(cfg.devstack.os_xenapi_version)
        probe.ensure_image(self.root / "prefetch.log")

    def _run(self, argv, label: str, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = self.ns.run(argv, env={**self.env, **(env or {})}, cwd=PROJECT_DIR, timeout=timeout, check=False)
        self.timings.append((label, time.monotonic() - started))
        self.outputs += [done.stdout, done.stderr]
        return done

    def invoke(self, *args: str, timeout: float = 2400) -> subprocess.CompletedProcess:
        return self._run([INVOKE, *args], f"invoke {' '.join(args)}", timeout)

    def vagrant(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        """Plain `vagrant` as a user runs it in the checkout (not driven by xenlab): the lab
        named, Vagrant's data folder left to the Vagrantfile (the lab's own)."""
        return self._run(["vagrant", *args], f"vagrant {' '.join(args)}", timeout,
                         {"XENLAB_LAB_SPEC": str(self.cfg.paths.spec)})

    def ssh(self, machine: str, command: str, input: str | None = None, timeout: float = 120):
        """A command on a machine, through the ssh config verify keeps (`ssh -F` it)."""
        return self.ns.run(["ssh", "-F", str(self.cfg.paths.ssh_config), machine, command], input=input,
                           timeout=timeout, check=False)

    def report_timings(self) -> str:
        return ", ".join(f"{label}: {seconds:.0f}" for label, seconds in self.timings)
