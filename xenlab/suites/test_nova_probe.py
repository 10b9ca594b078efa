"""Nova's own XenAPI driver on the devstack host reports the hypervisor (stand-in labs).

Where stack.sh cannot run, the devstack machine runs Nova 21.2.4 and os-xenapi 0.3.4
as a service standing for nova-compute (xenlab-nova-probe.service, running
vagrant/devstack/nova-probe.py from its pinned tree): it started Nova's XenAPI
driver against the lab's XenAPI with the machine's nova.conf, and one remote
command asks it for a resource refresh now and the hypervisor as Nova would
register it.
"""

import json

import pytest


@pytest.fixture(scope="module")
def report(host, ctx, ask_probe):
    probe = ctx["nova_probe"]
    assert probe, "this lab's flavour gives the devstack machine no Nova probe"
    out = ask_probe(host, probe["ask"], probe["service"])
    try:
        answer = json.loads(out)
    except ValueError:
        pytest.fail(f"Nova's probe answered no report: {out.strip()[-300:]}", pytrace=False)
    assert "error" not in answer, f"Nova's XenAPI driver failed: {answer.get('error')}"
    return answer


def test_nova_reports_the_hypervisor(report, ctx):
    hv = report["hypervisor"]
    assert hv["hypervisor_type"] == "XenServer", f"Nova reports hypervisor_type {hv['hypervisor_type']!r}"
    for field in ("vcpus", "memory_mb", "local_gb", "hypervisor_version"):
        assert int(hv[field]) > 0, f"Nova reports {field} = {hv[field]!r} for the host: XenAPI's answer lacks it"
    want = ctx["nova_probe"]["hostname"]
    assert hv["hypervisor_hostname"] == want, \
        f"Nova names the hypervisor {hv['hypervisor_hostname']!r}, XenAPI named the host {want!r}: run `invoke wire`"


def test_nova_places_the_host_in_its_provider_tree(report):
    inventory = report["inventory"]
    for rc in ("VCPU", "MEMORY_MB", "DISK_GB"):
        assert int(inventory.get(rc, {}).get("total", 0)) > 0, \
            f"Nova's provider tree has no {rc} inventory for the host: {inventory}"
