"""The lab's own image: a VHD tarball as os-xenapi's glance plugin takes it, the same bytes every time."""

import io
import struct
import subprocess
import tarfile

import pytest

from tests.support.prereq import require_tool
from xenlab.devstack import vhd


@pytest.fixture(scope="module")
def made():
    require_tool("qemu-img")
    return vhd.make()


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def the_vhd(data: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.extractfile("0.vhd").read()


def test_the_tarball_holds_one_vhd_named_for_its_place_in_the_chain(made):
    # os-xenapi 0.3.4 plugins/utils.py import_vhds: 0.vhd is the leaf, 1.vhd its parent...
    found = members(made)
    assert list(found) == ["0.vhd"]
    member = found["0.vhd"]
    assert member.isreg() and (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
    assert made[:2] == b"\x1f\x8b"  # gzip: the plugin extracts with `tar -zx`


def test_the_vhd_is_a_dynamic_disk_with_valid_footers(made):
    disk = the_vhd(made)
    head, tail = disk[:vhd.FOOTER], disk[-vhd.FOOTER:]
    assert tail.startswith(b"conectix") and head == tail  # a dynamic VHD repeats its footer at offset 0
    assert disk[vhd.FOOTER:vhd.FOOTER + 8] == b"cxsparse"
    assert struct.unpack(">I", tail[vhd.CHECKSUM])[0] == vhd.footer_checksum(tail)
    assert struct.unpack(">I", tail[60:64])[0] == 3  # disk type: dynamic
    assert struct.unpack(">Q", tail[48:56])[0] == vhd.SIZE  # current size: the raw disk's, exactly


def test_same_inputs_give_the_same_bytes(made):
    assert vhd.make() == made


def test_the_vhd_reads_back_as_the_raw_disk(made, tmp_path):
    (tmp_path / "0.vhd").write_bytes(the_vhd(made))
    subprocess.run(["qemu-img", "convert", "-f", "vpc", "-O", "raw", str(tmp_path / "0.vhd"), str(tmp_path / "raw")],
                   check=True, timeout=60)
    raw = (tmp_path / "raw").read_bytes()
    assert raw == vhd.raw_disk() and raw.startswith(vhd.LABEL) and raw[-vhd.SECTOR:].startswith(vhd.LABEL)


def footer(timestamp=123456, unique_id=b"\x01" * 16):
    out = bytearray(vhd.COOKIE.ljust(vhd.FOOTER, b"\0"))
    out[vhd.TIMESTAMP] = struct.pack(">I", timestamp)
    out[vhd.UNIQUE_ID] = unique_id
    out[vhd.CHECKSUM] = struct.pack(">I", vhd.footer_checksum(bytes(out)))
    return bytes(out)


def test_normalising_sets_the_time_and_the_id_in_both_footers_and_mends_the_checksums():
    disk = footer() + b"\xaa" * 1024 + footer(timestamp=999)
    out = vhd.normalise(disk, b"\x02" * 16)
    assert out[vhd.FOOTER:-vhd.FOOTER] == disk[vhd.FOOTER:-vhd.FOOTER]
    for f in (out[:vhd.FOOTER], out[-vhd.FOOTER:]):
        assert f[vhd.TIMESTAMP] == bytes(4) and f[vhd.UNIQUE_ID] == b"\x02" * 16
        assert struct.unpack(">I", f[vhd.CHECKSUM])[0] == vhd.footer_checksum(f)
    assert vhd.normalise(out, b"\x02" * 16) == out


def test_a_fixed_disk_has_its_one_footer_normalised():
    disk = b"\xaa" * 1024 + footer()
    out = vhd.normalise(disk, b"\x03" * 16)
    assert out[:1024] == disk[:1024] and out[-vhd.FOOTER:][vhd.UNIQUE_ID] == b"\x03" * 16


@pytest.mark.parametrize("data", [b"", b"conectix", b"x" * 2048])
def test_what_is_not_a_vhd_is_refused(data):
    with pytest.raises(ValueError, match="not a VHD"):
        vhd.normalise(data, bytes(16))


def test_the_checksum_is_the_ones_complement_of_the_byte_sum():
    data = bytes([1, 2, 3]) + bytes(509)
    assert vhd.footer_checksum(data) == 0xFFFFFFFF - 6


def test_the_name_follows_devstacks_rule_for_vhd_tarballs():
    # devstack functions upload_image: image_name="${image_fname%.vhd.tgz}"
    assert vhd.image_name("cirros-0.3.5-x86_64-disk.vhd.tgz") == "cirros-0.3.5-x86_64-disk"
    assert vhd.image_name() == "xenlab-test-disk"


def test_the_image_is_made_once_per_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = []
    monkeypatch.setattr(vhd, "make", lambda log=None: calls.append(1) or b"image")
    first = vhd.ensure()
    assert vhd.ensure() == first and first.read_bytes() == b"image" and calls == [1]
    assert first.parent.name == vhd.inputs()[:16] and first.name == vhd.FILE_NAME
