"""Nova's own XenAPI driver on the devstack host reports the hypervisor (stand-in labs).

Where stack.sh cannot run, the devstack machine has Nova 21.2.4 and os-xenapi 0.3.4
(vagrant/devstack/nova-probe.py with its pinned tree): one remote command runs the
driver's start-up and resource refresh against the lab's XenAPI with the machine's
nova.conf, and prints the hypervisor as nova-compute would register it.
"""

import json
import shlex

import pytest


@pytest.fixture(scope="module")
def report(host, ctx):
    run = ctx["nova_probe"]
    assert run, "this lab's flavour gives the devstack machine no Nova probe"
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in run["env"].items())
    out = host.run(f"env -i {env} {' '.join(shlex.quote(a) for a in run['argv'])}")
    assert out.rc == 0, f"Nova's XenAPI driver failed on the devstack host: {(out.stdout + out.stderr).strip()[-400:]}" \
                        " (the probe's tree or script missing: `vagrant provision devstack` / `invoke up --force`)"
    try:
        return json.loads(out.stdout)
    except ValueError:
        pytest.fail(f"Nova's probe printed no report: {out.stdout.strip()[-300:]}", pytrace=False)


def test_nova_reports_the_hypervisor(report, ctx):
    hv = report["hypervisor"]
    assert hv["hypervisor_type"] == "XenServer", f"Nova reports hypervisor_type {hv['hypervisor_type']!r}"
    for field in ("vcpus", "memory_mb", "local_gb", "hypervisor_version"):
        assert int(hv[field]) > 0, f"Nova reports {field} = {hv[field]!r} for the host: XenAPI's answer lacks it"
    want = ctx["nova_probe"]["hostname"]
    assert hv["hypervisor_hostname"] == want, \
        f"Nova names the hypervisor {hv['hypervisor_hostname']!r}, XenAPI named the host {want!r}: run `invoke wire`"
