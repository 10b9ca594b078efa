"""The lab spec: what the Vagrantfile is told, per flavour and provider."""

from __future__ import annotations

import json
from pathlib import Path

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
    spec = labspec.spec(load(tmp_path, libvirt_uri="qemu+ssh://big-host/system", accelerator="tcg"))
    assert spec["libvirt"]["uri"] == "qemu+ssh://big-host/system"
    assert spec["libvirt"]["driver"] == "qemu" and spec["lab"]["accelerator"] == "tcg"


@pytest.mark.parametrize("offered, driver", [(True, "kvm"), (False, "qemu")])
def test_auto_on_a_remote_host_is_what_its_libvirt_offers_not_this_machines_kvm(tmp_path, monkeypatch,
                                                                               offered, driver):
    from xenlab.core import kvm
    from xenlab.machines import libvirthost

    monkeypatch.setattr(kvm, "verdict", lambda: (_ for _ in ()).throw(AssertionError("probed KVM here")))
    monkeypatch.setattr(libvirthost, "kvm_offered", lambda cfg: offered)
    spec = labspec.spec(load(tmp_path, libvirt_uri="qemu+ssh://you@big-host/system", accelerator="auto"))
    assert spec["libvirt"]["driver"] == driver


@pytest.mark.parametrize("toml, management", [
    ("", "192.168.121.0/24"),  # the default range keeps vagrant-libvirt's own default
    ('[network]\ncidr = "192.168.59.0/24"\nxenserver_ip = "192.168.59.10"\ndevstack_ip = "192.168.59.11"\n',
     "192.168.123.0/24"),
    ('[network]\nmanagement_cidr = "10.77.0.0/24"\n', "10.77.0.0/24"),
])
def test_each_lab_has_a_management_network_of_its_own(tmp_path, toml, management):
    spec = labspec.spec(load(tmp_path, toml, flavour="standin"))
    assert spec["libvirt"]["management_network"] == management


def test_vagrant_keeps_its_data_about_the_machines_in_the_labs_folder(tmp_path):
    spec = labspec.spec(load(tmp_path, '[lab]\nname = "two"\n', flavour="standin"))
    assert spec["paths"]["vagrant_dotfile"] == str(tmp_path / ".xenlab" / "two" / "vagrant")


def test_names_are_per_lab(tmp_path):
    spec = labspec.spec(load(tmp_path, '[lab]\nname = "mylab"\n'))
    assert spec["libvirt"]["prefix"] == "xenlab-mylab-"
    assert spec["libvirt"]["networks"] == {"private": "xenlab-mylab", "management": "xenlab-mylab-mgmt"}
    assert spec["devstack"]["files"][0] == {"from": str(tmp_path / ".xenlab/mylab/devstack/local.conf"),
                                            "to": "/var/lib/xenlab/devstack/local.conf", "mode": "0600"}
    # The Vagrantfile adds --spec <this file>: the hook reads the spec Vagrant read.
    assert spec["hook"][1:] == ["vagrant-hook"]
    assert spec["config"]["settings"]["lab"]["name"] == "mylab"


def test_every_machine_of_the_table_is_in_the_spec_in_its_order(tmp_path):
    spec = labspec.spec(load(tmp_path, flavour="standin"))
    assert spec["machines"] == [m.name for m in labspec.TABLE] == list(labspec.MACHINES)
    for row in labspec.TABLE:
        me = spec[row.name]
        assert me["stage"] == row.stage and me["xen_host"] == row.xen_host and me["fed_after"] == row.fed_after
        # Each machine's provisioning is its own scripts, after xenlab's provisioner (the Vagrantfile).
        assert me["provision"] and all(Path(p["path"]).is_file() for p in me["provision"])
    # The stand-in's devstack gets the probe's disk and script; the xenserver machine nothing.
    # Shareable: every lab's devstack machine on one host attaches the one probe volume.
    assert spec["devstack"]["disks"] == [{"volume": spec["nova_probe"]["volume"], "bus": "virtio", "shareable": True}]
    assert [f["to"].rsplit("/", 1)[1] for f in spec["devstack"]["files"]][-2:] == ["nova-probe.py",
                                                                               "glance-service.py"]
    assert spec["xenserver"]["files"] == [] and spec["xenserver"]["vagrant_hostname"] == ""


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


def test_the_probe_imports_your_nova_from_where_verify_syncs_it(tmp_path):
    probe = labspec.spec(load(tmp_path, flavour="standin"))["nova_probe"]
    assert f"NOVA_PROBE_NOVA_SRC={labspec.GUEST_NOVA_SRC}" in probe["environment"].split()


def test_your_nova_is_synced_by_vagrant_only_where_stack_sh_clones_it(tmp_path):
    from tests.support import nova_checkout
    from xenlab.errors import ConfigError

    src = nova_checkout.make(tmp_path / "nova")
    toml = f"[devstack]\nnova_src = '{src}'\n"
    assert labspec.spec(load(tmp_path, toml, flavour="xcp-ng-8.3"))["devstack"]["synced"] == [{
        "host": str(src), "guest": "/opt/stack/xenlab-nova-src", "exclude": [".tox/"]}]
    # The stand-in: verify syncs the package into the probe instead.
    assert labspec.spec(load(tmp_path, toml, flavour="standin"))["devstack"]["synced"] == []
    assert labspec.spec(load(tmp_path, flavour="xcp-ng-8.3"))["devstack"]["synced"] == []
    nova_checkout.make(src, branch=None)
    with pytest.raises(ConfigError, match="has no branch checked out in its own .git .a detached HEAD, or a "
                                          "worktree.: DevStack clones NOVA_BRANCH by name") as err:
        labspec.spec(load(tmp_path, toml, flavour="xcp-ng-8.3"))
    assert err.value.exit_code == 2 and "\n" not in err.value.message
    assert labspec.spec(load(tmp_path, toml, flavour="standin"))["devstack"]["synced"] == []


def test_the_stand_ins_devstack_machine_gets_glance_from_the_probes_disk(tmp_path):
    probe = labspec.spec(load(tmp_path, flavour="standin"))["nova_probe"]
    env, g = probe["provision_env"], probe["glance"]
    assert probe["synced"] == ["nova-probe.py", "glance-service.py"]  # uploaded by xenlab's provisioner
    assert g["url"] == "http://192.168.57.11:9292" and g["record"] == labspec.GUEST_GLANCE_RECORD
    assert g["image"] == f"{labspec.GUEST_PROBE_DISK}/images/xenlab-test-disk.vhd.tgz"
    tree = probe["guest_tree"]
    assert env["XENLAB_GLANCE_API"] == (f"/usr/bin/python3 -S {labspec.GUEST_PROBE_SCRIPTS}/glance-service.py --tree {tree}"
                                        " api --state-dir /opt/stack/data/glance --bind 192.168.57.11 --port 9292")
    assert env["XENLAB_GLANCE_DB_SYNC"] == env["XENLAB_GLANCE_API"].replace(" api ", " db-sync ")
    assert f"--file {g['image']} --name xenlab-test-disk" in env["XENLAB_GLANCE_UPLOAD"]
    assert env["XENLAB_PROBE_MOUNT"] == labspec.GUEST_PROBE_DISK and env["XENLAB_PROBE_SERVICE"] == probe["service"]
    assert all(isinstance(v, str) and v and "\n" not in v for v in env.values())


def test_real_flavours_get_neither_the_probe_nor_glance(tmp_path):
    assert labspec.spec(load(tmp_path, flavour="xcp-ng-8.3"))["nova_probe"] is None
