"""vagrant/xenserver/management-ip.sh, byte for byte, against the simulator as the
stand-in's XAPI (--guest on a temp root: the machine's files are written, its
commands logged), in the test's own network and mount namespace: dom0's paths
(/etc/xensource-inventory, /usr/local/libexec/xenlab, /opt/xensource/bin, /run) are
overlays that live and die with the namespace, and XenAPI answers on the lab's
address there only. What it must leave: management on the private NIC, and the NAT
NIC still the one that gives dom0 its default route and DNS at its next start."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap

import pytest

from tests.support.netns import Netns, wait_until
from tests.support.prereq import require_root, require_tool
from tests.support.simproc import FAKE_NICS, fake_machine
from xenlab.core.paths import PROJECT_DIR
from xenlab.sim import machine

SCRIPT = PROJECT_DIR / "vagrant" / "xenserver" / "management-ip.sh"
WAIT_FIRST_BOOT = PROJECT_DIR / "packer" / "scripts" / "xenserver" / "box-files" / "xenlab-wait-first-boot"
WAIT_INIT = PROJECT_DIR / "packer" / "scripts" / "standin" / "standin-files" / "bin" / "xapi-wait-init-complete"
XE = PROJECT_DIR / "xenlab" / "sim" / "xe"
HOST_UUID = "0c7d3f0e-1111-4111-8111-111111111111"
(_, NAT_MAC), (_, PRIVATE_MAC) = FAKE_NICS
IP, NETMASK, NAME = "192.168.57.10", "255.255.255.0", "lab-xenserver"

# Runs as the namespace's first process: dom0's paths, then the simulator in its place.
SETUP = textwrap.dedent("""\
    set -eu
    t=$1
    mount -t tmpfs tmpfs /run
    for d in etc usr/local opt; do
      mkdir -p "$t/overlay/$d/upper" "$t/overlay/$d/work"
      mount -t overlay overlay -o "lowerdir=/$d,upperdir=$t/overlay/$d/upper,workdir=$t/overlay/$d/work" "/$d"
    done
    cp "$t/xensource-inventory" /etc/xensource-inventory
    install -D -m 0755 "$2" /usr/local/libexec/xenlab/xenlab-wait-first-boot
    install -D -m 0755 "$3" /opt/xensource/bin/xapi-wait-init-complete
    printf 'pw\\n' > "$t/password"
    ip addr add "$4/24" dev lo
    exec /usr/bin/python3 -S -m xenlab.sim --bind "$4" --port 80 --password-file "$t/password" \\
      --plugin-dir "$t" --state-db "$t/state.db" --inventory /etc/xensource-inventory \\
      --cli-socket "$t/xapi" --cli-ignored-log "$t/ignored.log" \\
      --init-complete-cookie /run/xapi_init_complete.cookie --guest --guest-root "$t/root"
""")


@pytest.fixture
def dom0(tmp_path):
    require_root()
    require_tool("ip", "unshare", "nsenter", "bash")
    (tmp_path / "xensource-inventory").write_text(
        f"INSTALLATION_UUID='{HOST_UUID}'\nCONTROL_DOMAIN_UUID='0c7d3f0e-2222-4222-8222-222222222222'\n")
    fake_machine(tmp_path / "root")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xe").symlink_to(XE)
    env = {"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin", "XENLAB_XE_SOCKET": str(tmp_path / "xapi")}
    with Netns() as ns:
        sim = subprocess.Popen(
            ns.argv(["unshare", "--mount", "--propagation", "private", "sh", "-c", SETUP, "setup",
                     tmp_path, WAIT_FIRST_BOOT, WAIT_INIT, IP]),
            cwd=PROJECT_DIR, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(PROJECT_DIR)},
            stdout=(tmp_path / "sim.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: (tmp_path / "xapi").exists() or sim.poll() is not None, 20,
                       what="the simulator's socket")
            assert sim.poll() is None, (tmp_path / "sim.log").read_text()

            def xe(*argv: str) -> str:
                done = subprocess.run([str(XE), *argv], env=env, capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, (argv, done.stdout, done.stderr)
                return done.stdout.strip()

            def in_dom0(*argv, timeout=120) -> subprocess.CompletedProcess:
                return subprocess.run(["nsenter", "--target", str(sim.pid), "--mount", "--net", "--", *argv],
                                      env=env, capture_output=True, text=True, timeout=timeout)

            # network-init's first boot (xapi-project/xen-api scripts/network-init): the
            # first NIC by DHCP is the management interface, the others plugged.
            xe("pif-scan", f"host-uuid={HOST_UUID}")
            nat = xe("pif-list", "device=eth0", "params=uuid", "--minimal")
            xe("pif-reconfigure-ip", f"uuid={nat}", "mode=dhcp")
            xe("host-management-reconfigure", f"pif-uuid={nat}")
            xe("pif-plug", "uuid=" + xe("pif-list", "device=eth1", "params=uuid", "--minimal"))
            yield {"root": tmp_path / "root", "xe": xe, "in_dom0": in_dom0, "nat": nat, "tmp": tmp_path}
        finally:
            if sim.poll() is None:
                os.kill(sim.pid, signal.SIGTERM)
                sim.wait(timeout=20)


def run_script(dom0) -> subprocess.CompletedProcess:
    return dom0["in_dom0"]("bash", str(SCRIPT), PRIVATE_MAC, IP, NETMASK, NAME)


def unit(dom0, device: str) -> str:
    return (dom0["root"] / machine.NETWORKD_FILE.format(device=device)).read_text()


def test_management_moves_and_the_nat_nic_keeps_dom0s_route_and_dns(dom0):
    xe, root = dom0["xe"], dom0["root"]
    logged = (root / machine.COMMAND_LOG).read_text()
    done = run_script(dom0)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"XAPI management interface is now {IP}" in done.stdout
    private = xe("pif-list", f"MAC={PRIVATE_MAC}", "params=uuid", "--minimal")
    assert xe("pif-list", "management=true", "params=uuid", "--minimal") == private
    assert xe("pif-param-get", f"uuid={private}", "param-name=IP") == IP
    # XAPI's knob on the NAT NIC's PIF, as xe shows it.
    nat = dom0["nat"]
    assert xe("pif-param-get", f"uuid={nat}", "param-name=other-config") == "defaultroute: true; peerdns: true"
    # What the stand-in's networkd starts with next time: the NAT NIC asks DHCP for the
    # gateway and the DNS servers, the private NIC carries neither.
    assert "DHCP=ipv4" in unit(dom0, "eth0")
    assert "UseGateway=yes" in unit(dom0, "eth0") and "UseDNS=yes" in unit(dom0, "eth0")
    assert f"Address={IP}/24" in unit(dom0, "eth1") and "\nGateway=" not in unit(dom0, "eth1")
    # The NAT NIC itself was left alone (Vagrant's SSH comes in on it).
    ran = (root / machine.COMMAND_LOG).read_text()[len(logged):].splitlines()
    assert f"ip addr add {IP}/24 dev eth1" in ran and f"hostname {NAME}" in ran
    assert not [c for c in ran if c.endswith(" eth0")], ran
    assert not (dom0["tmp"] / "ignored.log").exists(), (dom0["tmp"] / "ignored.log").read_text()


def test_a_second_run_changes_nothing(dom0):
    assert run_script(dom0).returncode == 0
    state = (dom0["root"] / machine.NETWORKD_STATE).read_text()
    eth0 = unit(dom0, "eth0")
    done = run_script(dom0)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dom0["root"] / machine.NETWORKD_STATE).read_text() == state and unit(dom0, "eth0") == eth0
