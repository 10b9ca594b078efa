"""Flavour files are data: each names its kind, ISO and quirks in plain HCL."""

from xenlab import config, flavours
from tests.support import labs


def test_every_flavour_file_loads(tmp_path):
    for name in config.available_flavours():
        fl = flavours.load(labs.load(tmp_path / name, name))
        assert fl.name == name
        assert fl.kind in ("xenserver", "standin")
        assert fl.box_name == f"xenlab/{name}"


def test_standin_says_it_is_a_stand_in(tmp_path):
    fl = flavours.load(labs.load(tmp_path))
    assert fl.standin
    assert "stand-in" in fl.product
    assert "XenServer" not in fl.product


def test_xcp_ng_uses_the_vendor_checksum_file(tmp_path):
    fl = flavours.load(labs.load(tmp_path, "xcp-ng-8.2"))
    assert fl.iso_url.startswith("https://") and fl.iso_url.endswith(".iso")
    assert fl.iso_checksum.startswith("file:https://")


def test_xenserver_71_needs_a_user_supplied_iso(tmp_path):
    fl = flavours.load(labs.load(tmp_path, "xenserver-7.1"))
    assert fl.iso_url == ""


def test_plain_strips_hcl_quotes_and_unescapes():
    assert flavours.plain('"a \\"b\\""') == 'a "b"'
    assert flavours.plain(['"x"', '"y"']) == ["x", "y"]
    assert flavours.plain(60) == 60
