from pathlib import Path

from xenlab.sim import machine
from xenlab.sim.machine import Simulated, ThisMachine


def fake_root(tmp_path: Path) -> Path:
    net = tmp_path / "sys/class/net"
    for name, mac, physical in (("eth0", "52:54:00:AA:BB:01", True), ("eth1", "52:54:00:aa:bb:02", True),
                                ("lo", "00:00:00:00:00:00", False), ("xenbr0", "52:54:00:aa:bb:01", False)):
        (net / name).mkdir(parents=True)
        (net / name / "address").write_text(mac + "\n")
        (net / name / "mtu").write_text("1500\n")
        if physical:
            (net / name / "device").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hostname").write_text("standin\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemTotal:        4028380 kB\nMemFree: 1 kB\nMemAvailable: 2000 kB\n")
    (tmp_path / "etc/xensource-inventory").write_text("INSTALLATION_UUID='x'\nMANAGEMENT_INTERFACE=''\n")
    return tmp_path


def commands(root: Path) -> list[str]:
    log = root / machine.COMMAND_LOG
    return log.read_text().splitlines() if log.exists() else []


def test_only_physical_nics_are_found(tmp_path):
    nics = ThisMachine(fake_root(tmp_path)).nics()
    assert [(n.device, n.mac) for n in nics] == [("eth0", "52:54:00:aa:bb:01"), ("eth1", "52:54:00:aa:bb:02")]


def test_facts_come_from_the_machine(tmp_path):
    facts = ThisMachine(fake_root(tmp_path)).facts()
    assert facts.hostname == "standin" and facts.memory_total == 4028380 * 1024 and facts.cpu_count >= 1
    assert facts.memory_free == 2000 * 1024


def test_a_static_address_is_applied_now_and_kept_for_the_next_boot(tmp_path):
    root = fake_root(tmp_path)
    ThisMachine(root).apply_ip("eth1", "Static", "192.168.57.10", "255.255.255.0", "192.168.57.1", "1.1.1.1,::1")
    unit = (root / machine.NETWORKD_FILE.format(device="eth1")).read_text()
    assert "Name=eth1" in unit and "Address=192.168.57.10/24" in unit and "Gateway=192.168.57.1" in unit
    assert "DNS=1.1.1.1" in unit
    assert commands(root)[:3] == ["ip addr flush dev eth1", "ip addr add 192.168.57.10/24 dev eth1",
                                  "ip link set eth1 up"]


def test_dhcp_and_none_write_their_networkd_files(tmp_path):
    root = fake_root(tmp_path)
    m = ThisMachine(root)
    assert m.apply_ip("eth0", "DHCP", "", "", "", "") is None  # a dry run waits for no lease
    assert "DHCP=ipv4" in (root / machine.NETWORKD_FILE.format(device="eth0")).read_text()
    m.apply_ip("eth0", "None", "", "", "", "")
    assert "DHCP=no" in (root / machine.NETWORKD_FILE.format(device="eth0")).read_text()


def test_hostname_sr_directory_and_management_interface(tmp_path):
    root = fake_root(tmp_path)
    m = ThisMachine(root)
    m.set_hostname("lab-host")
    assert (root / "etc/hostname").read_text() == "lab-host\n" and "hostname lab-host" in commands(root)
    size, used = m.make_sr("uuid-1", "ext")
    assert (root / machine.SR_MOUNT / "uuid-1").is_dir() and size > 0 and 0 <= used <= size
    # Sized by the disk the SR lives on, never by /var/run's tmpfs.
    assert (root / machine.SR_MOUNT / "uuid-1").resolve() == (root / machine.SR_STORE / "uuid-1").resolve()
    assert m.make_sr("uuid-1", "ext")[0] == size
    assert m.make_sr("uuid-2", "lvm") is None
    m.set_management_interface("xenbr1")
    assert "MANAGEMENT_INTERFACE='xenbr1'" in (root / "etc/xensource-inventory").read_text()


def test_the_simulated_machine_changes_nothing(tmp_path):
    m = Simulated()
    assert [n.device for n in m.nics()] == ["eth0"] and m.facts() is None
    assert m.apply_ip("eth0", "Static", "10.0.0.1", "255.0.0.0", "", "") is None
    assert m.make_sr("u", "ext") is None


def test_only_the_gateway_and_dns_interface_may_set_route_and_servers(tmp_path):
    """xcp-networkd: dhclient asks for routers / DNS servers on those interfaces only, and a
    static gateway or DNS applies only there (network_utils.ml, network_server.ml)."""
    root = fake_root(tmp_path)
    m = ThisMachine(root)
    m.apply_ip("eth0", "DHCP", "", "", "", "")
    m.apply_ip("eth1", "Static", "192.168.57.10", "255.255.255.0", "192.168.57.1", "192.168.57.1")
    # None chosen yet: every interface may (network_server.ml: gateway_interface = None).
    assert "UseGateway=yes" in (root / machine.NETWORKD_FILE.format(device="eth0")).read_text()
    assert "ip route replace default via 192.168.57.1 dev eth1" in commands(root)
    ran = len(commands(root))
    m.set_route_interfaces("eth0", "eth0")
    eth0 = (root / machine.NETWORKD_FILE.format(device="eth0")).read_text()
    eth1 = (root / machine.NETWORKD_FILE.format(device="eth1")).read_text()
    assert "UseGateway=yes" in eth0 and "UseDNS=yes" in eth0
    assert "Address=192.168.57.10/24" in eth1 and "Gateway=" not in eth1 and "DNS=" not in eth1
    # Written for the next start only: nothing ran.
    assert len(commands(root)) == ran
    m.apply_ip("eth1", "Static", "192.168.57.10", "255.255.255.0", "192.168.57.1", "")
    assert not [c for c in commands(root)[ran:] if c.startswith("ip route")]
    m.set_route_interfaces("eth1", "eth0")
    assert "UseGateway=no" in (root / machine.NETWORKD_FILE.format(device="eth0")).read_text()
    assert "Gateway=192.168.57.1" in (root / machine.NETWORKD_FILE.format(device="eth1")).read_text()
    # Kept across a restart of the simulator, as networkd.db is: a new machine writes from it.
    ThisMachine(root).apply_ip("eth0", "DHCP", "", "", "", "")
    assert "UseGateway=no" in (root / machine.NETWORKD_FILE.format(device="eth0")).read_text()


def test_the_machines_sr_files_and_devices(tmp_path):
    """The stand-in's SR is a directory on its disk, linked at /var/run/sr-mount/<uuid> (sm's
    MOUNT_BASE): its size is that file system's, its utilisation what its files take; a device
    exists when the machine has it. A simulated host keeps its SRs in a directory of its own and
    knows its disks by name and size."""
    root = fake_root(tmp_path)
    m = ThisMachine(root)
    assert not m.has_device("/dev/disk/by-label/xenlab-root")
    (root / "dev/disk/by-label").mkdir(parents=True)
    (root / "dev/disk/by-label/xenlab-root").touch()
    assert m.has_device("/dev/disk/by-label/xenlab-root")
    directory = m.sr_dir("uuid-1", "ext")
    assert directory == root / machine.SR_MOUNT / "uuid-1" and m.sr_dir("uuid-2", "iso") is None
    (directory / "a.vhd").write_bytes(b"x" * 10000)
    size, used = m.sr_sizes("uuid-1", "ext")
    assert size == m.make_sr("uuid-1", "ext")[0] > 0 and used == machine.dir_usage(directory) >= 10000
    sim = Simulated(sr_root=tmp_path / "sim-sr")
    assert sim.has_device("/dev/sda3") and not sim.has_device("/dev/sdz")
    assert sim.device_size("/dev/sda3") == machine.DISKS["/dev/sda3"] and sim.make_sr("u", "ext") is None
    assert sim.sr_dir("u", "ext") == tmp_path / "sim-sr" / "u" and sim.sr_sizes("u", "ext") == (None, 0)
