"""Real flavours only (stack.sh ran): Nova's compute service and its hypervisor."""


def test_nova_compute_running(host):
    svc = host.service("devstack@n-cpu")
    assert svc.is_running, "devstack@n-cpu is not running: see `journalctl -u devstack@n-cpu` on the devstack host"


def test_hypervisor_listed(host, ctx):
    out = host.run(f"sudo -u {ctx['devstack']['user']} -H bash -c "
                   "'source /opt/stack/devstack/openrc admin admin >/dev/null && openstack hypervisor list -f value'")
    assert out.rc == 0 and out.stdout.strip(), f"Nova lists no hypervisor: {out.stderr.strip()[-200:]}"
