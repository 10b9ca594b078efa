"""Several labs on one libvirt: a lab that would clash with what libvirt already has is
refused before anything boots, in one line naming what it clashes with and the fix.

What two labs must not share:
- the name: domains, volumes and networks are named after it (labspec.domain_prefix,
  network_names), so a second lab of one name would take over, or `down`, the
  first's machines;
- the private network's range, and the management network's (network.management_cidr):
  libvirt will not start a network whose range another active one holds (the host's
  route to it would be ambiguous), and vagrant-libvirt finds a network by its range
  before its name (create_networks.rb handle_ip_option), so a second lab on the first
  one's management range fails with NetworkNameAndAddressMismatch;
- a private NIC's MAC (labspec.private_mac: the address's last three octets): the
  host's neighbour tables and libvirt's ARP lookups (domifaddr --source arp) cannot
  tell two NICs of one MAC apart.

What exists is read from libvirt itself: every network and domain, this lab's own
known by their names and by the domain ids Vagrant recorded for it; a network or
domain of another lab under the same .xenlab root is named after that lab's lab.json.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from ..errors import ConfigError
from . import labspec, libvirt
from .labspec import MACHINES


@dataclass(frozen=True)
class Occupant:
    """Something libvirt has that this lab would meet: how to name it, what it holds."""

    what: str
    cidr: ipaddress.IPv4Network | None = None
    macs: frozenset[str] = frozenset()
    same_name: bool = False  # named as this lab's, yet not this lab's


@dataclass(frozen=True)
class Mine:
    name: str
    cidr: ipaddress.IPv4Network
    macs: frozenset[str]
    management: ipaddress.IPv4Network | None = None

    def ranges(self) -> list[tuple[str, ipaddress.IPv4Network]]:
        return [("network.cidr", self.cidr)] + ([("management network", self.management)]
                                                 if self.management else [])


def clash(mine: Mine, occupants: list[Occupant]) -> str:
    """The first clash, as the one line the user sees ('' when there is none)."""
    for o in occupants:
        if o.same_name:
            return (f"{o.what} is named as lab {mine.name!r}'s but is not this lab's: another lab has this "
                    "name (give this one another lab.name), or it is a leftover of this lab (`invoke down` "
                    "removes it)")
    for o in occupants:
        for what, mine_range in mine.ranges():
            if o.cidr is not None and o.cidr.overlaps(mine_range):
                setting = "network.cidr" if what == "network.cidr" else "network.management_cidr"
                return (f"{o.what} holds {o.cidr}, which overlaps this lab's {what} {mine_range}: give this "
                        f"lab another {setting}")
    for o in occupants:
        if o.macs & mine.macs:
            return (f"{o.what} has the private MAC {min(o.macs & mine.macs)} that this lab's machine would get "
                    "(it follows the address's last three octets): give this lab other addresses "
                    "(network.cidr, xenserver_ip, devstack_ip)")
    return ""


def mine(cfg) -> Mine:
    spec = labspec.spec(cfg)
    return Mine(cfg.lab.name, ipaddress.IPv4Network(cfg.network.cidr),
                frozenset(spec[m]["mac"].lower() for m in MACHINES), cfg.network.management_network)


def network_range(xml: str) -> ipaddress.IPv4Network | None:
    """A libvirt network's IPv4 range (<ip address=... netmask=...|prefix=...>), if it has one."""
    for tag in re.findall(r"<ip\b[^>]*>", xml):
        attrs = dict(re.findall(r"(\w+)='([^']*)'", tag) + re.findall(r'(\w+)="([^"]*)"', tag))
        if attrs.get("family", "ipv4") != "ipv4" or "address" not in attrs:
            continue
        mask = attrs.get("prefix") or attrs.get("netmask") or "24"
        return ipaddress.IPv4Network(f"{attrs['address']}/{mask}", strict=False)
    return None


def interface_macs(domiflist: str) -> frozenset[str]:
    return frozenset(m.lower() for m in re.findall(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b", domiflist, re.I))


def _siblings(cfg) -> dict[str, str]:
    """libvirt names of the other labs under this .xenlab root -> 'lab NAME (lab.json)'."""
    out = {}
    for spec_path in sorted(cfg.paths.workdir.glob("*/lab.json")):
        if spec_path == cfg.paths.spec:
            continue
        try:
            spec = json.loads(spec_path.read_text())
            name, nets = spec["lab"]["name"], spec["libvirt"]["networks"].values()
            prefix = spec["libvirt"]["prefix"]
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            continue
        for owned in (*nets, *(prefix + m for m in MACHINES)):
            out[owned] = f"lab {name!r} ({spec_path})"
    return out


def occupants(cfg) -> list[Occupant]:
    """What libvirt has besides this lab's own networks and domains."""
    siblings = _siblings(cfg)
    here = mine(cfg)
    own_nets = labspec.network_names(cfg)
    out = []
    for net in libvirt.virsh(cfg, "net-list", "--all", "--name").split():
        cidr = network_range(libvirt.virsh(cfg, "net-dumpxml", net))
        own = {own_nets["private"]: here.cidr, own_nets["management"]: here.management}
        if net in own:
            if cidr is not None and cidr != own[net]:
                out.append(Occupant(f"libvirt network {net!r} ({cidr})", same_name=True))
            continue
        out.append(Occupant(f"{siblings[net]}'s network {net!r}" if net in siblings
                            else f"libvirt network {net!r}", cidr=cidr))
    own_domains = {labspec.domain_prefix(cfg) + m: libvirt.domain_id(cfg, m) for m in MACHINES}
    for dom in libvirt.virsh(cfg, "list", "--all", "--name").split():
        if dom in own_domains:
            if libvirt.virsh(cfg, "domuuid", dom).strip() != own_domains[dom]:
                out.append(Occupant(f"libvirt domain {dom!r}", same_name=True))
            continue
        out.append(Occupant(f"{siblings[dom]}'s machine {dom!r}" if dom in siblings
                            else f"libvirt domain {dom!r}", macs=interface_macs(libvirt.virsh(cfg, "domiflist", dom))))
    return out


def check(cfg) -> None:
    """Refuse, in one line, a lab that clashes with what libvirt has (libvirt provider)."""
    if cfg.lab.provider != "libvirt":
        return
    found = clash(mine(cfg), occupants(cfg))
    if found:
        raise ConfigError(f"lab {cfg.lab.name!r} cannot come up beside what this libvirt has: {found}")
