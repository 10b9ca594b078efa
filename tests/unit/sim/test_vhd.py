"""VHD files as vhd-util reads and writes them, against files QEMU writes (qemu-img convert -O vpc)."""

import shutil
import struct
import subprocess

import pytest

from tests.support.prereq import require_tool
from xenlab.sim import vhd

MIB = 2**20


@pytest.fixture
def image(tmp_path):
    """A 5 MiB disk with known bytes, as QEMU's vpc driver writes it (what the lab uploads to Glance)."""
    require_tool("qemu-img")
    raw = tmp_path / "disk.raw"
    data = bytes(range(256)) * (5 * MIB // 256)
    raw.write_bytes(data)
    out = tmp_path / "image.vhd"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", str(raw), str(out)], check=True,
                   timeout=60)
    return out, data


def test_a_qemu_made_vhd_reads_and_checks(image):
    path, data = image
    info = vhd.info(path)
    assert info.disk_type == vhd.DYNAMIC and info.parent is None and not info.hidden
    assert info.virtual_size >= len(data) - 64 * 1024 and info.physical_size == path.stat().st_size
    assert info.blocks == 3  # 5 MiB of data in 2 MiB blocks
    assert vhd.check(path) is None
    assert vhd.read_sectors(path, 4096, 4096) == data[4096:8192]


def test_check_reports_what_vhd_util_reports(image, tmp_path):
    """libvhd vhd_validate_footer/header: the first line vhd-util check prints for an invalid file."""
    path, _ = image
    bad = tmp_path / "bad.vhd"
    raw = bytearray(path.read_bytes())
    raw[-512] ^= 0xFF  # the footer's cookie
    bad.write_bytes(bytes(raw[:-512]) + bytes(raw[-512:]))
    raw0 = bytearray(path.read_bytes())
    raw0[-512 + 64] ^= 0x01  # the footer's checksum
    (tmp_path / "sum.vhd").write_bytes(bytes(raw0))
    assert vhd.check(tmp_path / "sum.vhd") == "primary footer invalid: invalid checksum"
    future = tmp_path / "future.vhd"
    shutil.copy(path, future)
    vhd.set_hidden(future, False)  # rewrites the footer with a valid checksum
    assert vhd.check(future, now=0) == "primary footer invalid: creation time in future"
    (tmp_path / "tiny.vhd").write_bytes(b"x" * 100)
    assert vhd.check(tmp_path / "tiny.vhd").startswith("primary footer invalid")


def test_a_snapshot_child_reads_through_to_its_parent(image, tmp_path):
    """vhd-util snapshot: an empty differencing disk whose locators name the parent; modify -p
    repoints it; a block written in the child hides the parent's."""
    path, data = image
    child = vhd.create(tmp_path / "child.vhd", 0, parent=path)
    assert child.disk_type == vhd.DIFFERENCING and child.parent == path.resolve() and child.blocks == 0
    assert child.virtual_size == vhd.info(path).virtual_size and vhd.check(child.path) is None
    assert vhd.read_sectors(child.path, 3 * MIB, 512) == data[3 * MIB:3 * MIB + 512]
    vhd.write_block(child.path, 0, b"new")
    assert vhd.read_sectors(child.path, 0, 4) == b"new\0" and vhd.read_sectors(path, 0, 4) == data[:4]
    moved = tmp_path / "sub"
    moved.mkdir()
    shutil.copy(path, moved / "renamed.vhd")
    vhd.set_parent(child.path, moved / "renamed.vhd")
    assert vhd.info(child.path).parent == (moved / "renamed.vhd").resolve() and vhd.check(child.path) is None
    assert vhd.depth(child.path) == 2


def test_a_child_whose_parent_changed_fails_the_check(image, tmp_path):
    """vhd-util check -p: the header's parent uuid must be the parent's footer uuid."""
    path, _ = image
    child = vhd.create(tmp_path / "child.vhd", 0, parent=path)
    other = vhd.create(tmp_path / "other.vhd", 4 * MIB)
    shutil.copy(other.path, path)
    assert vhd.check(child.path) == "parent invalid: parent uuid mismatch"
    path.unlink()
    assert vhd.check(child.path).startswith("parent locator invalid")


def test_hidden_resize_and_coalesce(image, tmp_path):
    """vhd-util set -f hidden, resize (grows only: the BAT grows with it), coalesce (the child's
    blocks written into the parent)."""
    path, data = image
    vhd.set_hidden(path)
    assert vhd.info(path).hidden and vhd.check(path) is None
    child = vhd.create(tmp_path / "child.vhd", 0, parent=path)
    vhd.resize(child.path, 64 * MIB)
    assert vhd.info(child.path).virtual_size == 64 * MIB and vhd.check(child.path) is None
    vhd.write_block(child.path, 20, b"far")
    assert vhd.coalesce(child.path) == path.resolve()
    merged = vhd.info(path)
    assert merged.virtual_size == 64 * MIB and merged.blocks == 4 and vhd.check(path) is None
    assert vhd.read_sectors(path, 20 * 2 * MIB, 3) == b"far" and vhd.read_sectors(path, MIB, 8) == data[MIB:MIB + 8]


def test_sizes_round_as_sm_rounds_them():
    """sm vhdutil.py validate_and_round_vhd_size: whole 2 MiB blocks, at most MAX_VHD_SIZE."""
    assert vhd.round_size(1) == 2 * MIB and vhd.round_size(2 * MIB + 1) == 4 * MIB
    with pytest.raises(vhd.VhdError):
        vhd.round_size(vhd.MAX_VHD_SIZE + 1)


def test_a_new_file_has_the_layout_of_the_spec(tmp_path):
    """Footer copy at 0, header at 512 pointing at the BAT right after it, footer at the end."""
    info = vhd.create(tmp_path / "new.vhd", 10 * MIB)
    raw = info.path.read_bytes()
    assert raw[:512] == raw[-512:] and raw[:8] == b"conectix" and raw[512:520] == b"cxsparse"
    table_offset, = struct.unpack(">Q", raw[512 + 16:512 + 24])
    assert table_offset == 1536 and raw[table_offset:table_offset + 4] == b"\xff" * 4
    assert info.blocks == 0 and info.virtual_size == 10 * MIB
