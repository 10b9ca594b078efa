"""The records xe prints and sets, as xapi-project/xen-api ocaml/xapi-cli-server/records.ml
(v26.1.4) defines them: field names, order, how each value prints, which are
read/write, maps or sets.

A field's value prints as records.ml prints it: booleans `true`/`false`, references
as the referenced object's uuid (`<not in database>` when there is none), sets
joined with "; " (some with ", "), maps as "key: value; key: value". Setting goes
through the same XenAPI calls xe makes (e.g. pool default-SR: SR.get_by_uuid, then
pool.set_default_SR), so a value of the wrong kind fails as it does on a host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .failure import Failure
from .store import NULL_REF

NID = "<not in database>"  # records.ml nid


class RecordFailure(Exception):
    """Record_util.Record_failure: xe prints "Error: <message>"."""


@dataclass
class Ctx:
    """One xe command's view: the simulator, its local-root session, and a ref index."""

    api: object
    session: str
    _index: dict | None = None

    def call(self, method: str, *args):
        return self.api.invoke(method, [self.session, *args])

    @property
    def store(self):
        return self.api.store

    def index(self) -> dict:
        """Ref_index: ref -> (uuid, name_label or None), over every class."""
        if self._index is None:
            self._index = {}
            for records in self.store.classes.values():
                for ref, rec in records.items():
                    self._index[ref] = (rec.get("uuid", ""), rec.get("name_label"))
        return self._index

    def uuid_of(self, ref) -> str:
        found = self.index().get(ref)
        return found[0] if found else NID

    def name_of(self, ref) -> str:
        found = self.index().get(ref)
        return found[1] if found and found[1] is not None else NID


@dataclass
class Field:
    name: str
    get: Callable  # (ctx, ref, rec) -> str
    get_set: Callable | None = None  # (ctx, ref, rec) -> list[str]
    get_map: Callable | None = None  # (ctx, ref, rec) -> dict
    set: Callable | None = None  # (ctx, ref, value)
    add_to_map: Callable | None = None  # (ctx, ref, key, value)
    remove_from_map: Callable | None = None  # (ctx, ref, key)
    add_to_set: Callable | None = None  # (ctx, ref, value)
    remove_from_set: Callable | None = None  # (ctx, ref, value)
    hidden: bool = False
    expensive: bool = False
    deprecated: bool = False
    case_insensitive: bool = False

    def suffix(self) -> str:
        """cli_operations.ml print_field: (SRO)/(SRW) sets, (MRO)/(MRW) maps, ( RO)/( RW) the rest."""
        if self.get_set is not None:
            tag = " (SRO)" if self.add_to_set is None else " (SRW)"
        elif self.get_map is not None:
            tag = " (MRO)" if self.add_to_map is None else " (MRW)"
        else:
            tag = " ( RO)" if self.set is None else " ( RW)"
        return tag + (" [DEPRECATED]" if self.deprecated else "")


@dataclass
class RecordKind:
    """A CLI class: `<name>-list`, `-param-get`, ... over the API class `cls`."""

    name: str
    cls: str
    fields: list[Field]
    default_list: list[str]
    default_filters: list[tuple[str, str]] = field(default_factory=list)

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


# ------------------------------------------------------------------ value printers


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def semi(values) -> str:
    return "; ".join(values)


def comma(values) -> str:
    return ", ".join(values)


def map_text(mapping: dict) -> str:
    return semi(f"{k}: {v}" for k, v in mapping.items())


def plain(name, api_field, **kw) -> Field:
    return Field(name, lambda ctx, ref, rec: _text(rec.get(api_field, "")), **kw)


def ref_uuid(name, api_field, **kw) -> Field:
    return Field(name, lambda ctx, ref, rec: ctx.uuid_of(rec.get(api_field, NULL_REF)), **kw)


def ref_name(name, api_field, **kw) -> Field:
    return Field(name, lambda ctx, ref, rec: ctx.name_of(rec.get(api_field, NULL_REF)), **kw)


def ref_set(name, api_field, join=semi, **kw) -> Field:
    def values(ctx, ref, rec):
        return [ctx.uuid_of(r) for r in rec.get(api_field, [])]
    return Field(name, lambda ctx, ref, rec: join(values(ctx, ref, rec)), get_set=values, **kw)


def str_set(name, api_field, join=semi, rw_cls: str | None = None, **kw) -> Field:
    def values(ctx, ref, rec):
        return [_text(v) for v in rec.get(api_field, [])]
    extra = {}
    if rw_cls:
        extra = {"add_to_set": lambda ctx, ref, v: ctx.call(f"{rw_cls}.add_{api_field}", ref, v),
                 "remove_from_set": lambda ctx, ref, v: ctx.call(f"{rw_cls}.remove_{api_field}", ref, v)}
    return Field(name, lambda ctx, ref, rec: join(values(ctx, ref, rec)), get_set=values, **extra, **kw)


def str_map(name, api_field, rw_cls: str | None = None, **kw) -> Field:
    def mapping(ctx, ref, rec):
        return {str(k): _text(v) for k, v in rec.get(api_field, {}).items()}
    extra = {}
    if rw_cls:
        extra = {"add_to_map": lambda ctx, ref, k, v: ctx.call(f"{rw_cls}.add_to_{api_field}", ref, k, v),
                 "remove_from_map": lambda ctx, ref, k: ctx.call(f"{rw_cls}.remove_from_{api_field}", ref, k)}
    return Field(name, lambda ctx, ref, rec: map_text(mapping(ctx, ref, rec)), get_map=mapping, **extra, **kw)


def _bool_of(field_name: str, text: str) -> bool:
    # records.ml safe_bool_of_string: OCaml's bool_of_string
    if text in ("true", "false"):
        return text == "true"
    raise RecordFailure(f"Failed to parse parameter '{field_name}': expecting a boolean (true or false)")


def _int_of(field_name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RecordFailure(f"Failed to parse parameter '{field_name}': expecting an integer") from None


def set_string(method):
    return lambda ctx, ref, value: ctx.call(method, ref, value)


def set_bool(name, method):
    return lambda ctx, ref, value: ctx.call(method, ref, _bool_of(name, value))


def set_int(name, method):
    return lambda ctx, ref, value: ctx.call(method, ref, _int_of(name, value))


def set_sr_ref(method):
    """A reference to an SR given by uuid; "" clears it (records.ml pool default-SR, host crash-dump-sr-uuid)."""
    def setter(ctx, ref, value):
        target = NULL_REF if value == "" else ctx.call("SR.get_by_uuid", value)
        return ctx.call(method, ref, target)
    return setter


def names(cls: str) -> list[Field]:
    return [plain("name-label", "name_label", set=set_string(f"{cls}.set_name_label")),
            plain("name-description", "name_description", set=set_string(f"{cls}.set_name_description"))]


def _metrics(ctx, rec, metrics_field, metrics_cls):
    return ctx.store.classes.get(metrics_cls, {}).get(rec.get(metrics_field, NULL_REF))


def metric(name, metrics_field, metrics_cls, value: Callable) -> Field:
    def get(ctx, ref, rec):
        m = _metrics(ctx, rec, metrics_field, metrics_cls)
        return NID if m is None else value(m)
    return Field(name, get)


def _sr_host(ctx, ref, rec) -> str:
    pbds = rec.get("PBDs", [])
    if len(pbds) > 1:
        return "<shared>"
    host = ctx.store.classes.get("PBD", {}).get(pbds[0], {}).get("host", NULL_REF) if pbds else NULL_REF
    return ctx.name_of(host)


def _free_computed(ctx, ref, rec) -> str:
    return str(ctx.call("host.compute_free_memory", ref))


# ------------------------------------------------------------------ the classes

PIF = RecordKind("pif", "PIF", [
    plain("uuid", "uuid"), plain("device", "device"), plain("MAC", "MAC", case_insensitive=True),
    plain("physical", "physical"), plain("managed", "managed"),
    plain("currently-attached", "currently_attached"), plain("MTU", "MTU"), plain("VLAN", "VLAN"),
    ref_uuid("vlan-master-of", "VLAN_master_of"), Field("vlan-slave-of", lambda c, r, rec: semi(
        c.uuid_of(x) for x in rec.get("VLAN_slave_of", []))),
    Field("bond-master-of", lambda c, r, rec: semi(c.uuid_of(x) for x in rec.get("bond_master_of", []))),
    ref_uuid("bond-slave-of", "bond_slave_of"),
    Field("sriov-physical-PIF-of", lambda c, r, rec: semi(c.uuid_of(x) for x in rec.get("sriov_physical_PIF_of", []))),
    Field("sriov-logical-PIF-of", lambda c, r, rec: semi(c.uuid_of(x) for x in rec.get("sriov_logical_PIF_of", []))),
    Field("tunnel-access-PIF-of", lambda c, r, rec: semi(c.uuid_of(x) for x in rec.get("tunnel_access_PIF_of", []))),
    Field("tunnel-transport-PIF-of",
          lambda c, r, rec: semi(c.uuid_of(x) for x in rec.get("tunnel_transport_PIF_of", []))),
    plain("management", "management"), ref_uuid("network-uuid", "network"),
    ref_name("network-name-label", "network"), ref_uuid("host-uuid", "host"), ref_name("host-name-label", "host"),
    plain("IP-configuration-mode", "ip_configuration_mode"), plain("IP", "IP"), plain("netmask", "netmask"),
    plain("gateway", "gateway"), plain("IPv6-configuration-mode", "ipv6_configuration_mode"),
    Field("IPv6", lambda c, r, rec: semi(rec.get("IPv6", []))), plain("IPv6-gateway", "ipv6_gateway"),
    plain("primary-address-type", "primary_address_type"), plain("DNS", "DNS"),
    str_map("properties", "properties"), str_set("capabilities", "capabilities"),
    Field("io_read_kbs", lambda c, r, rec: "0.000", expensive=True),
    Field("io_write_kbs", lambda c, r, rec: "0.000", expensive=True),
    metric("carrier", "metrics", "PIF_metrics", lambda m: _text(m.get("carrier", False))),
    metric("vendor-id", "metrics", "PIF_metrics", lambda m: m.get("vendor_id", "")),
    metric("vendor-name", "metrics", "PIF_metrics", lambda m: m.get("vendor_name", "")),
    metric("device-id", "metrics", "PIF_metrics", lambda m: m.get("device_id", "")),
    metric("device-name", "metrics", "PIF_metrics", lambda m: m.get("device_name", "")),
    metric("speed", "metrics", "PIF_metrics", lambda m: f"{m.get('speed', 0)} Mbit/s"),
    metric("duplex", "metrics", "PIF_metrics",
           lambda m: "full" if m.get("duplex") else ("half" if m.get("carrier") else "unknown")),
    plain("disallow-unplug", "disallow_unplug", set=set_bool("disallow-unplug", "PIF.set_disallow_unplug")),
    metric("pci-bus-path", "metrics", "PIF_metrics", lambda m: m.get("pci_bus_path", "")),
    str_map("other-config", "other_config", rw_cls="PIF"),
    plain("igmp-snooping-status", "igmp_snooping_status"),
], ["uuid", "device", "VLAN", "MAC", "network-uuid", "currently-attached", "host-uuid"])

HOST = RecordKind("host", "host", [
    plain("uuid", "uuid"), *names("host"),
    str_set("allowed-operations", "allowed_operations"),
    Field("current-operations", lambda c, r, rec: semi(rec.get("current_operations", {}).values()),
          get_set=lambda c, r, rec: list(rec.get("current_operations", {}).values())),
    plain("enabled", "enabled"), plain("display", "display"),
    plain("API-version-major", "API_version_major"), plain("API-version-minor", "API_version_minor"),
    plain("API-version-vendor", "API_version_vendor"),
    str_map("API-version-vendor-implementation", "API_version_vendor_implementation"),
    str_map("logging", "logging", rw_cls="host"),
    ref_uuid("suspend-image-sr-uuid", "suspend_image_sr", set=set_sr_ref("host.set_suspend_image_sr")),
    ref_uuid("crash-dump-sr-uuid", "crash_dump_sr", set=set_sr_ref("host.set_crash_dump_sr")),
    str_map("software-version", "software_version"), str_set("capabilities", "capabilities"),
    str_map("other-config", "other_config", rw_cls="host"), str_map("cpu_info", "cpu_info"),
    str_map("chipset-info", "chipset_info"), plain("hostname", "hostname"), plain("address", "address"),
    plain("https-only", "https_only"), str_set("supported-bootloaders", "supported_bootloaders"),
    Field("blobs", lambda c, r, rec: ""), plain("memory-overhead", "memory_overhead"),
    metric("memory-total", "metrics", "host_metrics", lambda m: str(m.get("memory_total", 0))),
    metric("memory-free", "metrics", "host_metrics", lambda m: str(m.get("memory_free", 0))),
    Field("memory-free-computed", _free_computed, expensive=True),
    metric("host-metrics-live", "metrics", "host_metrics", lambda m: _text(m.get("live", False))),
    Field("patches", lambda c, r, rec: "", get_set=lambda c, r, rec: [], deprecated=True),
    Field("updates", lambda c, r, rec: "", get_set=lambda c, r, rec: []),
    Field("ha-statefiles", lambda c, r, rec: semi(rec.get("ha_statefiles", []))),
    Field("ha-network-peers", lambda c, r, rec: semi(rec.get("ha_network_peers", []))),
    plain("external-auth-type", "external_auth_type"), plain("external-auth-service-name", "external_auth_service_name"),
    str_map("external-auth-configuration", "external_auth_configuration"), plain("edition", "edition"),
    str_map("license-server", "license_server"), plain("power-on-mode", "power_on_mode"),
    str_map("power-on-config", "power_on_config"), ref_uuid("local-cache-sr", "local_cache_sr"),
    str_set("tags", "tags", join=comma, rw_cls="host"), plain("ssl-legacy", "ssl_legacy"),
    str_map("guest_VCPUs_params", "guest_VCPUs_params", rw_cls="host"),
    str_set("virtual-hardware-platform-versions", "virtual_hardware_platform_versions"),
    ref_uuid("control-domain-uuid", "control_domain"), ref_set("resident-vms", "resident_VMs"),
    ref_set("updates-requiring-reboot", "updates_requiring_reboot"), ref_set("features", "features"),
    plain("iscsi_iqn", "iscsi_iqn"), plain("multipathing", "multipathing"),
    plain("uefi-certificates", "uefi_certificates", hidden=True),
    plain("numa-affinity-policy", "numa_affinity_policy"),
    Field("pending-guidances", lambda c, r, rec: semi(rec.get("pending_guidances", []))),
    plain("tls-verification-enabled", "tls_verification_enabled"),
    Field("last-software-update", lambda c, r, rec: "19700101T00:00:00Z"),
    plain("latest-synced-updates-applied", "latest_synced_updates_applied"),
], ["uuid", "name-label", "name-description"])

SR = RecordKind("sr", "SR", [
    plain("uuid", "uuid"), *names("SR"), Field("host", _sr_host),
    str_set("allowed-operations", "allowed_operations"),
    Field("current-operations", lambda c, r, rec: semi(rec.get("current_operations", {}).values()),
          get_set=lambda c, r, rec: list(rec.get("current_operations", {}).values())),
    ref_set("VDIs", "VDIs"), ref_set("PBDs", "PBDs"), plain("virtual-allocation", "virtual_allocation"),
    plain("physical-utilisation", "physical_utilisation"), plain("physical-size", "physical_size"),
    plain("type", "type"), plain("content-type", "content_type"),
    plain("shared", "shared", set=set_bool("shared", "SR.set_shared")), ref_uuid("introduced-by", "introduced_by"),
    plain("is-tools-sr", "is_tools_sr"), str_map("other-config", "other_config", rw_cls="SR"),
    str_map("sm-config", "sm_config"), Field("blobs", lambda c, r, rec: ""),
    plain("local-cache-enabled", "local_cache_enabled"), str_set("tags", "tags", join=comma, rw_cls="SR"),
    plain("clustered", "clustered"),
], ["uuid", "name-label", "name-description", "host", "type", "content-type"])

POOL = RecordKind("pool", "pool", [
    plain("uuid", "uuid"), *names("pool"), ref_uuid("master", "master"),
    ref_uuid("default-SR", "default_SR", set=set_sr_ref("pool.set_default_SR")),
    ref_uuid("crash-dump-SR", "crash_dump_SR", set=set_sr_ref("pool.set_crash_dump_SR")),
    ref_uuid("suspend-image-SR", "suspend_image_SR", set=set_sr_ref("pool.set_suspend_image_SR")),
    Field("supported-sr-types", lambda c, r, rec: semi(sorted({sm.get("type", "") for sm in
                                                              c.store.classes.get("SM", {}).values()})),
          expensive=True),
    str_map("other-config", "other_config", rw_cls="pool"),
    str_set("allowed-operations", "allowed_operations"),
    Field("current-operations", lambda c, r, rec: semi(rec.get("current_operations", {}).values()),
          get_set=lambda c, r, rec: list(rec.get("current_operations", {}).values())),
    plain("ha-enabled", "ha_enabled"), Field("ha-configuration", lambda c, r, rec: map_text(rec.get("ha_configuration", {}))),
    Field("ha-statefiles", lambda c, r, rec: semi(rec.get("ha_statefiles", []))),
    plain("ha-host-failures-to-tolerate", "ha_host_failures_to_tolerate"),
    plain("ha-plan-exists-for", "ha_plan_exists_for"),
    plain("ha-allow-overcommit", "ha_allow_overcommit", set=set_bool("ha-allow-overcommit", "pool.set_ha_allow_overcommit")),
    plain("ha-overcommitted", "ha_overcommitted"), Field("blobs", lambda c, r, rec: ""),
    plain("wlb-url", "wlb_url"), plain("wlb-username", "wlb_username"),
    plain("wlb-enabled", "wlb_enabled", set=set_bool("wlb-enabled", "pool.set_wlb_enabled")),
    plain("wlb-verify-cert", "wlb_verify_cert", set=set_bool("wlb-verify-cert", "pool.set_wlb_verify_cert")),
    plain("igmp-snooping-enabled", "igmp_snooping_enabled"),
    str_map("gui-config", "gui_config", rw_cls="pool"), str_map("health-check-config", "health_check_config", rw_cls="pool"),
    Field("vswitch-controller", lambda c, r, rec: rec.get("vswitch_controller") or "<not set>", hidden=True),
    Field("restrictions", lambda c, r, rec: map_text(rec.get("restrictions", {}))),
    str_set("tags", "tags", join=comma, rw_cls="pool"),
    Field("license-state", lambda c, r, rec: "edition: xcp-ng; expiry: never"),
    plain("ha-cluster-stack", "ha_cluster_stack"), str_map("guest-agent-config", "guest_agent_config"),
    str_map("cpu_info", "cpu_info"),
    plain("policy-no-vendor-device", "policy_no_vendor_device",
          set=set_bool("policy-no-vendor-device", "pool.set_policy_no_vendor_device")),
    plain("live-patching-disabled", "live_patching_disabled",
          set=set_bool("live-patching-disabled", "pool.set_live_patching_disabled")),
    plain("uefi-certificates", "uefi_certificates", hidden=True),
    plain("tls-verification-enabled", "tls_verification_enabled"),
    plain("client-certificate-auth-enabled", "client_certificate_auth_enabled"),
    plain("client-certificate-auth-name", "client_certificate_auth_name"),
    ref_set("repositories", "repositories"), plain("repository-proxy-url", "repository_proxy_url"),
    plain("repository-proxy-username", "repository_proxy_username"),
    plain("migration-compression", "migration_compression",
          set=set_bool("migration-compression", "pool.set_migration_compression")),
    plain("coordinator-bias", "coordinator_bias", set=set_bool("coordinator-bias", "pool.set_coordinator_bias")),
], ["uuid", "name-label", "name-description", "master", "default-SR"])

SM = RecordKind("sm", "SM", [
    plain("uuid", "uuid"), plain("name-label", "name_label"), plain("name-description", "name_description"),
    plain("type", "type"), plain("vendor", "vendor"), plain("copyright", "copyright"),
    plain("required-api-version", "required_api_version"),
    Field("capabilities", lambda c, r, rec: semi(rec.get("capabilities", [])), deprecated=True),
    str_map("features", "features"), Field("configuration", lambda c, r, rec: map_text(rec.get("configuration", {}))),
    plain("driver-filename", "driver_filename"),
    Field("required-cluster-stack", lambda c, r, rec: comma(rec.get("required_cluster_stack", []))),
], ["uuid", "type", "name-label", "name-description", "vendor", "copyright", "configuration"])

NETWORK = RecordKind("network", "network", [
    plain("uuid", "uuid"), *names("network"), ref_set("VIF-uuids", "VIFs"), ref_set("PIF-uuids", "PIFs"),
    plain("MTU", "MTU", set=set_int("MTU", "network.set_MTU")), plain("bridge", "bridge"),
    plain("managed", "managed"), str_map("other-config", "other_config", rw_cls="network"),
    Field("blobs", lambda c, r, rec: ""), str_set("tags", "tags", join=comma, rw_cls="network"),
    plain("default-locking-mode", "default_locking_mode"),
    str_set("purpose", "purpose", join=comma),
], ["uuid", "name-label", "name-description", "bridge"])

PBD = RecordKind("pbd", "PBD", [
    plain("uuid", "uuid"), ref_uuid("host", "host", deprecated=True), ref_uuid("host-uuid", "host"),
    ref_name("host-name-label", "host"), ref_uuid("sr-uuid", "SR"), ref_name("sr-name-label", "SR"),
    str_map("device-config", "device_config"), plain("currently-attached", "currently_attached"),
    str_map("other-config", "other_config", rw_cls="PBD"),
], ["uuid", "host-uuid", "sr-uuid", "device-config", "currently-attached"])

KINDS = {kind.name: kind for kind in (POOL, PIF, NETWORK, HOST, SR, SM, PBD)}


def field_lookup(kind: RecordKind, name: str) -> Field:
    found = kind.field(name)
    if found is None:
        raise CliFailedToFindParam(name)
    return found


class CliFailedToFindParam(Exception):
    """records.ml CLI_failed_to_find_param: xe prints "Error code: Missing parameter"."""


def value(ctx: Ctx, kind: RecordKind, f: Field, ref: str) -> str:
    """records.ml safe_get_field: an invalid reference prints as <invalid reference>."""
    try:
        return f.get(ctx, ref, ctx.store.record(kind.cls, ref))
    except Failure as exc:
        if exc.code == "HANDLE_INVALID":
            return "<invalid reference>"
        raise
