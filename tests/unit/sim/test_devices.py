"""VBDs, VIFs and networks against XAPI's rules (xapi-project/xen-api v26.1.4 ocaml/xapi/
xapi_vbd.ml, xapi_vbd_helpers.ml, xapi_vif.ml, xapi_vif_helpers.ml, xapi_network.ml)."""

from .conftest import MIB


def test_vbd_create_checks_the_disk_and_its_device(sim):
    """xapi_vbd.ml create: autodetect takes the lowest free device, a taken one is
    DEVICE_ALREADY_EXISTS; a RW VBD of a read-only VDI is VDI_READONLY; only a CD may be empty
    (VBD_NOT_REMOVABLE_MEDIA) and a CD is read-only (VBD_CDS_MUST_BE_READONLY)."""
    vm = sim.vm()
    first = sim.vbd(vm, sim.vdi(), userdevice="autodetect")
    assert sim.call("VBD.get_userdevice", first) == "0" and sim.call("VBD.get_currently_attached", first) is False
    assert sim.call("VBD.get_device", first) == "" and first in sim.call("VM.get_VBDs", vm)
    assert sim.vbd(vm, sim.vdi(), userdevice="0") == ["DEVICE_ALREADY_EXISTS", "0"]
    assert sim.call("VBD.get_userdevice", sim.vbd(vm, sim.vdi(), userdevice="autodetect")) == "1"
    ro = sim.vdi(read_only=True)
    assert sim.vbd(vm, ro, userdevice="2") == ["VDI_READONLY", ro]
    assert sim.vbd(vm, "OpaqueRef:NULL", userdevice="3", empty=True) == ["VBD_NOT_REMOVABLE_MEDIA", "in constructor"]
    assert sim.vbd(vm, "OpaqueRef:NULL", userdevice="3", empty=True, type="CD") == ["VBD_CDS_MUST_BE_READONLY"]
    cd = sim.vbd(vm, "OpaqueRef:NULL", userdevice="3", empty=True, type="CD", mode="RO")
    assert sim.call("VBD.get_empty", cd) is True and sim.call("VBD.get_VDI", cd) == "OpaqueRef:NULL"
    assert sim.vbd(vm, sim.vdi(), userdevice="99") == ["INVALID_DEVICE", "99"]


def test_plug_and_unplug_only_while_the_vm_runs(sim):
    """xapi_vbd_helpers.ml valid_operations: VM_BAD_POWER_STATE unless Running; DEVICE_ALREADY_ATTACHED,
    DEVICE_ALREADY_DETACHED; a VBD that is not unpluggable cannot be unplugged; destroy of an
    attached VBD is OPERATION_NOT_ALLOWED (xapi_vbd_helpers.ml destroy)."""
    vm = sim.vm()
    vbd = sim.vbd(vm, sim.vdi())
    assert sim.call("VBD.plug", vbd) == ["VM_BAD_POWER_STATE", vm, "running", "halted"]
    sim.call("VM.start", vm, False, False)
    assert sim.call("VBD.plug", vbd) == ["DEVICE_ALREADY_ATTACHED", vbd]
    uuid = sim.call("VBD.get_uuid", vbd)
    assert sim.call("VBD.destroy", vbd) == ["OPERATION_NOT_ALLOWED",
                                            f"VBD '{uuid}' still attached to '{sim.call('VM.get_uuid', vm)}'"]
    assert sim.call("VBD.unplug", vbd) == "" and sim.call("VBD.get_currently_attached", vbd) is False
    assert sim.call("VBD.unplug", vbd) == ["DEVICE_ALREADY_DETACHED", vbd]
    assert sim.call("VBD.plug", vbd) == "" and sim.call("VBD.get_device", vbd) == "xvda"
    fixed = sim.vbd(vm, sim.vdi(), userdevice="1", unpluggable=False)
    assert sim.call("VBD.plug", fixed) == ""
    assert sim.call("VBD.unplug", fixed) == ["VBD_NOT_UNPLUGGABLE", fixed]
    assert "unplug" not in sim.call("VBD.get_allowed_operations", fixed)


def test_cd_insert_and_eject(sim):
    """xapi_vbd.ml assert_ok_to_insert: removable and empty; eject needs a disc in it."""
    vm = sim.vm()
    cd = sim.vbd(vm, "OpaqueRef:NULL", userdevice="3", empty=True, type="CD", mode="RO")
    disk = sim.vbd(vm, sim.vdi())
    iso = sim.vdi(size=4 * MIB)
    assert sim.call("VBD.eject", cd) == ["VBD_IS_EMPTY", cd]
    assert sim.call("VBD.insert", disk, iso) == ["VBD_NOT_REMOVABLE_MEDIA", disk]
    assert sim.call("VBD.insert", cd, iso) == "" and sim.call("VBD.get_VDI", cd) == iso
    assert sim.call("VBD.insert", cd, iso) == ["VBD_NOT_EMPTY", cd]
    assert sim.call("VBD.eject", cd) == "" and sim.call("VBD.get_empty", cd) is True


def test_vif_create_checks_mac_and_device(sim):
    """xapi_vif_helpers.ml create: MAC_INVALID, DEVICE_ALREADY_EXISTS, a device number (INVALID_DEVICE)."""
    vm, net = sim.vm(), sim.network()
    vif = sim.vif(vm, net)
    assert sim.call("VIF.get_MAC", vif) == "fa:16:3e:00:00:01" and vif in sim.call("network.get_VIFs", net)
    assert sim.vif(vm, net, device="0", mac="fa:16:3e:00:00:02") == ["DEVICE_ALREADY_EXISTS", "0"]
    assert sim.vif(vm, net, device="1", mac="not-a-mac") == ["MAC_INVALID", "not-a-mac"]
    assert sim.vif(vm, net, device="eth1") == ["INVALID_DEVICE", "eth1"]
    assert sim.vif(vm, "OpaqueRef:x", device="1") == ["HANDLE_INVALID", "network", "OpaqueRef:x"]


def test_a_running_vif_sits_on_its_networks_bridge(sim):
    """xapi_network.ml create: a new network gets bridge xapi<N>; a plugged VIF's backend
    vif<domid>.<device> is a port of that bridge in dom0 (xapi_network.ml attach)."""
    vm, net = sim.vm(), sim.network()
    bridge = sim.call("network.get_bridge", net)
    assert bridge.startswith("xapi")
    vif = sim.vif(vm, net)
    sim.call("VM.start", vm, False, False)
    domid = sim.call("VM.get_domid", vm)
    link = sim.api.dom0(sim.host).links[f"vif{domid}.0"]
    assert link.master == bridge and link.external_ids["attached-mac"] == "fa:16:3e:00:00:01"
    assert sim.call("VIF.unplug", vif) == "" and f"vif{domid}.0" not in sim.api.dom0(sim.host).links
    assert sim.call("VIF.unplug", vif) == ["DEVICE_ALREADY_DETACHED", vif]


def test_network_create_and_destroy(sim):
    """xapi_network.ml create: a named bridge in use is BRIDGE_NAME_EXISTS, a reserved prefix
    INVALID_VALUE; destroy: NETWORK_CONTAINS_VIF while a VIF is attached, the internal management
    network is CANNOT_DESTROY_SYSTEM_NETWORK, and a destroyed network takes its VIFs."""
    net = sim.network()
    taken = sim.call("network.get_bridge", net)
    assert sim.call("network.create", {"name_label": "n", "name_description": "", "other_config": {},
                                       "bridge": "qbr-mine"}) != []
    assert sim.call("network.create", {"name_label": "n", "name_description": "", "other_config": {},
                                       "bridge": "qbr-mine"}) == ["BRIDGE_NAME_EXISTS", "qbr-mine"]
    assert sim.call("network.create", {"name_label": "n", "name_description": "", "other_config": {},
                                       "bridge": taken}) == ["INVALID_VALUE", "bridge", taken]
    vm = sim.vm()
    vif = sim.vif(vm, net)
    sim.call("VM.start", vm, False, False)
    assert sim.call("network.destroy", net) == ["NETWORK_CONTAINS_VIF", vif]
    internal = next(r for r, rec in sim.api.store.classes["network"].items() if rec["bridge"] == "xenapi")
    assert sim.call("network.destroy", internal) == ["CANNOT_DESTROY_SYSTEM_NETWORK", internal]
    sim.call("VM.hard_shutdown", vm)
    assert sim.call("network.destroy", net) == "" and sim.call("VM.get_VIFs", vm) == []
