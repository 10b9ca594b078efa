"""File SRs and VDIs against XAPI's and sm's behaviour (xapi-project/xen-api v26.1.4
ocaml/xapi/xapi_vdi.ml, xapi_sr.ml; xapi-project/sm libs/sm/drivers/FileSR.py, cleanup.py,
XE_SR_ERRORCODES.xml): each test names what it follows."""

import os

from xenlab.sim import vhd
from xenlab.sim.api import Api
from xenlab.sim.machine import Simulated

from .conftest import GIB, MIB


def files(sim):
    return sorted(p.name for p in sim.sr_dir().glob("*.vhd"))


def utilisation(sim):
    return int(sim.call("SR.get_physical_utilisation", sim.sr))


def test_vdi_create_makes_a_rounded_vhd_and_the_sr_accounts_for_it(sim):
    """FileSR.py FileVDI.create: a VHD <uuid>.vhd of the size rounded up to 2 MiB; the SR's
    virtual_allocation grows by it and its physical_utilisation is what its files take."""
    sim.call("SR.scan", sim.sr)
    assert (utilisation(sim), int(sim.call("SR.get_virtual_allocation", sim.sr))) == (0, 0)
    vdi = sim.vdi(size=GIB + 1)
    rec = sim.call("VDI.get_record", vdi)
    assert int(rec["virtual_size"]) == GIB + 2 * MIB and rec["location"] == rec["uuid"]
    assert files(sim) == [f"{rec['uuid']}.vhd"] and int(rec["physical_utilisation"]) == os.path.getsize(
        sim.sr_dir() / f"{rec['uuid']}.vhd")
    assert int(sim.call("SR.get_virtual_allocation", sim.sr)) == GIB + 2 * MIB
    assert 0 < utilisation(sim) <= 64 * 1024 and vdi in sim.call("SR.get_VDIs", sim.sr)
    assert rec["other_config"] == {"nova_disk_type": "root"} and rec["managed"] is True


def test_vdi_create_errors(sim):
    """xapi_vdi.ml create: VDI_INCOMPATIBLE_TYPE for cbt_metadata; a field missing from the record
    fails as rpclib does; vhdutil.py: a size beyond MAX_VHD_SIZE is VDISize (SR_BACKEND_FAILURE_79)."""
    assert sim.vdi(type="cbt_metadata") == ["VDI_INCOMPATIBLE_TYPE", "", "cbt_metadata"]
    assert sim.vdi(size=vhd.MAX_VHD_SIZE + 1) == ["SR_BACKEND_FAILURE_79", "", "VDI Invalid size", ""]
    assert sim.call("VDI.create", {"name_label": "x"})[0] == "INTERNAL_ERROR"
    assert sim.vdi(SR="OpaqueRef:none") == ["HANDLE_INVALID", "SR", "OpaqueRef:none"]


def test_destroy_refuses_an_attached_vdi_and_removes_the_file_and_its_vbds(sim):
    """xapi_vdi.ml destroy: VDI_IN_USE [vdi; destroy] while a VBD is attached; then the file, the
    record and the VDI's VBDs go (destroy_and_data_destroy_common)."""
    vdi = sim.vdi()
    vm = sim.vm()
    vbd = sim.vbd(vm, vdi)
    sim.call("VM.start", vm, False, False)
    assert sim.call("VDI.destroy", vdi) == ["VDI_IN_USE", vdi, "destroy"]
    assert "destroy" not in sim.call("VDI.get_allowed_operations", vdi)
    sim.call("VM.hard_shutdown", vm)
    assert sim.call("VDI.destroy", vdi) == ""
    assert files(sim) == [] and utilisation(sim) == 0 and sim.call("VM.get_VBDs", vm) == []
    assert sim.call("VBD.get_record", vbd) == ["HANDLE_INVALID", "VBD", vbd]


def test_clone_and_snapshot_make_a_base_copy_and_children(sim):
    """FileSR.py _snapshot (SNAPSHOT_DOUBLE): the VDI's file becomes a hidden, unmanaged, read-only
    base copy and the VDI and the new one empty children of it (sm_config vhd-parent);
    xapi_vdi.ml snapshot: the snapshot records snapshot_of and is_a_snapshot, takes the name and
    other_config of its source."""
    source = sim.vdi(name="Glance Image x")
    clone = sim.call("VDI.clone", source, {})
    src, new = sim.call("VDI.get_record", source), sim.call("VDI.get_record", clone)
    base_uuid = src["sm_config"]["vhd-parent"]
    assert new["sm_config"]["vhd-parent"] == base_uuid and new["name_label"] == "Glance Image x"
    base = sim.call("VDI.get_by_uuid", base_uuid)
    assert (sim.call("VDI.get_managed", base), sim.call("VDI.get_read_only", base)) == (False, True)
    assert sim.call("VDI.get_name_label", base) == "base copy" and new["is_a_snapshot"] is False
    assert len(files(sim)) == 3 and vhd.info(sim.sr_dir() / f"{base_uuid}.vhd").hidden
    snap = sim.call("VDI.snapshot", clone, {})
    rec = sim.call("VDI.get_record", snap)
    assert rec["is_a_snapshot"] is True and rec["snapshot_of"] == clone and snap in sim.call("VDI.get_snapshots",
                                                                                           clone)
    # The chain Nova walks (vm_utils.py _walk_vdi_chain): snapshot -> new base -> first base.
    second_base = rec["sm_config"]["vhd-parent"]
    assert sim.call("VDI.get_sm_config", sim.call("VDI.get_by_uuid", second_base))["vhd-parent"] == base_uuid


def test_the_garbage_collector_brings_the_sr_back(sim):
    """cleanup.py: a hidden VHD with no children is removed, a hidden parent with one child is
    coalesced into it (leaf-coalesce keeps the leaf's name): destroying every clone and snapshot
    leaves the one original file, and the SR's utilisation where it was."""
    source = sim.vdi()
    before = utilisation(sim)
    clone = sim.call("VDI.clone", source, {})
    snap = sim.call("VDI.snapshot", clone, {})
    assert len(files(sim)) == 5 and utilisation(sim) > before
    sim.call("VDI.destroy", snap)
    sim.call("VDI.destroy", clone)
    assert files(sim) == [f"{sim.call('VDI.get_uuid', source)}.vhd"]
    assert sim.call("VDI.get_sm_config", source) == {} and len(sim.call("SR.get_VDIs", sim.sr)) == 1
    assert utilisation(sim) == before and vhd.check(sim.sr_dir() / files(sim)[0]) is None


def test_resize_grows_only(sim):
    """FileSR.py resize: shrinking is VDISize (SR_BACKEND_FAILURE_79 "shrinking not allowed"); a
    larger size is rounded to 2 MiB and the SR's allocation follows; a base copy is not managed
    (xapi_vdi_helpers.ml assert_managed: VDI_NOT_MANAGED)."""
    vdi = sim.vdi(size=64 * MIB)
    assert sim.call("VDI.resize", vdi, str(32 * MIB)) == ["SR_BACKEND_FAILURE_79", "", "VDI Invalid size "
                                                          "[opterr=shrinking not allowed]", ""]
    assert sim.call("VDI.resize", vdi, str(GIB + 1)) == ""
    assert int(sim.call("VDI.get_virtual_size", vdi)) == GIB + 2 * MIB
    assert int(sim.call("SR.get_virtual_allocation", sim.sr)) == GIB + 2 * MIB
    sim.call("VDI.clone", vdi, {})
    base = sim.call("VDI.get_by_uuid", sim.call("VDI.get_sm_config", vdi)["vhd-parent"])
    assert sim.call("VDI.resize", base, str(2 * GIB)) == ["VDI_NOT_MANAGED", base]
    assert sim.call("VDI.destroy", base) == ["VDI_NOT_MANAGED", base]


def test_copy_flattens_the_chain_into_a_new_vdi(sim):
    """xapi_vdi.ml copy: a new VDI of the source's size and other_config, its content that of the
    whole chain; into a smaller VDI is VDI_TOO_SMALL, into a read-only one VDI_READONLY."""
    source = sim.vdi(size=8 * MIB)
    path = sim.sr_dir() / f"{sim.call('VDI.get_uuid', source)}.vhd"
    vhd.write_block(path, 1, b"payload")
    sim.call("VDI.clone", source, {})
    copy = sim.call("VDI.copy", source, sim.sr, "OpaqueRef:NULL", "OpaqueRef:NULL")
    rec = sim.call("VDI.get_record", copy)
    copied = sim.sr_dir() / f"{rec['uuid']}.vhd"
    assert vhd.info(copied).parent is None and vhd.read_sectors(copied, 2 * MIB, 7) == b"payload"
    assert rec["other_config"] == {"nova_disk_type": "root"} and rec["virtual_size"] == str(8 * MIB)
    small = sim.vdi(size=2 * MIB)
    assert sim.call("VDI.copy", source, sim.sr, "OpaqueRef:NULL", small) == ["VDI_TOO_SMALL", small, str(8 * MIB)]


def test_scan_follows_the_files(sim):
    """FileSR.py _loadvdis and xapi_sr.ml update_vdis: a VHD file put in the directory becomes a
    VDI (a hidden leaf does not), a VDI whose file went is forgotten."""
    directory = sim.sr_dir()
    info = vhd.create(directory / "11111111-2222-4333-8444-555555555555.vhd", 4 * MIB)
    vhd.create(directory / "22222222-2222-4333-8444-555555555555.vhd", 4 * MIB)
    vhd.set_hidden(directory / "22222222-2222-4333-8444-555555555555.vhd")
    sim.call("SR.scan", sim.sr)
    vdi = sim.call("VDI.get_by_uuid", "11111111-2222-4333-8444-555555555555")
    assert sim.call("VDI.get_virtual_size", vdi) == str(4 * MIB) and sim.call("VDI.get_name_label", vdi) == ""
    assert sim.call("VDI.get_by_uuid", "22222222-2222-4333-8444-555555555555")[0] == "UUID_INVALID"
    assert not (directory / "22222222-2222-4333-8444-555555555555.vhd").exists()  # garbage: collected
    info.path.unlink()
    sim.call("SR.scan", sim.sr)
    assert sim.call("VDI.get_record", vdi) == ["HANDLE_INVALID", "VDI", vdi]


def test_sr_create_needs_an_existing_device_and_takes_its_size(tmp_path):
    """sm SR.py deviceCheck (no device: SR_BACKEND_FAILURE_90) and lvutil.py createVG (a device
    that does not exist: InvalidDev, SR_BACKEND_FAILURE_19); EXTSR.create fills the device."""
    a = Api("root", "pw", tmp_path, machine=Simulated(sr_root=tmp_path / "sr"))
    s = a.dispatch("session.login_with_password", ("root", "pw"))["Value"]

    def create(device_config):
        answer = a.dispatch("SR.create", (s, a.refs["host"], device_config, "0", "Local", "", "ext", "user",
                                           False, {}))
        return answer.get("Value") or answer["ErrorDescription"]
    assert create({}) == ["SR_BACKEND_FAILURE_90", "", "The request is missing the device parameter", ""]
    assert create({"device": "/dev/sdz"}) == [
        "SR_BACKEND_FAILURE_19", "", "No such device [opterr=Device /dev/sdz does not exist]", ""]
    sr = create({"device": "/dev/sdb"})
    assert a.store.record("SR", sr)["physical_size"] == 60 * GIB == a.machine.device_size("/dev/sdb")
    assert a.store.record("SR", sr)["physical_utilisation"] == 0


def test_a_plugin_finds_only_sr_directories(sim):
    """A dom0 plugin's sr_path is /var/run/sr-mount/<uuid> (sm SR.py MOUNT_BASE; Nova's
    sr_base_path); any other path is not there for it (Python 2's OSError from mkdtemp)."""
    from xenlab.sim import storage

    uuid = sim.call("SR.get_uuid", sim.sr)
    assert storage.dom0_sr_path(sim.api, f"/var/run/sr-mount/{uuid}") == sim.sr_dir()
    for bad in ("/etc", f"/var/run/sr-mount/{uuid}/..", "/var/run/sr-mount/nope"):
        try:
            storage.dom0_sr_path(sim.api, bad)
        except storage.Py2OSError as exc:
            assert type(exc).__name__ == "OSError" and str(exc).startswith("[Errno 2] No such file or directory")
        else:
            raise AssertionError(bad)
