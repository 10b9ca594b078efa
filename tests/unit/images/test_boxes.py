"""Box packing, versions and the Vagrant registration check."""

import json
import re
import tarfile

from xenlab.images import boxes


def test_libvirt_box_is_a_tar_of_image_metadata_and_vagrantfile(tmp_path):
    image = tmp_path / "disk.qcow2"
    image.write_bytes(b"QFI\xfb" + b"\0" * 100)
    vagrantfile = tmp_path / "Vagrantfile"
    vagrantfile.write_text("Vagrant.configure('2') {}\n")
    out = boxes.pack_libvirt(image, vagrantfile, tmp_path / "x.box", 8)
    with tarfile.open(out) as tar:
        assert sorted(tar.getnames()) == ["Vagrantfile", "box.img", "metadata.json"]
        meta = json.load(tar.extractfile("metadata.json"))
        assert tar.extractfile("box.img").read() == image.read_bytes()
    assert meta == {"provider": "libvirt", "format": "qcow2", "virtual_size": 8}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Vagrantfile", "disk.qcow2", "x.box"]


def test_versions_are_numeric_and_vagrant_sortable():
    version = boxes.new_version()
    assert re.fullmatch(r"0\.\d{8}\.\d{1,6}", version)


def test_registered_looks_in_vagrant_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAGRANT_HOME", str(tmp_path))
    assert not boxes.registered("xenlab/standin", "0.1.2", "libvirt")
    (tmp_path / "boxes" / "xenlab-VAGRANTSLASH-standin" / "0.1.2" / "libvirt").mkdir(parents=True)
    assert boxes.registered("xenlab/standin", "0.1.2", "libvirt")
    assert not boxes.registered("xenlab/standin", "0.1.3", "libvirt")


def test_sha256_of_a_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert boxes.sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
