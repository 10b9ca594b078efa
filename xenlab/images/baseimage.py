"""The stand-in's Debian base image, made with debootstrap and cached across labs.

The image is what a cloud image would be if one could be downloaded here: a
BIOS-booting bookworm disk with a kernel, grub, systemd-networkd (DHCP on every
NIC), sshd, sudo, python3, rsync, iptables, curl and a `vagrant` user. Packer's qemu
builder starts from it (`disk_image = true`) to make the stand-in XenServer box,
and packaged as it is it becomes the devstack-role box.

It is cached under ${XDG_CACHE_HOME:-~/.cache}/xenlab/ by the digest of its recipe
(this module, the scripts it runs in the chroot, the package list), so labs and test
runs share one copy and a changed recipe makes a new one. Building needs root
(loop devices, mount, chroot).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

from ..core import console, hosttools, proc
from ..core.files import digest, digest_tree, write_file
from ..core.paths import PACKER_DIR, cache_dir
from ..errors import HostError, ToolError

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = [
    "linux-image-amd64", "grub-pc-bin", "systemd-sysv", "udev", "dbus", "kmod",
    "openssh-server", "sudo", "python3", "rsync", "iptables", "iproute2", "procps",
    "netbase", "ifupdown",
    # What a dom0 has and the scripts and verify's checks use: curl (XAPI over HTTP).
    "curl",
]
LABEL = "xenlab-root"
# What building it needs on the host: the stand-in build's tools in the one list
# (xenlab/host-tools.toml), which bootstrap installs and doctor checks.
TOOLS = hosttools.build_tools("standin")
DISK_GB = 8  # sparse: the qcow2 holds only what is written
PART_OFFSET = 1024 * 1024  # first partition at 1 MiB; grub's core.img sits before it
SCRIPTS = PACKER_DIR / "scripts"
CHROOT_SCRIPTS = [SCRIPTS / "base" / "configure.sh", SCRIPTS / "common" / "vagrant-user.sh"]

# Kernel on the root partition, found by label: a clone's disk name never matters.
GRUB_CFG = f"""\
set timeout=1
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian GNU/Linux ({SUITE}, xenlab base image)' {{
    search --no-floppy --label --set=root {LABEL}
    linux /vmlinuz root=LABEL={LABEL} ro console=tty0 console=ttyS0,115200n8 net.ifnames=0
    initrd /initrd.img
}}
"""


def inputs() -> str:
    """Digest of the recipe: any change to it makes a new image."""
    return digest(SUITE, MIRROR, " ".join(PACKAGES), GRUB_CFG,
                  digest_tree(Path(__file__), *CHROOT_SCRIPTS))


def image_path() -> Path:
    return cache_dir() / f"base-{SUITE}-{inputs()[:16]}.qcow2"


def ensure(log: Path, force: bool = False) -> Path:
    """The cached image, built first when missing (or when forced)."""
    path = image_path()
    if path.is_file() and not force:
        console.say(f"    base image: cached {path}")
        return path
    if os.geteuid() != 0:
        raise HostError("building the stand-in base image needs root (loop devices, mount, chroot): "
                        "run as root, or copy a cached image into " + str(cache_dir()))
    for tool in TOOLS:
        proc.require(tool)
    path.parent.mkdir(parents=True, exist_ok=True)
    with console.stage(f"base image: debootstrap {SUITE} into {path.name}"):
        with tempfile.TemporaryDirectory(prefix=".base-", dir=path.parent) as tmp:
            qcow = _build(Path(tmp), log)
            os.replace(qcow, path)  # atomic: a killed build leaves no half image
    _prune(path)
    return path


def _build(tmp: Path, log: Path) -> Path:
    raw = tmp / "disk.raw"
    with raw.open("wb") as fh:
        fh.truncate(DISK_GB * 2**30)
    proc.run(["parted", "--script", str(raw), "mklabel", "msdos", "mkpart", "primary", "ext4",
              f"{PART_OFFSET}B", "100%", "set", "1", "boot", "on"], log=log, quiet=True, timeout=60)
    mnt = tmp / "root"
    mnt.mkdir()
    with ExitStack() as undo:
        # No partition device nodes without udev: a second loop device at the partition's offset.
        part = proc.run(["losetup", "--find", "--show", "--offset", str(PART_OFFSET),
                         "--sizelimit", str(DISK_GB * 2**30 - PART_OFFSET), str(raw)], log=log, quiet=True,
                        timeout=60).strip()
        undo.callback(_quietly, ["losetup", "-d", part])
        proc.run(["mkfs.ext4", "-q", "-L", LABEL, part], log=log, quiet=True, timeout=300)
        proc.run(["mount", part, str(mnt)], log=log, quiet=True, timeout=60)
        undo.callback(_quietly, ["umount", "-R", str(mnt)])
        debs = cache_dir() / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        proc.run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}", "--include=" + ",".join(PACKAGES),
                  SUITE, str(mnt), MIRROR], log=log, timeout=1800, what="debootstrap")
        for script in CHROOT_SCRIPTS:
            shutil.copy(script, mnt / "tmp" / script.name)
            proc.run(["chroot", str(mnt), "/bin/sh", f"/tmp/{script.name}"], log=log, what=script.name,
                     env={"LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}, timeout=600)
            (mnt / "tmp" / script.name).unlink(missing_ok=True)
        grub = mnt / "boot" / "grub"
        shutil.copytree(mnt / "usr/lib/grub/i386-pc", grub / "i386-pc", dirs_exist_ok=True)
        write_file(grub / "grub.cfg", GRUB_CFG)
        proc.run(["chroot", str(mnt), "grub-mkimage", "-O", "i386-pc", "-o", "/tmp/core.img",
                  "-p", "(hd0,msdos1)/boot/grub", "biosdisk", "part_msdos", "ext2", "search",
                  "search_label", "serial", "terminal", "normal", "linux"], log=log, what="grub-mkimage",
                 timeout=120)
        boot_img = (grub / "i386-pc" / "boot.img").read_bytes()
        core_img = (mnt / "tmp" / "core.img").read_bytes()
        (mnt / "tmp" / "core.img").unlink()
        if len(core_img) > PART_OFFSET - 512:
            raise ToolError(f"grub core.img is {len(core_img)} bytes, too big for the gap before the partition")
    _write_boot_code(raw, boot_img, core_img)
    qcow = tmp / "base.qcow2"
    proc.run(["qemu-img", "convert", "-O", "qcow2", "-c", str(raw), str(qcow)], log=log, quiet=True, timeout=1800)
    return qcow


def _write_boot_code(raw: Path, boot_img: bytes, core_img: bytes) -> None:
    """What grub-install does for a BIOS disk, without needing a partition device.

    boot.img's first 440 bytes go in the MBR (the partition table after them stays);
    core.img goes from sector 1, where boot.img's default kernel sector (1) and
    diskboot's default blocklist (from sector 2) expect it.
    """
    with raw.open("r+b") as fh:
        fh.write(boot_img[:440])
        fh.seek(512)
        fh.write(core_img)


def _quietly(cmd: list[str]) -> None:
    try:
        proc.run(cmd, quiet=True, timeout=60)
    except ToolError as exc:
        console.warn(f"clean-up: {exc.message}")


def _prune(keep: Path) -> None:
    """Older recipes' images are never used again."""
    for old in keep.parent.glob(f"base-{SUITE}-*.qcow2"):
        if old != keep:
            old.unlink(missing_ok=True)
