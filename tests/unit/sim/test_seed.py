import pytest

from xenlab.sim import BRAND
from xenlab.sim.seed import seed
from xenlab.sim.store import Store


@pytest.mark.parametrize("size", [1, 4])
def test_seeded_pool_is_consistent(size):
    s = Store()
    refs = seed(s, "10.0.0.5", size)
    pool = s.record("pool", refs["pool"])
    assert pool["master"] == refs["host"] and s.record("SR", pool["default_SR"])["type"] == "ext"
    assert len(s.classes["host"]) == size
    ips = sorted(r["IP"] for r in s.classes["PIF"].values() if r["management"])
    assert ips == sorted(f"10.0.0.{5 + i}" for i in range(size))
    host = s.record("host", refs["host"])
    assert host["software_version"]["product_brand"] == BRAND
    assert s.record("VM", host["control_domain"])["is_control_domain"] is True
    internal = s.find("network", bridge="xenapi")
    assert s.record("network", internal[0])["other_config"]["is_host_internal_management_network"] == "true"


def test_the_seed_models_xcp_ng_8_3_and_says_it_is_a_stand_in():
    from xenlab.sim import seed as seed_mod

    s = Store(schema=True)
    refs = seed(s)
    host = s.record("host", refs["host"])
    sv = host["software_version"]
    assert (sv["product_version"], sv["platform_version"], sv["xapi"]) == ("8.3.0", "3.4.0", "26.1")
    assert (host["API_version_major"], host["API_version_minor"]) == seed_mod.API_VERSION == (2, 21)
    assert sv["product_brand"] == BRAND and "XenServer" not in sv["product_brand"]
    assert {"flags", "family", "model", "stepping", "speed", "cpu_count", "socket_count", "vendor",
            "modelname"} <= set(host["cpu_info"])


def test_every_host_has_metrics_pci_devices_and_an_ext_sm():
    s = Store(schema=True)
    refs = seed(s, "10.0.0.5", 2)
    for host in refs["hosts"]:
        rec = s.record("host", host)
        metrics = s.record("host_metrics", rec["metrics"])
        assert metrics["memory_total"] > metrics["memory_free"] > 0
        assert len(rec["PCIs"]) == len(s.find("PCI", host=host)) > 0
    assert s.find("SM", type="ext")


def test_a_first_boot_database_has_the_inventorys_uuids_and_no_pif_or_sr():
    from xenlab.sim.seed import first_boot

    s = Store(schema=True)
    refs = first_boot(s, "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "standin")
    assert s.record("host", refs["host"])["uuid"] == "11111111-1111-1111-1111-111111111111"
    assert s.record("VM", refs["control_domain"])["uuid"] == "22222222-2222-2222-2222-222222222222"
    assert s.record("pool", refs["pool"])["master"] == refs["host"]
    assert s.record("pool", refs["pool"])["default_SR"] == "OpaqueRef:NULL"
    assert s.classes["PIF"] == {} and s.classes["SR"] == {} and s.find("SM", type="ext")
