"""Messages with behaviour, through Api.dispatch as a client calls them."""

import pytest

from xenlab.sim.api import Api
from xenlab.sim.machine import Nic, Simulated
from xenlab.sim.store import NULL_REF

INVENTORY = {"INSTALLATION_UUID": "11111111-1111-4111-8111-111111111111",
             "CONTROL_DOMAIN_UUID": "22222222-2222-4222-8222-222222222222"}


class Recording(Simulated):
    """A machine that records what XAPI asked of it."""

    def __init__(self):
        super().__init__([Nic("eth0", "52:54:00:00:00:01"), Nic("eth1", "52:54:00:00:00:02")])
        self.done = []

    def apply_ip(self, *args):
        self.done.append(("apply_ip", *args))

    def set_hostname(self, name):
        self.done.append(("hostname", name))

    def make_sr(self, uuid, sr_type):
        self.done.append(("sr", sr_type))
        return (10 * 2**30, 2**30) if sr_type == "ext" else None

    def set_management_interface(self, bridge):
        self.done.append(("management", bridge))


@pytest.fixture
def fresh(tmp_path):
    m = Recording()
    a = Api("root", "pw", tmp_path, machine=m, state_db=tmp_path / "state.db", inventory=INVENTORY)
    s = a.dispatch("session.login_with_password", ("root", "pw"))["Value"]

    def call(method, *args):
        answer = a.dispatch(method, (s, *args))
        return answer["Value"] if answer["Status"] == "Success" else answer["ErrorDescription"]
    return a, m, call


def pif_of(a, device):
    return a.store.find("PIF", device=device)[0]


def test_pif_scan_introduces_each_nic_once_with_its_network(fresh):
    a, _, call = fresh
    host = a.refs["host"]
    assert call("PIF.scan", host) == "" and call("PIF.scan", host) == ""
    pifs = call("PIF.get_all_records")
    assert sorted((p["device"], p["MAC"], p["management"]) for p in pifs.values()) == [
        ("eth0", "52:54:00:00:00:01", False), ("eth1", "52:54:00:00:00:02", False)]
    nets = {call("network.get_bridge", p["network"]) for p in pifs.values()}
    assert nets == {"xenbr0", "xenbr1"}


def test_reconfigure_ip_checks_addresses_as_xapi(fresh):
    a, m, call = fresh
    call("PIF.scan", a.refs["host"])
    pif = pif_of(a, "eth1")
    assert call("PIF.reconfigure_ip", pif, "Static", "10.0.0.300", "255.255.255.0", "", "") == [
        "INVALID_IP_ADDRESS_SPECIFIED", "IP"]
    assert call("PIF.reconfigure_ip", pif, "static", "192.168.57.10", "", "", "") == [
        "INVALID_IP_ADDRESS_SPECIFIED", "netmask"]
    assert call("PIF.reconfigure_ip", pif, "Static", "192.168.57.10", "255.255.255.0", "", "1.1.1.1,fe80::1") == ""
    rec = call("PIF.get_record", pif)
    assert (rec["ip_configuration_mode"], rec["IP"], rec["netmask"], rec["DNS"]) == (
        "Static", "192.168.57.10", "255.255.255.0", "1.1.1.1")
    assert m.done == []  # not plugged yet: nothing applied
    assert call("PIF.plug", pif) == "" and m.done[-1][:3] == ("apply_ip", "eth1", "Static")


def test_management_moves_and_the_host_address_follows(fresh):
    a, m, call = fresh
    host = a.refs["host"]
    call("PIF.scan", host)
    eth0, eth1 = pif_of(a, "eth0"), pif_of(a, "eth1")
    assert call("host.management_reconfigure", eth0) == ["PIF_HAS_NO_NETWORK_CONFIGURATION", eth0]
    call("PIF.reconfigure_ip", eth0, "Static", "10.0.2.15", "255.255.255.0", "10.0.2.2", "")
    call("host.management_reconfigure", eth0)
    assert call("PIF.get_management", eth0) is True and call("host.get_address", host) == "10.0.2.15"
    call("PIF.reconfigure_ip", eth1, "Static", "192.168.57.10", "255.255.255.0", "", "")
    assert call("PIF.reconfigure_ip", eth0, "None", "", "", "", "") == ["PIF_IS_MANAGEMENT_IFACE", eth0]
    call("host.management_reconfigure", eth1)
    assert (call("PIF.get_management", eth0), call("PIF.get_management", eth1)) == (False, True)
    assert call("host.get_address", host) == "192.168.57.10" and ("management", "xenbr1") in m.done
    assert call("host.get_management_interface", host) == eth1


def test_set_hostname_live_validates_renames_and_relabels_dom0(fresh):
    a, m, call = fresh
    host = a.refs["host"]
    for bad, reason in (("", "hostname empty"), ("-lab", "hostname contains invalid characters"),
                        ("a_b", "hostname contains invalid characters"), ("x" * 256, "hostname is too long")):
        assert call("host.set_hostname_live", host, bad) == ["HOST_NAME_INVALID", reason]
    assert call("host.set_hostname_live", host, "lab-xen.example") == ""
    assert call("host.get_hostname", host) == "lab-xen.example" and ("hostname", "lab-xen.example") in m.done
    assert call("VM.get_name_label", a.refs["control_domain"]) == "Control domain on host: lab-xen.example"


def test_sr_create_needs_a_known_driver_and_makes_an_attached_sr(fresh):
    a, m, call = fresh
    host = a.refs["host"]
    assert call("SR.create", host, {}, "0", "x", "", "lvmfoo", "user", False, {}) == ["SR_UNKNOWN_DRIVER", "lvmfoo"]
    sr = call("SR.create", host, {"device": "/dev/sdb"}, "0", "Local storage", "", "ext", "user", False, {})
    rec = call("SR.get_record", sr)
    assert (rec["type"], rec["physical_size"], rec["physical_utilisation"]) == ("ext", str(10 * 2**30), str(2**30))
    pbd = call("PBD.get_record", rec["PBDs"][0])
    assert pbd["device_config"] == {"device": "/dev/sdb"} and pbd["currently_attached"] is True
    assert call("pool.get_default_SR", a.refs["pool"]) == NULL_REF
    assert call("pool.set_default_SR", a.refs["pool"], sr) == "" and call("pool.sync_database") == ""


def test_every_change_is_saved_and_survives_a_restart(fresh, tmp_path):
    a, _, call = fresh
    call("PIF.scan", a.refs["host"])
    again = Api("root", "pw", tmp_path, state_db=tmp_path / "state.db", inventory=INVENTORY)
    assert len(again.store.classes["PIF"]) == 2 and again.refs["host"] == a.refs["host"]
    assert again.store.classes["session"] == {}
