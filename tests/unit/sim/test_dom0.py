"""dom0's running state: xenstore as xenstore-* show it, network commands as iproute2, bridge-utils
and ovs-vsctl answer them (what os-xenapi's xenhost.py network_config and xenstore.py run)."""

import pytest

from xenlab.sim import dom0 as dom0_mod
from xenlab.sim.dom0 import CommandFailed, Dom0


def test_xenstore_tree_and_listing():
    d = Dom0()
    d.domain_built(3, {"name_label": "vm", "uuid": "u", "xenstore_data": {"vm-data/hostname": "h",
                                                                       "vm-data/networking/aa": "{}"}})
    assert d.xs_read("/local/domain/3/name") == "vm" and d.xs_read("/local/domain/3/vm-data") == ""
    assert d.xs_ls("/local/domain/3/vm-data") == 'hostname = "h"\nnetworking = ""\n aa = "{}"\n'
    with pytest.raises(CommandFailed, match="couldn't read path"):
        d.xs_read("/local/domain/3/nope")
    d.domain_destroyed(3)
    assert not d.xs_exists("/local/domain/3")
    with pytest.raises(CommandFailed, match="could not remove path"):
        d.xs_rm("/local/domain/3")


def test_network_commands_answer_as_the_tools_do():
    d = Dom0()
    with pytest.raises(CommandFailed) as exc:
        d.command(["ip", "link", "show", "qbr1"])
    assert (exc.value.stderr, exc.value.code) == ('Device "qbr1" does not exist.\n', 1)
    d.command(["brctl", "addbr", "qbr1"])
    d.command(["ip", "link", "add", "a", "type", "veth", "peer", "name", "b"])
    with pytest.raises(CommandFailed, match="File exists"):
        d.command(["ip", "link", "add", "a", "type", "veth", "peer", "name", "c"])
    d.command(["brctl", "addif", "qbr1", "a"])
    d.command(["ip", "link", "set", "qbr1", "up"])
    assert "master qbr1" in d.command(["ip", "link", "show", "a"]) and ",UP" in d.command(["ip", "link", "show", "qbr1"])
    with pytest.raises(CommandFailed, match="is still up"):
        d.command(["brctl", "delbr", "qbr1"])
    d.command(["ovs-vsctl", "--", "--may-exist", "add-br", "br-int"])
    d.command(["ovs-vsctl", "--", "--if-exists", "del-port", "b", "--", "add-port", "br-int", "b"])
    assert d.links["b"].master == "br-int" and d.command(["ovs-vsctl", "list-br"]) == "br-int\n"
    d.command(["ovs-vsctl", "--", "--if-exists", "del-br", "br-int"])
    assert d.links["b"].master == "" and d.command(["ovs-vsctl", "--", "--if-exists", "del-br", "br-int"]) == ""
    d.command(["ip", "link", "delete", "a"])
    assert "a" not in d.links and "b" not in d.links  # a veth pair goes together
    with pytest.raises(CommandFailed) as exc:
        d.command(["iptables", "-F"])
    assert exc.value.code == 127


def test_console_logs_are_bounded():
    d = Dom0()
    for domid in range(1, dom0_mod.MAX_CONSOLES + 10):
        d.domain_built(domid, {})
        d.consoles[domid] = "log"
    assert len(d.consoles) == dom0_mod.MAX_CONSOLES and max(d.consoles) == dom0_mod.MAX_CONSOLES + 9
