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
