"""A simulated host for the lifecycle tests: a seeded pool whose local SR keeps its VHD files
in the test's temp directory, a logged-in session, and the records Nova 21's XenAPI driver
sends (nova/virt/xenapi/vm_utils.py create_vm, create_vdi, create_vbd; vif.py plug)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from xenlab.sim.api import Api
from xenlab.sim.machine import Simulated

GIB, MIB = 2**30, 2**20


@dataclass
class Host:
    api: Api
    session: str

    def call(self, method, *args):
        """The Value, or the ErrorDescription list (what a client's XenAPI.Failure carries)."""
        answer = self.api.dispatch(method, (self.session, *args))
        return answer["Value"] if answer["Status"] == "Success" else answer["ErrorDescription"]

    @property
    def host(self) -> str:
        return self.api.refs["host"]

    @property
    def sr(self) -> str:
        return self.api.refs["sr"]

    def sr_dir(self):
        rec = self.api.store.record("SR", self.sr)
        return self.api.machine.sr_dir(rec["uuid"], rec["type"])

    def vm(self, name="instance-00000001", memory=512 * MIB, vcpus=1, hvm=False, **extra) -> str:
        return self.call("VM.create", vm_record(name, memory, vcpus, hvm, **extra))

    def vdi(self, size=GIB, name="disk", **extra) -> str:
        return self.call("VDI.create", {"name_label": name, "name_description": "root", "SR": self.sr,
                                        "virtual_size": str(size), "type": "User", "sharable": False,
                                        "read_only": False, "xenstore_data": {},
                                        "other_config": {"nova_disk_type": "root"}, "sm_config": {}, "tags": [],
                                        **extra})

    def vbd(self, vm, vdi, userdevice="0", **extra) -> str:
        return self.call("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": userdevice, "bootable": True,
                                        "mode": "RW", "type": "disk", "unpluggable": True, "empty": False,
                                        "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {},
                                        "qos_supported_algorithms": [], **extra})

    def network(self, name="net-1") -> str:
        return self.call("network.create", {"name_label": name, "name_description": "interim network",
                                            "other_config": {"assume_network_is_shared": "true"}})

    def vif(self, vm, network, device="0", mac="fa:16:3e:00:00:01") -> str:
        return self.call("VIF.create", {"device": device, "network": network, "VM": vm, "MAC": mac, "MTU": "1500",
                                        "qos_algorithm_type": "", "qos_algorithm_params": {},
                                        "other_config": {"neutron-port-id": "port-1"}})

    def record(self, cls, ref):
        return self.api.store.record(cls, ref)


def vm_record(name, memory, vcpus, hvm=False, **extra) -> dict:
    """vm_utils.py create_vm's record (numbers as strings, affinity '')."""
    mem = str(memory)
    rec = {"actions_after_crash": "destroy", "actions_after_reboot": "restart", "actions_after_shutdown": "destroy",
           "affinity": "", "blocked_operations": {}, "ha_always_run": False, "ha_restart_priority": "",
           "HVM_boot_params": {"order": "dc"} if hvm else {}, "HVM_boot_policy": "BIOS order" if hvm else "",
           "is_a_template": False, "memory_dynamic_min": mem, "memory_dynamic_max": mem,
           "memory_static_min": "0", "memory_static_max": mem, "memory_target": mem, "name_description": "",
           "name_label": name, "other_config": {"nova_uuid": "11111111-2222-4333-8444-555555555555"},
           "PCI_bus": "", "platform": {"acpi": "true", "apic": "true", "pae": "true", "viridian": "false",
                                      "timeoffset": "0", "nx": "true" if hvm else "false"},
           "PV_args": "", "PV_bootloader": "" if hvm else "pygrub", "PV_bootloader_args": "", "PV_kernel": "",
           "PV_legacy_args": "", "PV_ramdisk": "", "recommendations": "", "tags": [], "user_version": "0",
           "VCPUs_at_startup": str(vcpus), "VCPUs_max": str(vcpus), "VCPUs_params": {},
           "xenstore_data": {"vm-data/allowvssprovider": "false"}}
    rec.update(extra)
    return rec


@pytest.fixture
def sim(tmp_path) -> Host:
    api = Api("root", "pw", tmp_path / "plugins", machine=Simulated(sr_root=tmp_path / "sr"))
    session = api.dispatch("session.login_with_password", ("root", "pw"))["Value"]
    return Host(api, session)
