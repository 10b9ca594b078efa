"""The answerfile: well-formed XML, as the installer reads it (xenserver/host-installer
doc/answerfile.txt and answerfile.py)."""

import stat
import xml.etree.ElementTree as ET

from xenlab.images import answerfile
from tests.support import labs


def _render(tmp_path, flavour="xcp-ng-8.3", **overrides):
    cfg = labs.load(tmp_path, flavour)
    return cfg, answerfile.render(cfg, cfg.flavour, **overrides)


def test_password_with_xml_and_shell_specials_round_trips(tmp_path):
    _, text = _render(tmp_path)
    root = ET.fromstring(text)
    assert root.find("root-password").text == labs.PASSWORD
    assert root.find("root-password").get("type") == "plaintext"


def test_no_cdata_anywhere(tmp_path):
    _, text = _render(tmp_path)
    assert "CDATA" not in text


def test_sr_type_is_ext_on_the_root_element_only(tmp_path):
    _, text = _render(tmp_path)
    root = ET.fromstring(text)
    assert root.tag == "installation"
    assert root.get("sr-type") == "ext"
    assert root.get("mode") == "fresh"
    assert all("sr-type" not in el.attrib and "srtype" not in el.attrib for el in root.iter() if el is not root)


def test_every_element_the_lab_uses(tmp_path):
    _, text = _render(tmp_path, "xenserver-7.1", name_server="192.0.2.53", ntp_server="192.0.2.123")
    root = ET.fromstring(text)
    assert root.find("primary-disk").text == "sda"
    assert root.find("keymap").text == "us"
    assert root.find("source").get("type") == "local"
    admin = root.find("admin-interface")
    assert (admin.get("name"), admin.get("proto")) == ("eth0", "dhcp")
    assert root.find("hostname").text == "t-xenserver"
    assert root.find("timezone").text == "Etc/UTC"  # the installer's own list has no bare UTC
    assert root.find("name-server").text == "192.0.2.53"
    assert root.find("ntp-server").text == "192.0.2.123"
    assert root.find("network-backend").text == "vswitch"  # the 7.1 flavour's quirk


def test_xcp_ng_installers_still_read_the_network_backend(tmp_path):
    # xcp-ng/host-installer answerfile.py parses it at v8.2.1 and on the 8.3 line.
    for flavour in ("xcp-ng-8.2", "xcp-ng-8.3"):
        _, text = _render(tmp_path / flavour, flavour)
        assert ET.fromstring(text).find("network-backend").text == "openvswitch"


def test_written_file_is_owner_only(tmp_path):
    cfg = labs.load(tmp_path / "lab", "xcp-ng-8.3")
    path = answerfile.write(cfg, cfg.flavour, tmp_path / "http")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.name == "answerfile.xml"
