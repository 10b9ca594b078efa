"""Real flavours only (stack.sh ran): Nova's compute service, up, and its hypervisor.

One remote command gathers what systemd and the OpenStack client say.
"""

import pytest

OPENRC = "source /opt/stack/devstack/openrc admin admin >/dev/null"


@pytest.fixture(scope="module")
def services(host, ctx, gather):
    user = ctx["devstack"]["user"]
    as_stack = f"sudo -u {user} -H bash -c"
    return gather(host, {
        "n_cpu": "systemctl is-active devstack@n-cpu",
        "compute_services": f"{as_stack} '{OPENRC} && openstack compute service list --service nova-compute "
                            f"-f value -c Host -c State'",
        "hypervisors": f"{as_stack} '{OPENRC} && openstack hypervisor list -f value'",
    })


def test_nova_compute_running(services):
    assert services["n_cpu"].strip() == "active", \
        "devstack@n-cpu is not running: see `journalctl -u devstack@n-cpu` on the devstack host"


def test_the_compute_service_is_up(services):
    rows = [line.split() for line in services["compute_services"].splitlines() if line.strip()]
    assert rows and all(row[-1] == "up" for row in rows), \
        f"Nova's compute service is not up: {services['compute_services'].strip()[-200:]}"


def test_hypervisor_listed(services):
    assert services["hypervisors"].strip() and "Error" not in services["hypervisors"], \
        f"Nova lists no hypervisor: {services['hypervisors'].strip()[-200:]}"
