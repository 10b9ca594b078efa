"""Where everything lives: the checkout's own files, the cross-lab cache, and one
lab's folder. Every path is built here once; modules ask, they do not join.

A lab's folder, `.xenlab/<lab>/` beside its config, holds what its stages render
and record. Each file has one owner, named beside it: only that stage (or `plan`)
writes it, the others read it.
"""

from __future__ import annotations

import os
from pathlib import Path

# The checkout: Packer templates, flavour data, the Vagrantfile and its scripts
# live beside the package.
PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKER_DIR = PROJECT_DIR / "packer"
FLAVOUR_DIR = PACKER_DIR / "flavours"
VAGRANTFILE = PROJECT_DIR / "Vagrantfile"
VAGRANT_SCRIPTS = PROJECT_DIR / "vagrant"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # installed or in the checkout
SIM_DIR = PACKAGE_DIR / "sim"
SUITES_DIR = PACKAGE_DIR / "suites"  # the testinfra suites verify runs: they ship with the package
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
# The host's, not a lab's: the PID of the libvirtd xenlab started where no service
# manager runs one (machines/libvirtd.py); /run, so a restart of the host forgets it.
LIBVIRTD_STARTED = Path("/run/xenlab/libvirtd.pid")


def cache_dir() -> Path:
    """Shared by every lab and test run, where the XDG base directory spec puts caches."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xenlab"


# What .xenlab/ holds beside the labs' folders (LabPaths' shared paths): no lab can be
# called so (config refuses the name), and no such entry can take a lab's name.
SHARED_ENTRIES = {
    "active": "which lab a plain `vagrant up` brings up",
    "boxes": "the boxes every lab shares",
    "packer_cache": "Packer's download cache",
    "iso-digests.json": "the digests of local ISO files",
}


class LabPaths:
    """The paths of one lab: `LabPaths(root, name)`, root being the config's directory."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.workdir = root / ".xenlab"  # every lab under this root, and what they share
        self.lab_dir = self.workdir / name

    def _in(self, *parts: str) -> Path:
        return self.lab_dir.joinpath(*parts)

    # ---- shared by the labs under one root
    @property
    def active(self) -> Path:  # plan: which lab a plain `vagrant up` brings up
        return self.workdir / "active"

    @property
    def boxes(self) -> Path:  # build: box files and manifests
        return self.workdir / "boxes"

    @property
    def boxes_digest_key(self) -> Path:  # build: the key of its keyed digests, shared as the boxes are
        return self.boxes / ".secrets" / "digest-key"

    @property
    def packer_cache(self) -> Path:  # build: Packer's download cache (ISOs)
        return self.workdir / "packer_cache"

    @property
    def iso_digests(self) -> Path:  # build: digests of local files by (path, size, mtime)
        return self.workdir / "iso-digests.json"


    # ---- the lifecycle
    @property
    def state(self) -> Path:  # lifecycle: which stage finished, with which inputs
        return self._in("state.json")

    @property
    def spec(self) -> Path:  # plan: the lab spec the Vagrantfile reads
        return self._in("lab.json")

    @property
    def packer_vars(self) -> Path:  # plan: non-secret Packer variables
        return self._in("packer.pkrvars.json")

    def log(self, name: str) -> Path:  # whoever runs the tool named; 0600
        return self._in("logs", f"{name}.log")

    # ---- secrets (0700 folder, 0600 files)
    @property
    def secrets(self) -> Path:
        return self._in("secrets")

    @property
    def generated_password(self) -> Path:  # config: the password xenlab made for this lab
        return self.secrets / "password"

    @property
    def password_pin(self) -> Path:  # lifecycle: which password the lab was set up with (a hash)
        return self.secrets / "password-pin.json"

    @property
    def digest_key(self) -> Path:  # files: the key of keyed digests of secrets
        return self.secrets / "digest-key"

    # ---- wire
    @property
    def local_conf(self) -> Path:  # wire; 0600
        return self._in("devstack", "local.conf")

    @property
    def nova_conf(self) -> Path:  # wire; 0600
        return self._in("devstack", "nova.conf")

    @property
    def devstack_files(self) -> Path:  # wire: what the devstack machine is given
        return self._in("devstack")

    @property
    def facts(self) -> Path:  # wire: what XenAPI said about the host
        return self._in("wire", "facts.json")

    @property
    def ssh_dir(self) -> Path:  # wire: the DOMZERO key, dom0's host key, askpass
        return self._in("ssh")

    @property
    def domzero_key(self) -> Path:
        return self.ssh_dir / "domzero"

    @property
    def domzero_pub(self) -> Path:
        return self.ssh_dir / "domzero.pub"

    @property
    def known_hosts(self) -> Path:  # dom0's host key, recorded on first contact
        return self.ssh_dir / "known_hosts"

    @property
    def askpass(self) -> Path:  # prints the password from the environment (never stored)
        return self.ssh_dir / "askpass"

    # ---- the machines
    @property
    def vagrant_dotfile(self) -> Path:  # Vagrant (VAGRANT_DOTFILE_PATH): its data about this lab's machines
        return self._in("vagrant")

    @property
    def vagrant_ssh_config(self) -> Path:  # up stages: `vagrant ssh-config` of the machines they brought up
        return self.ssh_dir / "vagrant-ssh-config"

    # ---- verify
    @property
    def ssh_config(self) -> Path:  # verify: both machines, with connection sharing (`ssh -F` it)
        return self._in("ssh-config")

    def host_ssh_config(self, role: str) -> Path:  # verify --host: one host's ssh config
        return self._in(f"ssh-config-{role}")

    @property
    def verify_context(self) -> Path:  # verify: what the lab should look like (no secret)
        return self._in("verify-context.json")

    @property
    def reports(self) -> Path:  # verify: JUnit reports
        return self._in("reports")

    @property
    def report(self) -> Path:
        return self.reports / "verify.xml"

    # ---- snapshots (snapshot/restore): one folder each
    @property
    def snapshots(self) -> Path:
        return self._in("snapshots")

    # ---- sim
    @property
    def sim_plugins(self) -> Path:  # `invoke sim`'s default plugin directory
        return self._in("sim", "plugins")
