"""Which of a host's PIFs gives dom0 its default route and which its DNS servers.

XAPI decides it each time it brings a PIF up (xapi-project/xen-api ocaml/xapi/nm.ml
bring_pif_up) with helpers.ml determine_gateway_and_dns_ifs, and tells xcp-networkd
(Net.set_gateway_interface / set_dns_interface, ocaml/networkd/bin/network_server.ml):

- among the host's PIFs with an address (IPv4 mode other than None, or IPv6 for an
  IPv6 PIF), the first with `other-config:defaultroute=true` (`peerdns=true` for DNS);
- else the PIF being made the management interface, when that is what is happening;
- else the PIF flagged as management; else the first PIF with an address.

So a management interface moved to a PIF with no gateway takes the default route
with it, unless another PIF carries the knob.
"""

from __future__ import annotations


def _has_address(rec: dict) -> bool:
    if rec.get("primary_address_type", "IPv4") == "IPv6":
        return rec.get("ipv6_configuration_mode", "None") != "None"
    return rec.get("ip_configuration_mode", "None") != "None"


def _choose(knob: str, candidates: list[tuple[str, dict]], management: str | None) -> str:
    flagged = [ref for ref, rec in candidates if rec.get("other_config", {}).get(knob) == "true"]
    if flagged:
        return flagged[0]
    if management is not None:
        return management
    managed = [ref for ref, rec in candidates if rec.get("management")]
    return managed[0] if managed else candidates[0][0]


def gateway_and_dns_pifs(store, host: str, management: str | None = None) -> tuple[str | None, str | None]:
    """(gateway PIF, DNS PIF) of `host`, or (None, None) when no PIF has an address.
    `management`: the PIF being made the management interface (nm.ml's
    ~management_interface:true), if that is the bring-up under way."""
    candidates = [(ref, store.record("PIF", ref)) for ref in store.find("PIF", host=host)]
    candidates = [(ref, rec) for ref, rec in candidates if _has_address(rec)]
    if not candidates:
        return None, None
    return _choose("defaultroute", candidates, management), _choose("peerdns", candidates, management)
