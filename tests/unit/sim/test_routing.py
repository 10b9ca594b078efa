"""Which PIF keeps dom0's default route and DNS (xen-api ocaml/xapi/helpers.ml
determine_gateway_and_dns_ifs), and what the stand-in's machine makes of it."""

import pytest

from xenlab.sim import machine, routing
from xenlab.sim import xe_server as cli
from xenlab.sim.api import Api
from xenlab.sim.machine import Nic, ThisMachine
from xenlab.sim.store import Store

HOST = "OpaqueRef:host"


def store_with(*pifs: dict) -> tuple[Store, list[str]]:
    store = Store()
    refs = [store.add("PIF", {"host": HOST, "ip_configuration_mode": "None", "primary_address_type": "IPv4",
                              "management": False, "other_config": {}, **pif}) for pif in pifs]
    store.add("PIF", {"host": "OpaqueRef:other-host", "ip_configuration_mode": "DHCP", "management": True,
                      "other_config": {"defaultroute": "true", "peerdns": "true"}})
    return store, refs


def test_no_pif_with_an_address_means_no_gateway_and_no_dns():
    store, _ = store_with({"device": "eth0"}, {"device": "eth1"})
    assert routing.gateway_and_dns_pifs(store, HOST) == (None, None)


def test_the_management_pif_carries_both_by_default():
    store, (nat, private) = store_with({"device": "eth0", "ip_configuration_mode": "DHCP"},
                                      {"device": "eth1", "ip_configuration_mode": "Static", "management": True})
    assert routing.gateway_and_dns_pifs(store, HOST) == (private, private)


def test_the_pif_being_made_management_wins_over_the_flag():
    # nm.ml bring_pif_up ~management_interface:true: the flag has not moved yet
    store, (nat, private) = store_with({"device": "eth0", "ip_configuration_mode": "DHCP", "management": True},
                                      {"device": "eth1", "ip_configuration_mode": "Static"})
    assert routing.gateway_and_dns_pifs(store, HOST, management=private) == (private, private)


def test_the_knobs_keep_route_and_dns_on_their_pif_each_on_its_own():
    store, (nat, private) = store_with(
        {"device": "eth0", "ip_configuration_mode": "DHCP", "other_config": {"defaultroute": "true"}},
        {"device": "eth1", "ip_configuration_mode": "Static", "management": True})
    assert routing.gateway_and_dns_pifs(store, HOST, management=private) == (nat, private)
    store.update("PIF", nat, other_config={"defaultroute": "true", "peerdns": "true"})
    assert routing.gateway_and_dns_pifs(store, HOST, management=private) == (nat, nat)
    # Only "true" counts, and only on a PIF with an address.
    store.update("PIF", nat, other_config={"defaultroute": "yes"})
    assert routing.gateway_and_dns_pifs(store, HOST) == (private, private)
    store.update("PIF", nat, ip_configuration_mode="None", other_config={"defaultroute": "true"})
    assert routing.gateway_and_dns_pifs(store, HOST) == (private, private)


def test_without_management_the_first_pif_with_an_address():
    store, (first, second) = store_with({"device": "eth0", "ip_configuration_mode": "DHCP"},
                                        {"device": "eth1", "primary_address_type": "IPv6",
                                         "ipv6_configuration_mode": "Autoconf"})
    assert routing.gateway_and_dns_pifs(store, HOST) == (first, first)
    store.update("PIF", first, ip_configuration_mode="None")
    assert routing.gateway_and_dns_pifs(store, HOST) == (second, second)


# ------------------------------------------------------------------ through xe, on the stand-in's machine

NAT_MAC, PRIVATE_MAC = "52:54:00:00:00:01", "52:54:00:00:00:02"
INVENTORY = {"INSTALLATION_UUID": "11111111-1111-4111-8111-111111111111",
             "CONTROL_DOMAIN_UUID": "22222222-2222-4222-8222-222222222222"}


class Machine(ThisMachine):
    """The stand-in's machine under a temp root (commands logged), with two NICs."""

    def nics(self):
        return [Nic("eth0", NAT_MAC), Nic("eth1", PRIVATE_MAC)]


def xe(api, *argv):
    result = cli.run(api, list(argv), log_ignored=True)
    assert result.code == 0, (argv, result)
    return result.stdout.strip()


def unit(root, device) -> str:
    return (root / machine.NETWORKD_FILE.format(device=device)).read_text()


@pytest.fixture
def booted(tmp_path):
    """network-init's first boot: eth0 by DHCP, the management interface."""
    root = tmp_path / "root"
    api = Api("root", "pw", tmp_path, machine=Machine(root), state_db=tmp_path / "state.db", inventory=INVENTORY)
    api.cli_ignored_log = tmp_path / "ignored.log"
    host = INVENTORY["INSTALLATION_UUID"]
    xe(api, "pif-scan", f"host-uuid={host}")
    nat = xe(api, "pif-list", f"host-uuid={host}", "device=eth0", "params=uuid", "--minimal")
    xe(api, "pif-reconfigure-ip", f"uuid={nat}", "mode=dhcp")
    xe(api, "host-management-reconfigure", f"pif-uuid={nat}")
    assert "UseGateway=yes" in unit(root, "eth0") and "UseDNS=yes" in unit(root, "eth0")
    return api, root, nat


def move_management(api, knobs: bool) -> None:
    """vagrant/xenserver/management-ip.sh's calls: the private NIC static, then management."""
    host = INVENTORY["INSTALLATION_UUID"]
    private = xe(api, "pif-list", f"host-uuid={host}", f"MAC={PRIVATE_MAC}", "params=uuid", "--minimal")
    xe(api, "pif-reconfigure-ip", f"uuid={private}", "mode=static", "IP=192.168.57.10", "netmask=255.255.255.0")
    if knobs:
        nat = xe(api, "pif-list", f"host-uuid={host}", "management=true", "params=uuid", "--minimal")
        xe(api, "pif-param-set", f"uuid={nat}", "other-config:defaultroute=true")
        xe(api, "pif-param-set", f"uuid={nat}", "other-config:peerdns=true")
    xe(api, "host-management-reconfigure", f"pif-uuid={private}")


def test_moving_management_alone_takes_the_nat_nics_route_and_dns_at_its_next_start(booted):
    """The fault: the NAT NIC's file loses its gateway and DNS, for the next boot."""
    api, root, _ = booted
    move_management(api, knobs=False)
    assert "UseGateway=no" in unit(root, "eth0") and "UseDNS=no" in unit(root, "eth0")
    assert "Gateway=" not in unit(root, "eth1").replace("UseGateway", "")


def test_the_knobs_on_the_nat_nic_keep_its_route_and_dns(booted):
    api, root, nat = booted
    before = (root / machine.COMMAND_LOG).read_text()
    move_management(api, knobs=True)
    assert "UseGateway=yes" in unit(root, "eth0") and "UseDNS=yes" in unit(root, "eth0")
    assert xe(api, "pif-param-get", f"uuid={nat}", "param-name=other-config",
              "param-key=defaultroute") == "true"
    # The NAT NIC was not touched by the move (a running DHCP client keeps its lease).
    after = (root / machine.COMMAND_LOG).read_text()[len(before):].splitlines()
    assert not [c for c in after if c.endswith(" eth0") or " eth0 " in c], after
    # What the machine keeps for the next boot, and no parameter real xe would ignore.
    state = (root / machine.NETWORKD_STATE).read_text()
    assert '"gateway_interface": "eth0"' in state and '"dns_interface": "eth0"' in state
    assert not api.cli_ignored_log.exists()


def test_the_knobs_set_later_take_effect_at_the_next_bring_up(booted):
    """As on a host: other-config alone changes nothing until a PIF is brought up again."""
    api, root, nat = booted
    move_management(api, knobs=False)
    xe(api, "pif-param-set", f"uuid={nat}", "other-config:defaultroute=true")
    assert "UseGateway=no" in unit(root, "eth0")
    xe(api, "pif-plug", f"uuid={nat}")
    assert "UseGateway=yes" in unit(root, "eth0") and "UseDNS=no" in unit(root, "eth0")
