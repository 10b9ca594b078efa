"""The one list of system tools: complete (every tool the code runs is in it) and sound."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import hcl2
import pytest

from xenlab.core import config, flavours, hosttools
from xenlab.stages import lifecycle
from xenlab.core.paths import PACKER_DIR, PACKAGE_DIR, PROJECT_DIR, VAGRANTFILE
from xenlab.images import baseimage

LISTED = {t.name for t in hosttools.tools()}
# Calls whose first argument is a command line (its first word the tool) or a tool's name.
RUNS = {"run", "start", "tool_version", "_quietly"}
NAMES = {"require", "which", "require_tool"}
# What Packer's builders and Vagrant's providers run on the host.
BUILDER_TOOLS = {"qemu": {"qemu-system-x86_64", "qemu-img"}, "virtualbox-iso": {"VBoxManage"}}
PROVIDER_TOOLS = {"libvirt": {"libvirtd", "virsh"}, "virtualbox": {"VBoxManage"}}


def _words(node, loops) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        return set(loops.get(node.id, ()))
    return set()


def required_by(files) -> set[str]:
    """Tool names in proc.require/shutil.which/require_tool calls and literal command lines."""
    found: set[str] = set()
    for path in files:
        tree = ast.parse(path.read_text())
        loops = {n.target.id: [e.value for e in n.iter.elts if isinstance(e, ast.Constant)]
                 for n in ast.walk(tree) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
                 and isinstance(n.iter, (ast.Tuple, ast.List))}
        for n in ast.walk(tree):
            if not isinstance(n, ast.Call) or not n.args:
                continue
            name = getattr(n.func, "attr", getattr(n.func, "id", ""))
            if name in NAMES:
                for arg in n.args if name == "require_tool" else n.args[:1]:
                    found |= _words(arg, loops)
            elif name in RUNS and isinstance(n.args[0], ast.List) and n.args[0].elts:
                found |= _words(n.args[0].elts[0], loops)
    return {Path(t).name for t in found if t and not t.startswith("-")}


def test_every_tool_the_code_runs_is_listed():
    code = required_by(PACKAGE_DIR.rglob("*.py"))
    assert {"parted", "debootstrap", "qemu-img", "ssh-keygen", "virsh", "losetup"} <= code  # the scan sees them
    assert code - LISTED == set()


def test_every_tool_the_tests_require_is_listed():
    tests = required_by((PROJECT_DIR / "tests").rglob("*.py"))
    assert {"sshd", "libvirtd", "shellcheck"} <= tests
    assert tests - LISTED == set()


def test_every_tool_packer_s_builders_and_the_vagrantfile_use_is_listed():
    sources = hcl2.loads((PACKER_DIR / "sources.pkr.hcl").read_text())["source"]
    builders = {flavours.plain(kind) for block in sources for kind in block}
    assert builders <= set(BUILDER_TOOLS), f"which tools does a new builder run? {builders}"
    used = set().union(*(BUILDER_TOOLS[b] for b in builders))
    vagrantfile = VAGRANTFILE.read_text()
    used |= set().union(*(tools for provider, tools in PROVIDER_TOOLS.items()
                          if f"provider :{provider}" in vagrantfile))
    if re.search(r'type: "rsync"', vagrantfile):
        used.add("rsync")
    assert used - LISTED == set()


def test_stages_and_tags_name_what_exists():
    stages = set(lifecycle.names()) | {"doctor", "bootstrap", "tests"}
    providers = set(typing.get_args(config.Lab.model_fields["provider"].annotation))
    builds = {f"build:{f.packer_build}" for f in flavours.all_flavours()}
    for tool in (*hosttools.tools(), *hosttools.vagrant_plugins()):
        assert tool.package and tool.why, tool
        assert set(tool.stages) <= stages, tool
        assert set(tool.when) <= providers | builds, tool
        assert tool.install or tool.fix, f"{tool.name}: say where it comes from"
        assert not tool.version or tool.version[0] == tool.name, tool


def test_what_bootstrap_itself_runs_is_listed():
    text = (PROJECT_DIR / "bootstrap").read_text()
    runs = {word for word in ("apt-get", "apt-cache", "dpkg-query", "dpkg-deb") if re.search(rf"\b{word}\b", text)}
    assert runs == {"apt-get", "apt-cache", "dpkg-query", "dpkg-deb"} and runs <= LISTED


def test_bootstrap_installs_every_package_debian_has_once():
    packages = hosttools.packages()
    assert len(packages) == len(set(packages))
    assert "parted" in packages and "e2fsprogs" in packages and "vagrant-libvirt" in packages
    assert "virtualbox" not in packages  # not in Debian 12: doctor names where it comes from


def test_a_lab_needs_its_stages_its_provider_and_its_build():
    standin = hosttools.lab_tags("libvirt", "standin")
    real_vbox = hosttools.lab_tags("virtualbox", "xenserver")
    build = {t.name for t in hosttools.needed(["build"], standin)}
    assert {"packer", "vagrant", "debootstrap", "parted", "qemu-img"} <= build and "ssh" not in build
    assert {t.name for t in hosttools.needed(["wire"], standin)} == {"ssh", "ssh-keygen"}
    vbox = {t.name for t in hosttools.needed(lifecycle.names(), real_vbox)}
    assert "VBoxManage" in vbox and not {"virsh", "debootstrap", "parted"} & vbox
    # Run by daemons or tests, not by xenlab: never looked for.
    assert not {"libvirtd", "dnsmasq", "sshd"} & {t.name for t in hosttools.needed(lifecycle.names(), standin)}


def test_the_flavour_and_the_base_image_read_their_tools_from_the_list():
    standin = flavours.load_file(PACKER_DIR / "flavours" / "standin.pkrvars.hcl")
    assert set(baseimage.TOOLS) == set(standin.host_tools) == set(hosttools.build_tools("standin"))
    assert {"debootstrap", "parted", "losetup", "mkfs.ext4", "mount", "chroot", "qemu-img"} <= set(standin.host_tools)


def test_a_flavour_file_cannot_name_tools_of_its_own(tmp_path):
    """The list is the one place: a flavour's tools come from it, never from the flavour file."""
    bad = tmp_path / "bad.pkrvars.hcl"
    bad.write_text('flavour = "bad"\nproduct = "x"\npacker_build = "standin"\nhost_tools = ["gparted"]\n')
    with pytest.raises(Exception, match="unknown setting 'host_tools'"):
        flavours.load_file(bad)


def test_an_unknown_key_in_the_list_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "host-tools.toml"
    bad.write_text('[tool.x]\npackage = "x"\nwhy = "y"\nstages = ["build"]\npakage = "typo"\n')
    monkeypatch.setattr(hosttools, "LIST", bad)
    hosttools._load.cache_clear()
    try:
        with pytest.raises(hosttools.BadList, match="pakage"):
            hosttools.tools()
    finally:
        hosttools._load.cache_clear()
