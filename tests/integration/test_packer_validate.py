"""`packer validate` with the real Packer, for every flavour and both builders.

The ISO is a local stand-in file with its real sha256: Packer 1.6 fetches a `file:`
checksum URL at validate time, and tests reach no network. Everything else is the
flavour's own data and the variables xenlab renders.
"""

import hashlib

import pytest

from xenlab import build, config, flavours, packer, plan
from tests.support import labs
from tests.support.prereq import require_tool

XENSERVER_FLAVOURS = [f for f in config.available_flavours() if f != "standin"]


def _validate(tmp_path, flavour_name, lab_setting=""):
    require_tool("packer")
    toml = labs.write_toml(tmp_path, flavour_name)
    if lab_setting:
        toml.write_text(toml.read_text().replace("[lab]\n", f"[lab]\n{lab_setting}\n"))
    cfg = config.load(toml, environ={"XENLAB_PASSWORD": labs.PASSWORD})
    fl = flavours.load(cfg)
    var_file = tmp_path / "vars.pkrvars.json"
    plan.write_file(var_file, packer.render_vars(cfg).encode(), secret=False)
    fake = tmp_path / "fake.iso"
    fake.write_bytes(b"\0" * 4096)
    checksum = "sha256:" + hashlib.sha256(fake.read_bytes()).hexdigest()
    extra = {"output_directory": str(tmp_path / "out"), "box_output": str(tmp_path / "x.box")}
    if fl.standin:
        extra |= {"base_image": str(fake), "base_image_checksum": checksum,
                  "sim_payload": str(build._stage_sim(tmp_path / "stage"))}
    else:
        (tmp_path / "http").mkdir()
        extra |= {"iso_url": str(fake), "iso_checksum": checksum, "http_directory": str(tmp_path / "http")}
    packer.validate(cfg, fl, var_file, extra, log=tmp_path / "validate.log")
    return (tmp_path / "validate.log").read_text()


@pytest.mark.parametrize("flavour", XENSERVER_FLAVOURS)
@pytest.mark.parametrize("provider", ["libvirt", "virtualbox"])
def test_xenserver_flavours_validate_with_both_builders(tmp_path, flavour, provider):
    log = _validate(tmp_path, flavour, f'provider = "{provider}"')
    builder = "virtualbox-iso" if provider == "virtualbox" else "qemu"
    assert f"-only=xenserver.{builder}.xenserver" in log
    assert labs.PASSWORD not in log


def test_standin_validates(tmp_path):
    log = _validate(tmp_path, "standin")
    assert "-only=standin.qemu.standin" in log


def test_validate_catches_a_broken_flavour_file(tmp_path, monkeypatch):
    require_tool("packer")
    from xenlab.errors import ToolError

    broken = tmp_path / "flavours"
    broken.mkdir()
    (broken / "standin.pkrvars.hcl").write_text('flavour = "standin"\nkind = "standin"\ndisk_gb = "sixty"\n')
    monkeypatch.setattr(config, "FLAVOUR_DIR", broken)
    with pytest.raises(ToolError, match="packer validate failed"):
        _validate(tmp_path / "lab", "standin")
