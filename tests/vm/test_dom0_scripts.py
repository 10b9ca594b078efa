"""dom0's scripts, executed: generalise -> reboot -> first boot -> management address
-> reboot.

The real flavours' scripts (packer/scripts/xenserver/, vagrant/xenserver/) run in the
stand-in box under real systemd: its XAPI is xenlab's simulator, its `xe` the
simulator's client, its daemons and first-boot units stand-ins named for XAPI's, and
python3 on PATH a shim that records every call. One boot of the box the session's
lab built (itself the first boot of a copy), one reboot after this checkout's
generalise.sh. The VM is plain QEMU on user networking, beside the lab's libvirtd.

Every wait is bounded: a first boot that deadlocks fails here with systemd's list of
stuck jobs, it does not hang.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from tests.support.netns import Netns, SupportError
from tests.support.prereq import IN_CI, require_root, require_tool
from tests.support.qemu_host import QemuHost
from tests.support.report import say
from tests.support.standin_lab import config_toml
from xenlab.core import config
from xenlab.core.paths import PROJECT_DIR
from xenlab.images import packer
from xenlab.machines import labspec

# After the cold lab built the boxes, before the lab is used and taken down (tests/vm/conftest.py).
pytestmark = [pytest.mark.vm, pytest.mark.root, pytest.mark.step(30)]

# Bounds, in seconds, for the stand-in under TCG: a boot and its first-boot units.
BOOT_S = 600
FIRST_BOOT_S = 600
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The units of a first boot: the copy's new identity, XAPI, and the ran-* units.
FIRST_BOOT_UNITS = ("xenlab-new-identity", "xapi-wait-init-complete", "network-init", "storage-init",
                    "control-domain-params-init", "generate-iscsi-iqn", "create-guest-templates")
SCRIPTS = PROJECT_DIR / "packer" / "scripts"
PYTHON3_LOG = "/var/log/xenlab-standin/python3-calls.log"
XE_IGNORED_LOG = "/var/log/xenlab-standin/xe-ignored-parameters.log"
RENAME_LOG = "/var/log/xenlab-standin/interface-rename-calls.log"  # the stand-in's interface-rename stub
# QEMU's user network (the NAT NIC here, as Vagrant's management network): unrestricted,
# its DHCP gives this gateway and DNS server (QEMU docs, "Network options", -netdev user).
USER_NET_GATEWAY, USER_NET_DNS = "10.0.2.2", "10.0.2.3"


@pytest.fixture(scope="module")
def lab_cfg(tmp_path_factory):
    """The lab whose xenserver machine the VM plays: its address, MAC and host name."""
    root = tmp_path_factory.mktemp("dom0-lab")
    (root / "xenlab.toml").write_text(config_toml("dom0"))
    cfg = config.load(root / "xenlab.toml", environ={"XENLAB_PASSWORD": "unused-here"})
    return labspec.spec(cfg)


@pytest.fixture(scope="module")
def box_image(request, tmp_path_factory):
    """The stand-in box's disk, from the box file the session's lab built (a tar holding
    box.img): no second build. A developer may point XENLAB_TEST_STANDIN_IMAGE at a
    box.img built from this checkout to skip the lab; CI always takes the lab's."""
    given = os.environ.get("XENLAB_TEST_STANDIN_IMAGE")
    if given and not IN_CI:
        return Path(given)
    box = request.getfixturevalue("lab").cfg.paths.boxes / "standin.libvirt.box"
    into = tmp_path_factory.mktemp("dom0-box")  # read now: test_lab.py's last tests take the lab down
    with tarfile.open(box) as tar:
        # Packer 1.6 writes GNU headers whose time fields Python reads as a name prefix:
        # the member is found by its base name, as Vagrant's bsdtar reads it.
        member = next(m for m in tar.getmembers() if Path(m.name).name == "box.img")
        with tar.extractfile(member) as src, open(into / "box.img", "wb") as dst:
            shutil.copyfileobj(src, dst, 4 * 2**20)
    return into / "box.img"


@pytest.fixture(scope="module")
def host(box_image, lab_cfg, tmp_path_factory):
    require_root()
    require_tool("qemu-system-x86_64", "qemu-img", "ssh", "scp")
    # In a namespace of its own: the NAT NIC's DHCP offers a gateway and DNS there.
    with Netns() as ns, QemuHost(box_image, tmp_path_factory.mktemp("dom0-vm"), packer.vagrant_key(),
                                 private_mac=lab_cfg["xenserver"]["mac"], boot_timeout=BOOT_S, ns=ns) as vm:
        vm.timings = {}
        yield vm


def run(host, command, timeout=120):
    done = host.ssh(command, timeout=timeout)
    assert done.returncode == 0, f"{command!r} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout.strip()


def xe(host, *args):
    return run(host, "xe " + " ".join(args))


def inventory(host) -> dict:
    text = run(host, "cat /etc/xensource-inventory")
    return {k: v.strip("'") for k, _, v in (line.partition("=") for line in text.splitlines()) if _}


def wait_for_first_boot(host) -> float:
    """Seconds until systemd has no job left and every first-boot unit ran; fails at the bound."""
    started = time.monotonic()
    deadline = started + FIRST_BOOT_S
    while time.monotonic() < deadline:
        try:
            jobs = host.ssh("systemctl list-jobs --no-legend", timeout=30)
        except SupportError:  # network-init re-runs DHCP on the NIC SSH comes in on: try again
            jobs = None
        if jobs is not None and jobs.returncode == 0 and not jobs.stdout.strip():
            break
        time.sleep(5)
    else:
        pytest.fail(f"first boot did not finish within {FIRST_BOOT_S} s; systemd jobs still waiting:\n"
                    f"{host.ssh('systemctl list-jobs', timeout=30).stdout}")
    for unit in FIRST_BOOT_UNITS:
        state = run(host, f"systemctl show -p ActiveState -p Result {unit}.service")
        assert "ActiveState=active" in state and "Result=success" in state, \
            f"{unit}.service: {state}\n{host.ssh(f'journalctl -b -u {unit}.service --no-pager', 60).stdout[-3000:]}"
    failed = run(host, "systemctl list-units --failed --no-legend --plain")
    assert not failed, f"failed units after first boot:\n{failed}"
    return time.monotonic() - started


def rename_calls(host) -> list[list[str]]:
    done = host.ssh(f"cat {RENAME_LOG}", timeout=30)
    return [line.split()[1:] for line in done.stdout.splitlines()] if done.returncode == 0 else []


@pytest.fixture(scope="module")
def copied(host, lab_cfg):
    """First boot of the box, then this checkout's generalise.sh, a reboot, the next first boot."""
    host.timings["first boot of the box"] = round(wait_for_first_boot(host), 1)
    before = inventory(host)
    before["rename calls"] = rename_calls(host)
    host.copy_in(SCRIPTS / "xenserver" / "generalise.sh", "/root/generalise.sh")
    run(host, "sh -eu /root/generalise.sh", timeout=300)
    started = time.monotonic()
    host.reboot(timeout=BOOT_S)
    host.timings["reboot"] = round(time.monotonic() - started, 1)
    host.timings["first boot after generalise"] = round(wait_for_first_boot(host), 1)
    return before


@pytest.fixture(scope="module")
def managed(host, copied, lab_cfg, request):
    """management-ip.sh as Vagrant runs it (root, the spec's arguments)."""
    xs = lab_cfg["xenserver"]
    host.copy_in(PROJECT_DIR / "vagrant" / "xenserver" / "management-ip.sh", "/tmp/management-ip.sh")
    started = time.monotonic()
    out = run(host, f"/tmp/management-ip.sh {xs['mac']} {xs['ip']} {lab_cfg['network']['netmask']} "
                    f"{xs['hostname']}", timeout=1200)
    host.timings["management-ip.sh"] = round(time.monotonic() - started, 1)
    say(request, f"\ndom0 scripts in the stand-in VM, timings (s): {host.timings}")
    return out


def test_first_boot_gives_the_copy_new_installation_and_control_domain_uuids(host, copied):
    after = inventory(host)
    for key in ("INSTALLATION_UUID", "CONTROL_DOMAIN_UUID"):
        assert UUID.match(after[key]), after
        assert after[key] != copied[key], f"{key} did not change across generalise and reboot"
    # XAPI (the simulator) built its new database from the new inventory.
    assert xe(host, "host-list", "--minimal") == after["INSTALLATION_UUID"]
    assert xe(host, "host-param-get", f"uuid={after['INSTALLATION_UUID']}",
              "param-name=control-domain-uuid") == after["CONTROL_DOMAIN_UUID"]


def test_generalise_reset_the_interface_rename_rules_in_the_build_and_again_here(host, copied):
    reset = ["interface-rename.py", "--reset-to-install"]
    assert copied["rename calls"] == [reset], "the box's build did not reset the rename rules once"
    assert rename_calls(host) == [reset, reset]


def test_first_boot_units_ran_again_and_wrote_their_stamps(host, copied):
    stamps = run(host, "ls /var/lib/misc").split()
    for unit in FIRST_BOOT_UNITS:
        if unit != "xapi-wait-init-complete":
            assert f"ran-{unit}" in stamps, stamps


def test_storage_init_gave_the_copy_a_default_ext_sr(host, copied):
    pool = xe(host, "pool-list", "params=uuid", "--minimal")
    sr = xe(host, "pool-param-get", f"uuid={pool}", "param-name=default-SR")
    assert UUID.match(sr), f"no default SR: {sr!r}"
    assert xe(host, "sr-param-get", f"uuid={sr}", "param-name=type") == "ext"
    assert xe(host, "sr-param-get", f"uuid={sr}", "param-name=name-label") == "Local storage"
    run(host, f"test -d /var/run/sr-mount/{sr}")
    # Nova's local_gb is the default SR's physical size in whole GiB: it must not be 0.
    assert int(xe(host, "sr-param-get", f"uuid={sr}", "param-name=physical-size")) >= 2**30


def test_network_init_made_the_first_nic_the_management_pif(host, copied):
    pif = xe(host, "pif-list", "management=true", "params=device", "--minimal")
    assert pif == "eth0"
    # ... and its DHCP gave dom0 the NAT network's gateway: what a later reboot must keep.
    routes = run(host, "ip -4 route show default")
    assert re.search(rf"^default via {re.escape(USER_NET_GATEWAY)} dev eth0\b", routes, re.M), routes


def test_management_ip_moves_xapi_to_the_labs_address(host, managed, lab_cfg):
    xs = lab_cfg["xenserver"]
    assert f"XAPI management interface is now {xs['ip']}" in managed
    host_uuid = inventory(host)["INSTALLATION_UUID"]
    pif = xe(host, "pif-list", "management=true", f"host-uuid={host_uuid}", "params=uuid", "--minimal")
    assert xe(host, "pif-param-get", f"uuid={pif}", "param-name=MAC") == xs["mac"]
    assert xe(host, "pif-param-get", f"uuid={pif}", "param-name=IP") == xs["ip"]
    assert xe(host, "pif-param-get", f"uuid={pif}", "param-name=IP-configuration-mode") == "Static"
    # The simulator applied it to the machine (--guest), as XAPI would.
    assert f"{xs['ip']}/24" in run(host, "ip -o -4 addr show")


def test_management_ip_names_the_host_through_xe(host, managed, lab_cfg):
    name = lab_cfg["xenserver"]["hostname"]
    host_uuid = inventory(host)["INSTALLATION_UUID"]
    assert xe(host, "host-param-get", f"uuid={host_uuid}", "param-name=hostname") == name
    assert run(host, "hostname") == name
    script = (PROJECT_DIR / "vagrant" / "xenserver" / "management-ip.sh").read_text()
    assert "hostnamectl" not in script and "/etc/hostname" not in script


def test_management_ip_again_changes_nothing(host, managed, lab_cfg):
    xs = lab_cfg["xenserver"]
    out = run(host, f"/tmp/management-ip.sh {xs['mac']} {xs['ip']} {lab_cfg['network']['netmask']} "
                    f"{xs['hostname']}", timeout=600)
    assert "management interface is now" in out


def test_no_xe_call_used_a_parameter_real_xe_would_ignore(host, managed):
    ignored = host.ssh(f"cat {XE_IGNORED_LOG}", timeout=30)
    assert ignored.returncode != 0 or not ignored.stdout.strip(), \
        f"xe calls with parameters real xe silently ignores:\n{ignored.stdout}"
    # The log is really kept: a call with a parameter xe ignores lands in it.
    run(host, "xe pool-sync-database xenlab-test-ignored=1")
    assert "xenlab-test-ignored" in run(host, f"cat {XE_IGNORED_LOG}")
    run(host, f"rm -f {XE_IGNORED_LOG}")


def test_nothing_called_python3(host, managed):
    calls = host.ssh(f"cat {PYTHON3_LOG}", timeout=30)
    assert calls.returncode != 0 or not calls.stdout.strip(), f"python3 was called in dom0:\n{calls.stdout}"
    # The shim is really there and first on root's PATH: a call would have been seen.
    assert run(host, "command -v python3") == "/usr/local/sbin/python3"


DEADLOCK_UNIT = """[Unit]
Description=test: the old first-boot unit, ordered before XAPI and starting it
Before=xapi.service
[Service]
Type=oneshot
ExecStart=/bin/systemctl start xapi.service
"""


def test_a_first_boot_that_deadlocks_fails_the_wait_within_its_bound(host, managed, tmp_path):
    """What firstboot.sh used to install, under real systemd: the bounded wait reports it."""
    unit = tmp_path / "xenlab-test-deadlock.service"
    unit.write_text(DEADLOCK_UNIT)
    host.copy_in(unit, "/etc/systemd/system/xenlab-test-deadlock.service")
    try:
        run(host, "systemctl daemon-reload && systemctl stop xapi.service && "
                  "systemctl start --no-block xenlab-test-deadlock.service xapi.service")
        jobs = run(host, "sleep 5; systemctl list-jobs --no-legend")
        assert "xenlab-test-deadlock.service" in jobs and "xapi.service" in jobs, jobs
        started = time.monotonic()
        done = host.ssh("/usr/local/libexec/xenlab/xenlab-wait-first-boot 20", timeout=120)
        took = time.monotonic() - started
        assert done.returncode == 1, done.stdout + done.stderr
        assert "XAPI did not complete its initialisation within 20 s" in done.stderr
        assert took < 60, f"the wait took {took:.0f} s for a 20 s bound"
    finally:
        host.ssh("systemctl cancel; rm -f /etc/systemd/system/xenlab-test-deadlock.service; "
                 "systemctl daemon-reload; systemctl reset-failed; systemctl start xapi.service", timeout=120)
    run(host, "/usr/local/libexec/xenlab/xenlab-wait-first-boot 300", timeout=400)


@pytest.fixture(scope="module")
def rebooted(host, managed, request):
    """The managed host rebooted: dom0's network as the stand-in's networkd brings it up."""
    started = time.monotonic()
    host.reboot(timeout=BOOT_S)
    run(host, "/usr/local/libexec/xenlab/xenlab-wait-first-boot 600", timeout=700)
    host.timings["reboot after management-ip.sh"] = round(time.monotonic() - started, 1)
    say(request, f"\ndom0 reboot after management-ip.sh: {host.timings['reboot after management-ip.sh']} s")


def test_after_a_reboot_the_nat_nic_still_gives_dom0_its_default_route_and_dns(host, rebooted, lab_cfg):
    """management-ip.sh set XAPI's knobs on the NAT NIC's PIF (xen-api ocaml/xapi/helpers.ml
    determine_gateway_and_dns_ifs); without them the move of management takes both away."""
    routes = run(host, "ip -4 route show default")
    assert re.search(rf"^default via {re.escape(USER_NET_GATEWAY)} dev eth0\b", routes, re.M), routes
    status = run(host, "networkctl status eth0 --no-pager")
    assert re.search(rf"DNS:\s+{re.escape(USER_NET_DNS)}\b", status), status
    nat = xe(host, "pif-list", "device=eth0", "params=uuid", "--minimal")
    for knob in ("defaultroute", "peerdns"):
        assert xe(host, "pif-param-get", f"uuid={nat}", "param-name=other-config", f"param-key={knob}") == "true"
    # Management stayed on the lab's address, which brings no route of its own.
    xs = lab_cfg["xenserver"]
    assert xe(host, "pif-list", "management=true", "params=device", "--minimal") == "eth1"
    assert f"{xs['ip']}/24" in run(host, "ip -o -4 addr show dev eth1")
    assert "default" not in run(host, "ip -4 route show dev eth1")
