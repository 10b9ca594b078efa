"""The lab's own image: a tiny disk as a XenServer VHD tarball, the shape DevStack's
xenserver image has (cirros-0.3.5-x86_64-disk.vhd.tgz) and Nova's glance path takes.

os-xenapi 0.3.4's dom0 plugin glance.py (download_vhd2) pipes the image into `tar -zx`
(utils.extract_tarball) and utils.import_vhds then takes 0.vhd [,1.vhd ...], 0.vhd
being the leaf of the chain: so a gzipped tar holding one dynamic VHD, 0.vhd, made
by `qemu-img convert -O vpc` from a raw disk with a label at each end (no operating
system: the stand-in runs no guest).

    path = vhd.ensure(log)     # built once per inputs(), cached; same inputs, same bytes

Deterministic, so that it can be part of a digest: qemu-img stamps every VHD with the
time and a random unique id (QEMU block/vpc.c, vpc_co_create), so both are set here
(timestamp 0, the id from the disk's digest) and the footer's checksum recomputed
(Microsoft's VHD format specification: footer at the end, a copy at offset 0 in a
dynamic disk); the tar members and the gzip header carry no time or owner. What stays
qemu-img's is its layout of the VHD, so the same bytes need the same qemu-img.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
import tempfile
import uuid
from pathlib import Path

from ..core import proc
from ..core.files import digest, write_file
from ..core.paths import cache_dir
from ..errors import ToolError

# The file name DevStack's upload_image reads the image's name from (name.vhd.tgz).
FILE_NAME = "xenlab-test-disk.vhd.tgz"
SUFFIX = ".vhd.tgz"
SIZE = 4 * 2**20  # two of a dynamic VHD's 2 MiB blocks, both holding a label
SECTOR = 512
LABEL = b"xenlab test disk: a stand-in image with no operating system\n"
# Dynamic, as XenServer's VHDs are; force_size keeps the disk's exact size (else
# qemu rounds it up to a CHS geometry).
QEMU_OPTIONS = "subformat=dynamic,force_size=on"
# Bump when the bytes this module makes change for the same parameters.
SHAPE = "vhd-1"
UUID_NAMESPACE = uuid.UUID("6f1e2a4c-55c1-4d47-9a53-7a3f2f0c9e10")
QEMU_TIMEOUT = 120

# VHD footer (512 bytes, big-endian): the offsets this module reads or sets.
COOKIE = b"conectix"
TIMESTAMP = slice(24, 28)
CHECKSUM = slice(64, 68)
UNIQUE_ID = slice(68, 84)
FOOTER = 512


def image_name(file_name: str = FILE_NAME) -> str:
    """The name DevStack's upload_image gives a .vhd.tgz image (devstack functions, ussuri-eol)."""
    return file_name[: -len(SUFFIX)] if file_name.endswith(SUFFIX) else file_name


def inputs() -> str:
    """What the bytes follow (qemu-img's version aside): a digest cheap enough for a lab spec."""
    return digest(SHAPE, FILE_NAME, str(SIZE), LABEL, QEMU_OPTIONS)


def raw_disk() -> bytes:
    label = LABEL.ljust(SECTOR, b"\0")
    return label + bytes(SIZE - 2 * SECTOR) + label


def footer_checksum(footer: bytes) -> int:
    """One's complement of the byte sum, the checksum field counted as zero."""
    total = sum(footer[: CHECKSUM.start]) + sum(footer[CHECKSUM.stop:])
    return ~total & 0xFFFFFFFF


def set_footer(footer: bytes, unique_id: bytes, timestamp: int = 0) -> bytes:
    if len(footer) != FOOTER or not footer.startswith(COOKIE):
        raise ValueError("not a VHD footer (no conectix cookie)")
    out = bytearray(footer)
    out[TIMESTAMP] = struct.pack(">I", timestamp)
    out[UNIQUE_ID] = unique_id
    out[CHECKSUM] = struct.pack(">I", footer_checksum(bytes(out)))
    return bytes(out)


def normalise(vhd: bytes, unique_id: bytes) -> bytes:
    """The VHD with a fixed timestamp and unique id in its footer and, for a dynamic
    disk, in the footer's copy at offset 0."""
    if len(vhd) < FOOTER or vhd[-FOOTER:][: len(COOKIE)] != COOKIE:
        raise ValueError("not a VHD: no footer at its end")
    out = bytearray(vhd)
    out[-FOOTER:] = set_footer(vhd[-FOOTER:], unique_id)
    if vhd.startswith(COOKIE):
        out[:FOOTER] = set_footer(vhd[:FOOTER], unique_id)
    return bytes(out)


def tarball(members: dict[str, bytes]) -> bytes:
    """A gzipped ustar archive of the members, in the order given, with no time or owner."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=9, mtime=0)


def convert(raw: bytes, log: Path | None = None) -> bytes:
    """`qemu-img convert -O vpc` of the raw disk: the VHD's bytes, as qemu-img wrote them."""
    qemu_img = proc.require("qemu-img")
    with tempfile.TemporaryDirectory(prefix="xenlab-vhd-") as tmp:
        src, dst = Path(tmp) / "disk.raw", Path(tmp) / "0.vhd"
        write_file(src, raw)
        proc.run([qemu_img, "convert", "-f", "raw", "-O", "vpc", "-o", QEMU_OPTIONS, str(src), str(dst)],
                 log=log, timeout=QEMU_TIMEOUT, quiet=True, what="qemu-img convert -O vpc (the lab's image)")
        return dst.read_bytes()


def make(log: Path | None = None) -> bytes:
    """The image's bytes: the tarball os-xenapi's glance plugin takes."""
    raw = raw_disk()
    unique_id = uuid.uuid5(UUID_NAMESPACE, hashlib.sha256(raw).hexdigest()).bytes
    try:
        vhd = normalise(convert(raw, log), unique_id)
    except ValueError as exc:
        raise ToolError(f"qemu-img convert -O vpc wrote no VHD: {exc}") from None
    return tarball({"0.vhd": vhd})


def path() -> Path:
    return cache_dir() / "images" / inputs()[:16] / FILE_NAME


def ensure(log: Path | None = None) -> Path:
    """The image file, made once per inputs() (an atomic write: never half a file)."""
    target = path()
    if not target.is_file():
        write_file(target, make(log))
    return target
