"""`packer validate` with the real Packer, for every flavour and both builders.

The ISO is a local stand-in file with its real sha256: Packer 1.6 fetches a `file:`
checksum URL at validate time, and tests reach no network. Everything else is the
flavour's own data and the variables xenlab renders.
"""

import hashlib

import pytest

from xenlab.stages import build
from xenlab.core import config, flavours
from xenlab.core.files import write_file
from xenlab.images import packer
from tests.support import labs
from tests.support.prereq import require_tool

XENSERVER_FLAVOURS = [f.name for f in flavours.all_flavours() if not f.standin]


def _validate(tmp_path, flavour_name, lab_setting="", bad=None):
    require_tool("packer")
    toml = labs.write_toml(tmp_path, flavour_name)
    if lab_setting:
        toml.write_text(toml.read_text().replace("[lab]\n", f"[lab]\n{lab_setting}\n"))
    cfg = config.load(toml, environ={"XENLAB_PASSWORD": labs.PASSWORD})
    fl = cfg.flavour
    write_file(cfg.paths.packer_vars, packer.render_vars(cfg))
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
    packer.validate(cfg, fl, {**extra, **(bad or {})}, log=tmp_path / "validate.log")
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


def test_validate_failures_name_packers_reason(tmp_path):
    require_tool("packer")
    from xenlab.errors import ToolError

    with pytest.raises(ToolError) as err:
        _validate(tmp_path / "lab", "standin", bad={"cpus": "many"})
    assert err.value.message.startswith("packer validate failed: ")
    assert "Invalid argument value for -var variable" in err.value.message
    assert "cpus is not compatible" in err.value.message and "a number is required" in err.value.message
