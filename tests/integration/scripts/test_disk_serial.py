"""The XenServer machine's IDE disk has one serial in Packer's build and in the lab, so
the /dev/disk/by-id name the installer wrote for the SR partition still exists in
every copy (packer/sources.pkr.hcl says why).

Both sides from their real artefacts, without libvirtd: the QEMU arguments Packer
itself starts the build with (the real template, a stand-in ISO, read from Packer's
log), and the QEMU arguments the Vagrantfile hands vagrant-libvirt (read from Vagrant's
own evaluation of it), the latter beside the disk device libvirt makes for the box's
volume on IDE. Each runs in a paused QEMU, whose device tree says the serial.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import labs
from tests.support.netns import Netns
from tests.support.prereq import require_root, require_tool
from xenlab.core import config, flavours
from xenlab.core.files import write_file
from xenlab.core.paths import PROJECT_DIR
from xenlab.images import packer
from xenlab.stages import plan

FLAVOUR = "xcp-ng-8.3"
FLAVOUR_DATA = flavours.load_file(PROJECT_DIR / "packer" / "flavours" / f"{FLAVOUR}.pkrvars.hcl")
PINNED = FLAVOUR_DATA.disk_serial
# What libvirt 9 starts QEMU with for vagrant-libvirt's box volume on IDE (domain.xml.erb:
# <disk><alias name='ua-box-volume-0'/><target dev='hda' bus='ide'/>): a -device on the
# first IDE slot, in the JSON syntax libvirt uses with this QEMU.
LIBVIRT_BOX_DISK = ["-device", json.dumps({"driver": "ide-hd", "bus": "ide.0", "unit": 0, "drive": "box",
                                           "id": "ua-box-volume-0", "bootindex": 1})]


def ide_disk_serials(args: list[str], disk: Path) -> list[str]:
    """The serials QEMU gives its ide-hd devices with these arguments (paused, never booted)."""
    require_tool("qemu-system-x86_64", "qemu-img")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True, timeout=60)
    done = subprocess.run(["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-display", "none", "-S",
                           "-monitor", "stdio", "-nic", "none", *args], input="info qtree\nquit\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    devices = done.stdout.split("dev: ")
    return [re.search(r'serial = "([^"]*)"', d).group(1) for d in devices if d.startswith("ide-hd,")]


def test_the_ide_flavours_pin_one_serial():
    assert PINNED == "QM00001"


def packer_qemu_argv(tmp_path: Path) -> list[str]:
    """What the real template starts QEMU with: `packer build`, stopped by its SSH timeout."""
    require_root()
    require_tool("packer")
    cfg = labs.load(tmp_path, FLAVOUR)
    fl = FLAVOUR_DATA
    write_file(cfg.paths.packer_vars, packer.render_vars(cfg))
    fake = tmp_path / "fake.iso"
    fake.write_bytes(b"\0" * 2**20)
    (tmp_path / "http").mkdir()
    extra = {"iso_url": str(fake), "iso_checksum": "none", "http_directory": str(tmp_path / "http"),
             "output_directory": str(tmp_path / "out"), "box_output": str(tmp_path / "x.box"),
             "disk_gb": "1", "boot_wait": "0s", "install_timeout": "3s"}
    argv = packer.argv("build", cfg, fl, extra)
    argv.insert(argv.index("-var-file=" + str(cfg.paths.packer_vars)) + 1, "-var=boot_command=[]")
    log = tmp_path / "packer.log"
    with Netns() as ns:
        done = ns.run(argv, timeout=300, check=False,
                      env={**packer.secret_env(cfg), "PACKER_LOG": "1", "PACKER_LOG_PATH": str(log)})
    assert done.returncode != 0  # no installer on the stand-in ISO: SSH never answers
    line = next((ln for ln in log.read_text().splitlines() if "Executing /usr/bin/qemu-system-x86_64:" in ln),
                None)
    assert line, f"Packer did not start QEMU:\n{done.stdout[-3000:]}"
    return re.findall(r'"((?:[^"\\]|\\.)*)"', line.split("[]string{", 1)[1])


def test_packer_gives_the_disk_the_pinned_serial(tmp_path):
    argv = packer_qemu_argv(tmp_path)
    pairs = list(zip(argv[::2], argv[1::2]))
    assert ("-global", f"ide-hd.serial={PINNED}") in pairs
    # Rerun paused with Packer's drives (the disk on a fresh image), its globals and machine.
    disk = tmp_path / "disk.qcow2"
    keep = []
    for flag, value in pairs:
        if flag == "-drive" and "media=cdrom" not in value:
            value = re.sub(r"file=[^,]*", f"file={disk}", value)
        if flag in ("-drive", "-global"):
            keep += [flag, value]
    assert ide_disk_serials(keep, disk) == [PINNED]


# Loads the project's Vagrantfile with vagrant-libvirt's config validation wrapped to print
# each machine's final qemuargs (what create_domain puts in <qemu:commandline>).
PRINTING_VAGRANTFILE = """\
require "json"
require "vagrant-libvirt/config"
VagrantPlugins::ProviderLibvirt::Config.prepend(Module.new do
  def validate(machine)
    $stderr.puts("QEMUARGS #{machine.name} " + JSON.dump(qemu_args.map { |a| a[:value] }))
    super
  end
end)
load PROJECT_VAGRANTFILE
"""


def vagrant_qemu_args(tmp_path: Path, flavour: str) -> list[str]:
    """The qemuargs the project's Vagrantfile gives vagrant-libvirt for the xenserver
    machine, as Vagrant itself finalises them (`vagrant validate`)."""
    require_tool("vagrant")
    (tmp_path / "xenlab.toml").write_text("")
    cfg = config.load(tmp_path / "xenlab.toml", overrides={"lab": {"flavour": flavour, "provider": "libvirt"}},
                      environ={"XENLAB_PASSWORD": "validate-only"})
    plan.render_all(cfg, quiet=True)
    (tmp_path / "Vagrantfile").write_text(
        PRINTING_VAGRANTFILE.replace("PROJECT_VAGRANTFILE", json.dumps(str(PROJECT_DIR / "Vagrantfile"))))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(Path.home()),
           "VAGRANT_DOTFILE_PATH": str(cfg.paths.vagrant_dotfile), "XENLAB_LAB_SPEC": str(cfg.lab_dir / "lab.json")}
    done = subprocess.run(["vagrant", "validate"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    found = [json.loads(line.split(" ", 2)[2]) for line in done.stderr.splitlines()
             if line.startswith("QEMUARGS xenserver ")]
    assert found, done.stderr
    return found[-1]


def test_the_lab_gives_the_box_disk_the_same_serial(tmp_path):
    args = vagrant_qemu_args(tmp_path, FLAVOUR)
    assert args == ["-global", f"ide-hd.serial={PINNED}"]
    disk = tmp_path / "box.qcow2"
    box_volume = ["-blockdev", json.dumps({"driver": "file", "filename": str(disk), "node-name": "box-file"}),
                  "-blockdev", json.dumps({"driver": "qcow2", "file": "box-file", "node-name": "box"})]
    assert ide_disk_serials([*box_volume, *LIBVIRT_BOX_DISK, *args], disk) == [PINNED]


@pytest.mark.parametrize("flavour", ["standin"])
def test_a_flavour_without_a_pinned_serial_passes_nothing(tmp_path, flavour):
    assert vagrant_qemu_args(tmp_path, flavour) == []
