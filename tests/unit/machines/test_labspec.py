"""The lab spec: what the Vagrantfile is told, per flavour and provider."""

from __future__ import annotations

import json

import pytest

from xenlab.core import config
from xenlab.stages import plan
from xenlab.machines import labspec


def load(tmp_path, toml: str = "", **lab):
    (tmp_path / "xenlab.toml").write_text(toml)
    return config.load(tmp_path / "xenlab.toml", overrides={"lab": lab}, environ={"XENLAB_PASSWORD": "s3cret-pw"})


def test_standin_uses_its_own_boxes_and_says_it_is_a_standin(tmp_path):
    spec = labspec.spec(load(tmp_path, flavour="standin"))
    assert spec["lab"]["standin"] is True
    assert spec["xenserver"]["box"] == "xenlab/standin"
    assert spec["devstack"]["box"] == "xenlab/standin-devstack"


@pytest.mark.parametrize("flavour", ["xcp-ng-8.3", "xcp-ng-8.2", "xenserver-7.1"])
def test_real_flavours_get_an_ubuntu_1804_devstack_box(tmp_path, flavour):
    spec = labspec.spec(load(tmp_path, flavour=flavour))
    assert spec["lab"]["standin"] is False
    assert spec["xenserver"]["box"] == f"xenlab/{flavour}"
    assert spec["devstack"]["box"] == "generic/ubuntu1804"


def test_configured_devstack_box_wins(tmp_path):
    spec = labspec.spec(load(tmp_path, '[devstack]\nbox = "bento/ubuntu-18.04"\n', flavour="standin"))
    assert spec["devstack"]["box"] == "bento/ubuntu-18.04"


@pytest.mark.parametrize("release,tag", [("train", "train-eol"), ("ussuri", "ussuri-eol")])
def test_devstack_is_pinned_to_the_eol_tag(tmp_path, release, tag):
    spec = labspec.spec(load(tmp_path, f'[devstack]\nrelease = "{release}"\n'))
    assert spec["devstack"]["tag"] == tag


def test_kvm_passes_the_host_cpu_through(tmp_path):
    lv = labspec.spec(load(tmp_path, accelerator="kvm"))["libvirt"]
    assert (lv["driver"], lv["cpu_mode"]) == ("kvm", "host-passthrough")


def test_tcg_uses_the_qemu_driver(tmp_path):
    lv = labspec.spec(load(tmp_path, accelerator="tcg"))["libvirt"]
    assert lv["driver"] == "qemu" and lv["cpu_mode"] != "host-passthrough"
    # e1000 as XCP-ng's docs give for nested KVM; the disk on the bus the box was installed on.
    assert (lv["nic_model"], lv["disk_bus"], lv["disk_serial"]) == ("e1000", "ide", "QM00001")


def test_private_macs_are_fixed_per_address_and_provider(tmp_path):
    spec = labspec.spec(load(tmp_path))
    assert spec["xenserver"]["mac"] == "52:54:00:a8:39:0a"
    assert spec["devstack"]["mac"] == "52:54:00:a8:39:0b"
    vbox = labspec.spec(load(tmp_path, provider="virtualbox"))
    assert vbox["xenserver"]["mac"] == "080027a8390a"


def test_remote_libvirt_uri_reaches_the_vagrantfile(tmp_path):
    spec = labspec.spec(load(tmp_path, libvirt_uri="qemu+ssh://big-host/system"))
    assert spec["libvirt"]["uri"] == "qemu+ssh://big-host/system"


def test_names_are_per_lab(tmp_path):
    spec = labspec.spec(load(tmp_path, '[lab]\nname = "mylab"\n'))
    assert spec["libvirt"]["prefix"] == "xenlab-mylab-"
    assert spec["libvirt"]["networks"] == {"private": "xenlab-mylab", "management": "xenlab-mylab-mgmt"}
    assert spec["paths"]["devstack_files"].endswith("/.xenlab/mylab/devstack")
    assert spec["hook"][1:] == ["vagrant-hook", "--flavour", "xcp-ng-8.3", "--config", str(tmp_path / "xenlab.toml")]


def test_spec_holds_no_secret(tmp_path):
    cfg = load(tmp_path)
    assert "s3cret-pw" not in labspec.render(cfg)


def test_plan_writes_spec_and_active_pointer(tmp_path):
    cfg = load(tmp_path, '[lab]\nname = "one"\n')
    plan.render_all(cfg, quiet=True)
    assert json.loads((tmp_path / ".xenlab" / "one" / "lab.json").read_text())["version"] == labspec.SPEC_VERSION
    assert (tmp_path / ".xenlab" / "active").read_text() == "one\n"


def test_devstack_machine_fetches_the_images_os_xenapis_plugin_uploads(tmp_path):
    from xenlab.devstack import conf

    spec = labspec.spec(load(tmp_path, flavour="xcp-ng-8.3"))
    assert spec["devstack"]["image_urls"] == list(conf.PLUGIN_IMAGE_URLS)
    # The plugin's own choice (os-xenapi 0.3.4 devstack/plugin.sh): a VHD first, for the xenserver driver.
    assert spec["devstack"]["image_urls"][0].endswith("/cirros-0.3.5-x86_64-disk.vhd.tgz")
