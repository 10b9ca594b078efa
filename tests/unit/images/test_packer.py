"""The Packer templates' VM shape and the values xenlab feeds them."""

import json

import hcl2
import pytest

from xenlab.core import flavours
from xenlab.core.paths import PACKER_DIR
from xenlab.images import packer
from tests.support import labs


def _hcl(name):
    with (PACKER_DIR / name).open() as fh:
        return hcl2.load(fh)


def _sources():
    """{(type, name): body} of sources.pkr.hcl, quotes stripped from keys."""
    out = {}
    for block in _hcl("sources.pkr.hcl")["source"]:
        for kind, named in block.items():
            for name, body in named.items():
                out[(kind.strip('"'), name.strip('"'))] = body
    return out


def _variables():
    out = {}
    for block in _hcl("variables.pkr.hcl")["variable"]:
        for name, body in block.items():
            out[name.strip('"')] = body
    return out


XENSERVER = [("qemu", "xenserver"), ("virtualbox-iso", "xenserver")]


def test_one_source_per_builder_plus_the_standin():
    assert set(_sources()) == {("qemu", "xenserver"), ("virtualbox-iso", "xenserver"), ("qemu", "standin")}


@pytest.mark.parametrize("source", XENSERVER)
def test_xenserver_shape_has_no_virtio(source):
    assert "virtio" not in json.dumps(_sources()[source])


def test_qemu_xenserver_shape():
    src = {k: flavours.plain(v) for k, v in _sources()[("qemu", "xenserver")].items()}
    assert src["net_device"] == "e1000"
    assert src["disk_interface"] == "${var.disk_bus}"  # the flavour's bus, which the lab uses too
    assert src["machine_type"] == "pc"  # SeaBIOS
    assert "efi_boot" not in src and "firmware" not in src
    assert not any("OVMF" in str(arg) or "-bios" in str(arg) for arg in src["qemuargs"])
    assert src["format"] == "qcow2"
    assert src["disk_size"] == "${var.disk_gb * 1024}M"
    assert src["accelerator"] == "${var.accelerator}"
    # The CPU, and the disk's serial when the flavour pins one (the lab sets the same).
    assert src["qemuargs"] == ('${concat([["-cpu", var.cpu_model]], var.disk_serial == "" ? [] : '
                               '[["-global", "ide-hd.serial=${var.disk_serial}"]])}')


def test_ide_flavours_pin_the_disk_serial_the_standin_does_not():
    for flavour in flavours.all_flavours():
        assert flavour.disk_serial == ("QM00001" if flavour.disk_bus == "ide" else ""), flavour.name
    assert flavours.plain(_variables()["disk_serial"]["default"]) == ""


def test_virtualbox_xenserver_shape():
    src = {k: flavours.plain(v) for k, v in _sources()[("virtualbox-iso", "xenserver")].items()}
    assert src["hard_drive_interface"] == "${var.disk_bus}"
    assert src["disk_size"] == "${var.disk_gb * 1024}"
    flat = [flavours.plain(arg) for cmd in src["vboxmanage"] for arg in cmd]
    assert flat[flat.index("--nested-hw-virt") + 1] == "on"
    assert flat[flat.index("--nictype1") + 1] == "82540EM"
    assert flat[flat.index("--firmware") + 1] == "bios"


def test_defaults_are_the_lab_shape():
    variables = _variables()
    assert variables["disk_gb"]["default"] == 60
    assert "default" not in variables["disk_bus"]  # flavour data: xenlab always passes it
    assert flavours.plain(variables["cpu_model"]["default"]) == "host"
    assert variables["root_password"]["sensitive"] is True
    assert "default" not in variables["root_password"]  # a build without the secret fails


def test_standin_guest_has_no_uplink():
    args = [flavours.plain(a) for cmd in _sources()[("qemu", "standin")]["qemuargs"] for a in cmd]
    netdev = args[args.index("-netdev") + 1]
    assert "restrict=on" in netdev.split(",")


def test_plugins_block_is_kept_out_of_the_1_6_template_dir():
    assert not any("required_plugins" in p.read_text() for p in packer.template_files())
    assert "required_plugins" in (packer.PLUGINS_DIR / "plugins.pkr.hcl").read_text()


def test_tcg_gets_cpu_max_and_config_shape(tmp_path):
    values = packer.variables(labs.load(tmp_path, "xcp-ng-8.3", extra="[xenserver]\nmemory_mb = 8192\ncpus = 4\n"))
    assert (values["accelerator"], values["cpu_model"]) == ("tcg", "max")
    assert (values["memory_mb"], values["cpus"], values["disk_gb"]) == (8192, 4, 60)


def test_kvm_means_host_cpu(tmp_path):
    from xenlab.core import config

    path = labs.write_toml(tmp_path, "xcp-ng-8.2")
    path.write_text(path.read_text().replace('accelerator = "tcg"', 'accelerator = "kvm"'))
    values = packer.variables(config.load(path, environ={"XENLAB_PASSWORD": "x"}))
    assert (values["accelerator"], values["cpu_model"]) == ("kvm", "host")


def test_rendered_vars_hold_no_secret(tmp_path):
    cfg = labs.load(tmp_path)
    text = packer.render_vars(cfg)
    assert labs.PASSWORD not in text
    assert "root_password" not in text
    # A box serves every lab: no lab's address is baked into it (management-ip.sh sets it).
    assert "192.168.57.10" not in text


def test_secret_goes_in_the_environment_not_argv(tmp_path):
    cfg = labs.load(tmp_path)
    fl = cfg.flavour
    args = packer.argv("build", cfg, fl, {"output_directory": "o"})
    assert not any(labs.PASSWORD in a for a in args)
    assert packer.secret_env(cfg)[packer.SECRET_VAR] == labs.PASSWORD
    assert args[-1] == str(PACKER_DIR)
    assert "-only=standin.qemu.standin" in args
    assert f"-var-file={cfg.paths.packer_vars}" in args


def _config_with_lab_setting(tmp_path, flavour, setting):
    from xenlab.core import config

    path = labs.write_toml(tmp_path, flavour)
    path.write_text(path.read_text().replace("[lab]\n", f"[lab]\n{setting}\n"))
    return config.load(path, environ={"XENLAB_PASSWORD": "x"})


def test_provider_picks_the_builder(tmp_path):
    cfg = labs.load(tmp_path / "lv", "xcp-ng-8.2")
    assert packer.source(cfg, cfg.flavour) == "xenserver.qemu.xenserver"
    vb = _config_with_lab_setting(tmp_path / "vb", "xcp-ng-8.2", 'provider = "virtualbox"')
    assert packer.source(vb, vb.flavour) == "xenserver.virtualbox-iso.xenserver"
