"""A lab that would clash with another on one libvirt is refused, in one line, before
anything boots: the decision, and what it reads from libvirt (virsh replaced by a
fake libvirt holding other labs' networks and domains)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.support import labs
from xenlab.core import config
from xenlab.core.files import write_file
from xenlab.errors import ConfigError
from xenlab.machines import clashes, labspec, libvirt
from xenlab.machines.clashes import Mine, Occupant
from xenlab.machines.vagrantcli import machine_dir
from xenlab.stages import plan

NET = ipaddress.IPv4Network
MINE = Mine("b", NET("192.168.57.0/24"), frozenset({"52:54:00:a8:39:0a", "52:54:00:a8:39:0b"}))


def test_nothing_there_is_no_clash():
    assert clashes.clash(MINE, []) == ""
    assert clashes.clash(MINE, [Occupant("libvirt network 'default'", NET("192.168.122.0/24")),
                                Occupant("libvirt domain 'x'", macs=frozenset({"52:54:00:00:00:01"}))]) == ""


@pytest.mark.parametrize("other, said", [
    (NET("192.168.57.0/24"), "holds 192.168.57.0/24, which overlaps this lab's network.cidr 192.168.57.0/24"),
    (NET("192.168.57.128/25"), "holds 192.168.57.128/25, which overlaps"),
    (NET("192.168.0.0/16"), "holds 192.168.0.0/16, which overlaps"),
])
def test_an_overlapping_range_is_refused_naming_both(other, said):
    line = clashes.clash(MINE, [Occupant("lab 'a' (/x/.xenlab/a/lab.json)'s network 'xenlab-a'", other)])
    assert line.startswith("lab 'a' (/x/.xenlab/a/lab.json)'s network 'xenlab-a' " + said)
    assert line.endswith("give this lab another network.cidr") and "\n" not in line


def test_the_same_private_mac_is_refused():
    line = clashes.clash(MINE, [Occupant("libvirt domain 'xenlab-a-xenserver'",
                                         macs=frozenset({"52:54:00:11:11:11", "52:54:00:a8:39:0a"}))])
    assert line.startswith("libvirt domain 'xenlab-a-xenserver' has the private MAC 52:54:00:a8:39:0a")


def test_the_same_name_comes_first():
    line = clashes.clash(MINE, [Occupant("libvirt network 'n'", NET("192.168.57.0/24")),
                                Occupant("libvirt domain 'xenlab-b-xenserver'", same_name=True)])
    assert line.startswith("libvirt domain 'xenlab-b-xenserver' is named as lab 'b''s but is not this lab's")


@pytest.mark.parametrize("xml, cidr", [
    ("<network><name>a</name><ip address='192.168.57.1' netmask='255.255.255.0'/></network>", "192.168.57.0/24"),
    ('<network><ip family="ipv6" address="fd00::1" prefix="64"/><ip address="10.1.2.1" prefix="16">'
     "<dhcp/></ip></network>", "10.1.0.0/16"),
    ("<network><name>isolated</name><bridge name='virbr9'/></network>", None),
])
def test_a_networks_range_is_read_from_its_xml(xml, cidr):
    found = clashes.network_range(xml)
    assert (str(found) if found else None) == cidr


class FakeLibvirt:
    """virsh over a few networks and domains."""

    def __init__(self, networks: dict[str, str], domains: dict[str, tuple[str, list[str]]]):
        self.networks, self.domains = networks, domains

    def __call__(self, cfg, *args, timeout=None):
        if args[:2] == ("net-list", "--all"):
            return "\n".join(self.networks)
        if args[0] == "net-dumpxml":
            cidr = self.networks[args[1]]
            return f"<network><ip address='{NET(cidr)[1]}' prefix='{NET(cidr).prefixlen}'/></network>" if cidr \
                else "<network/>"
        if args[:2] == ("list", "--all"):
            return "\n".join(self.domains)
        if args[0] == "domuuid":
            return self.domains[args[1]][0] + "\n"
        if args[0] == "domiflist":
            return "\n".join(f"vnet{i} network xenlab-x e1000 {mac}" for i, mac in enumerate(self.domains[args[1]][1]))
        raise AssertionError(args)


@pytest.fixture
def two_labs(tmp_path, monkeypatch):
    """Lab 'a' up in libvirt (planned under the same root), and lab 'b' about to come up."""
    root = tmp_path / "root"
    cfg_a = _load(root, "a", '[network]\ncidr = "192.168.60.0/24"\nxenserver_ip = "192.168.60.10"\n'
                             'devstack_ip = "192.168.60.11"\n')
    plan.render_all(cfg_a, quiet=True)
    spec_a = labspec.spec(cfg_a)
    fake = FakeLibvirt(
        # Lab a's management network is derived from its range: 192.168.60 + 64.
        {"default": "192.168.122.0/24", "xenlab-a": "192.168.60.0/24", "xenlab-a-mgmt": "192.168.124.0/24"},
        {"xenlab-a-xenserver": ("uuid-a1", [spec_a["xenserver"]["mac"], "52:54:00:00:aa:01"]),
         "xenlab-a-devstack": ("uuid-a2", [spec_a["devstack"]["mac"]])})
    monkeypatch.setattr(libvirt, "virsh", fake)
    return root, fake


def _load(root, name, extra=""):
    root.mkdir(parents=True, exist_ok=True)
    (root / "xenlab.toml").write_text(f'[lab]\nname = "{name}"\nflavour = "standin"\naccelerator = "tcg"\n{extra}')
    return config.load(root / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw"})


def test_a_second_lab_on_other_addresses_comes_up(two_labs):
    root, _ = two_labs
    clashes.check(_load(root, "b"))


@pytest.mark.parametrize("extra, network, held, what", [
    ('[network]\ncidr = "192.168.60.0/24"\nxenserver_ip = "192.168.60.20"\ndevstack_ip = "192.168.60.21"\n',
     "xenlab-a", "192.168.60.0/24", "network.cidr"),
    # vagrant-libvirt finds a management network by its range first (create_networks.rb): a lab
    # whose management range another lab's network holds would take that one over.
    ('[network]\nmanagement_cidr = "192.168.124.0/24"\n', "xenlab-a-mgmt", "192.168.124.0/24", "management network"),
])
def test_a_second_lab_on_a_range_the_first_holds_is_refused_naming_it(two_labs, extra, network, held, what):
    root, _ = two_labs
    with pytest.raises(ConfigError) as err:
        clashes.check(_load(root, "b", extra))
    assert err.value.exit_code == 2
    setting = "network.cidr" if what == "network.cidr" else "network.management_cidr"
    assert err.value.message == (
        f"lab 'b' cannot come up beside what this libvirt has: lab 'a' ({root}/.xenlab/a/lab.json)'s network "
        f"'{network}' holds {held}, which overlaps this lab's {what} {held}: give this lab another {setting}")


def test_the_same_mac_from_another_range_is_refused(two_labs):
    # 10.168.60.10 and 192.168.60.10 end in the same three octets: the same MAC.
    root, _ = two_labs
    with pytest.raises(ConfigError, match=r"lab 'a' .*'s machine 'xenlab-a-xenserver' has the private MAC "
                                          r"52:54:00:a8:3c:0a"):
        clashes.check(_load(root, "b", '[network]\ncidr = "10.168.60.0/24"\nxenserver_ip = "10.168.60.10"\n'
                                       'devstack_ip = "10.168.60.12"\n'))


def test_the_same_name_from_another_root_is_refused(two_labs, tmp_path, monkeypatch):
    elsewhere = _load(tmp_path / "elsewhere", "a", '[network]\ncidr = "192.168.61.0/24"\n'
                                                  'xenserver_ip = "192.168.61.10"\ndevstack_ip = "192.168.61.11"\n')
    with pytest.raises(ConfigError, match=r"libvirt network 'xenlab-a' \(192.168.60.0/24\) is named as lab 'a''s "
                                          r"but is not this lab's: another lab has this name"):
        clashes.check(elsewhere)
    # Its domains alone say the same, on the same range too.
    _, fake = two_labs
    del fake.networks["xenlab-a"], fake.networks["xenlab-a-mgmt"]
    with pytest.raises(ConfigError, match=r"libvirt domain 'xenlab-a-xenserver' is named as lab 'a''s"):
        clashes.check(elsewhere)


def _lab_a_with_its_machines(root):
    cfg_a = _load(root, "a", '[network]\ncidr = "192.168.60.0/24"\nxenserver_ip = "192.168.60.10"\n'
                             'devstack_ip = "192.168.60.11"\n')
    for machine, uuid in (("xenserver", "uuid-a1"), ("devstack", "uuid-a2")):
        write_file(machine_dir(cfg_a, machine, "libvirt") / "id", uuid)
    return cfg_a


@pytest.mark.parametrize("network, other", [
    ("xenlab-a", "192.168.59.0/24"),
    ("xenlab-a-mgmt", "192.168.121.0/24"),  # made before management networks were per lab
])
def test_a_lab_meets_its_own_machines_and_networks_without_a_clash(two_labs, network, other):
    root, fake = two_labs
    cfg_a = _lab_a_with_its_machines(root)
    clashes.check(cfg_a)
    # Its own network on another range than its config now says: refused as the same name.
    fake.networks[network] = other
    with pytest.raises(ConfigError, match=rf"libvirt network '{network}' \({other}\) is named as lab 'a''s but is "
                                          r"not this lab's: .*`invoke down` removes it"):
        clashes.check(cfg_a)


def test_virtualbox_labs_are_not_read_from_libvirt(tmp_path, monkeypatch):
    monkeypatch.setattr(libvirt, "virsh", lambda *a, **k: (_ for _ in ()).throw(AssertionError("virsh ran")))
    clashes.check(labs.load(tmp_path, extra='provider = "virtualbox"\n'))
