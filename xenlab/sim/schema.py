"""The XenAPI classes the simulator knows, and the fields and types of those it models.

Names, types and qualifiers follow xapi-project/xen-api ocaml/idl/datamodel*.ml at
v26.1.4 (the xapi of XCP-ng 8.3, xcp-ng-rpms/xapi branch 8.3 SPECS/xapi.spec) for
the fields listed; a modelled class lists the fields Nova, os-xenapi, xenlab and
xe use, not all of XAPI's. Field notation, one `name TYPE` per entry:

    S string  I int64  F float  B bool  D datetime  M (string -> string) map
    SS string set  R:cls reference  RS:cls reference set  E:A|B|C enum (first = default)

A trailing `*` marks a read/write field: XAPI generates `set_<field>` only for those
(and `add_to_`/`remove_from_` for read/write maps, `add_`/`remove_` for read/write sets).
"""

from __future__ import annotations

from . import xapitypes

# Every class of the XenAPI (datamodel_main.ml all_system), so that `<class>.get_all`
# of one the simulator has no records of answers [] as XAPI does, not MESSAGE_METHOD_UNKNOWN.
CLASSES = (
    "session", "auth", "subject", "role", "task", "event", "pool", "pool_patch", "pool_update",
    "VM", "VM_metrics", "VM_guest_metrics", "VMPP", "VMSS", "VM_appliance", "DR_task", "host",
    "host_crashdump", "host_patch", "host_metrics", "host_cpu", "network", "VIF", "VIF_metrics",
    "PIF", "PIF_metrics", "Bond", "VLAN", "SM", "SR", "sr_stat", "probe_result", "LVHD", "VDI", "VBD",
    "VBD_metrics", "PBD", "crashdump", "VTPM", "console", "user", "data_source", "blob", "message",
    "secret", "tunnel", "network_sriov", "PCI", "PGPU", "GPU_group", "VGPU", "VGPU_type", "PVS_site",
    "PVS_server", "PVS_proxy", "PVS_cache_storage", "Feature", "SDN_controller", "vdi_nbd_server_info",
    "PUSB", "USB_group", "VUSB", "Cluster", "Cluster_host", "Certificate", "Diagnostics", "Repository",
    "Observer", "VM_group", "Host_driver", "Driver_variant",
)

_FIELDS = {
    "session": """this_host R:host; this_user R:user; last_active D; pool B; other_config M*;
        is_local_superuser B; subject R:subject; validation_time D; auth_user_sid S; auth_user_name S;
        rbac_permissions SS; tasks RS:task; parent R:session; originator S; client_certificate B""",
    "pool": """name_label S*; name_description S*; master R:host; default_SR R:SR*; suspend_image_SR R:SR*;
        crash_dump_SR R:SR*; other_config M*; ha_enabled B; ha_configuration M; ha_statefiles SS;
        ha_host_failures_to_tolerate I; ha_plan_exists_for I; ha_allow_overcommit B*; ha_overcommitted B;
        blobs M; tags SS*; gui_config M*; health_check_config M*; wlb_url S; wlb_username S; wlb_enabled B*;
        wlb_verify_cert B*; redo_log_enabled B; redo_log_vdi R:VDI; vswitch_controller S; restrictions M;
        metadata_VDIs RS:VDI; ha_cluster_stack S; allowed_operations SS; current_operations M;
        guest_agent_config M; cpu_info M; policy_no_vendor_device B*; live_patching_disabled B*;
        igmp_snooping_enabled B; uefi_certificates S; is_psr_pending B; tls_verification_enabled B;
        repositories RS:Repository; client_certificate_auth_enabled B; client_certificate_auth_name S;
        repository_proxy_url S; repository_proxy_username S; migration_compression B*; coordinator_bias B*""",
    "host": """name_label S*; name_description S*; memory_overhead I; allowed_operations SS; current_operations M;
        API_version_major I; API_version_minor I; API_version_vendor S; API_version_vendor_implementation M;
        enabled B; software_version M; other_config M*; capabilities SS; cpu_configuration M;
        sched_policy S; supported_bootloaders SS; resident_VMs RS:VM; logging M*; PIFs RS:PIF;
        suspend_image_sr R:SR*; crash_dump_sr R:SR*; crashdumps RS:host_crashdump; patches RS:host_patch;
        updates RS:pool_update; PBDs RS:PBD; host_CPUs RS:host_cpu; cpu_info M; hostname S; address S;
        metrics R:host_metrics; license_params M; ha_statefiles SS; ha_network_peers SS; blobs M; tags SS*;
        external_auth_type S; external_auth_service_name S; external_auth_configuration M; edition S;
        license_server M; bios_strings M; power_on_mode S; power_on_config M; local_cache_sr R:SR;
        chipset_info M; PCIs RS:PCI; PGPUs RS:PGPU; PUSBs RS:PUSB; ssl_legacy B; guest_VCPUs_params M*;
        display E:enabled|enable_on_reboot|disabled|disable_on_reboot; virtual_hardware_platform_versions SS;
        control_domain R:VM; updates_requiring_reboot RS:pool_update; features RS:Feature; iscsi_iqn S;
        multipathing B; uefi_certificates S; certificates RS:Certificate; editions SS;
        pending_guidances SS; tls_verification_enabled B; last_software_update D; https_only B;
        latest_synced_updates_applied E:unknown|yes|no; numa_affinity_policy E:default_policy|any|best_effort;
        pending_guidances_recommended SS; pending_guidances_full SS; last_update_hash S""",
    "host_metrics": "memory_total I; memory_free I; live B; last_updated D; other_config M*",
    "VM_metrics": """memory_actual I; VCPUs_number I; VCPUs_params M; state SS; start_time D; install_time D;
        last_updated D; other_config M*; hvm B; nested_virt B; nomigrate B;
        current_domain_type E:unspecified|hvm|pv|pv_in_pvh|pvh""",
    "VBD_metrics": "io_read_kbs F; io_write_kbs F; last_updated D; other_config M*",
    "VIF_metrics": "io_read_kbs F; io_write_kbs F; last_updated D; other_config M*",
    "task": """name_label S; name_description S; allowed_operations SS; current_operations M; created D;
        finished D; status E:pending|success|failure|cancelling|cancelled; resident_on R:host; progress F;
        type S; result S; error_info SS; other_config M*; subtask_of R:task; subtasks RS:task; backtrace S""",
    "VM": """name_label S*; name_description S*; power_state E:Halted|Paused|Running|Suspended;
        user_version I*; is_a_template B*; is_default_template B; suspend_VDI R:VDI; resident_on R:host;
        scheduled_to_be_resident_on R:host; affinity R:host*; memory_overhead I; memory_target I;
        memory_static_max I; memory_dynamic_max I; memory_dynamic_min I; memory_static_min I;
        VCPUs_params M*; VCPUs_max I; VCPUs_at_startup I; actions_after_shutdown S; actions_after_reboot S;
        actions_after_crash S; consoles RS:console; VIFs RS:VIF; VBDs RS:VBD; VUSBs RS:VUSB;
        crash_dumps RS:crashdump; VTPMs RS:VTPM; PV_bootloader S*; PV_kernel S*; PV_ramdisk S*; PV_args S*;
        PV_bootloader_args S*; PV_legacy_args S*; HVM_boot_policy S*; HVM_boot_params M*;
        HVM_shadow_multiplier F; platform M*; PCI_bus S*; other_config M*; domid I; domarch S;
        last_boot_CPU_flags M; is_control_domain B; metrics R:VM_metrics; guest_metrics R:VM_guest_metrics;
        last_booted_record S; recommendations S*; xenstore_data M*; ha_always_run B; ha_restart_priority S;
        is_a_snapshot B; snapshot_of R:VM; snapshots RS:VM; snapshot_time D; transportable_snapshot_id S;
        blobs M; tags SS*; blocked_operations M*; snapshot_info M; snapshot_metadata S; parent R:VM;
        children RS:VM; bios_strings M; protection_policy R:VMPP; is_snapshot_from_vmpp B;
        snapshot_schedule R:VMSS; is_vmss_snapshot B; appliance R:VM_appliance; start_delay I;
        shutdown_delay I; order I; VGPUs RS:VGPU; attached_PCIs RS:PCI; suspend_SR R:SR*; version I;
        generation_id S; hardware_platform_version I; has_vendor_device B; requires_reboot B;
        reference_label S; domain_type E:hvm|pv|pv_in_pvh|pvh|unspecified; NVRAM M; pending_guidances SS;
        allowed_operations SS; current_operations M""",
    "network": """name_label S*; name_description S*; allowed_operations SS; current_operations M;
        VIFs RS:VIF; PIFs RS:PIF; MTU I*; other_config M*; bridge S; managed B; blobs M; tags SS*;
        default_locking_mode E:unlocked|disabled; assigned_ips M; purpose SS""",
    "PIF": """device S; network R:network; host R:host; MAC S; MTU I; VLAN I; metrics R:PIF_metrics;
        physical B; currently_attached B; ip_configuration_mode E:None|DHCP|Static; IP S; netmask S;
        gateway S; DNS S; bond_slave_of R:Bond; bond_master_of RS:Bond; VLAN_master_of R:VLAN;
        VLAN_slave_of RS:VLAN; management B; other_config M*; disallow_unplug B;
        tunnel_access_PIF_of RS:tunnel; tunnel_transport_PIF_of RS:tunnel;
        ipv6_configuration_mode E:None|DHCP|Static|Autoconf; IPv6 SS; ipv6_gateway S;
        primary_address_type E:IPv4|IPv6; managed B; properties M; capabilities SS;
        igmp_snooping_status E:unknown|enabled|disabled; sriov_physical_PIF_of RS:network_sriov;
        sriov_logical_PIF_of RS:network_sriov; PCI R:PCI""",
    "PIF_metrics": """io_read_kbs F; io_write_kbs F; carrier B; vendor_id S; vendor_name S; device_id S;
        device_name S; speed I; duplex B; pci_bus_path S; last_updated D; other_config M*""",
    "SR": """name_label S*; name_description S*; allowed_operations SS; current_operations M; VDIs RS:VDI;
        PBDs RS:PBD; virtual_allocation I; physical_utilisation I; physical_size I; type S;
        content_type S; shared B*; other_config M*; tags SS*; sm_config M; blobs M;
        local_cache_enabled B; introduced_by R:DR_task; clustered B; is_tools_sr B""",
    "PBD": """host R:host; SR R:SR; device_config M; currently_attached B; other_config M*""",
    "SM": """name_label S; name_description S; type S; vendor S; copyright S; version S;
        required_api_version S; configuration M; capabilities SS; features M; other_config M*;
        driver_filename S; required_cluster_stack SS""",
    "VDI": """name_label S*; name_description S*; allowed_operations SS; current_operations M; SR R:SR;
        VBDs RS:VBD; crash_dumps RS:crashdump; virtual_size I; physical_utilisation I;
        type E:system|user|ephemeral|suspend|crashdump|ha_statefile|metadata|redo_log|rrd|pvs_cache|cbt_metadata;
        sharable B; read_only B; other_config M*; storage_lock B; location S; managed B; missing B;
        parent R:VDI; xenstore_data M; sm_config M*; is_a_snapshot B; snapshot_of R:VDI; snapshots RS:VDI;
        snapshot_time D; tags SS*; allow_caching B; on_boot E:reset|persist; is_tools_iso B; cbt_enabled B""",
    "VBD": """allowed_operations SS; current_operations M; VM R:VM; VDI R:VDI; device S; userdevice S*;
        bootable B*; mode E:RO|RW; type E:CD|Disk|Floppy; unpluggable B*; storage_lock B; empty B;
        other_config M*; currently_attached B; status_code I; status_detail S; runtime_properties M;
        qos_algorithm_type S*; qos_algorithm_params M*; qos_supported_algorithms SS; metrics R:VBD_metrics""",
    "VIF": """allowed_operations SS; current_operations M; device S; network R:network; VM R:VM; MAC S; MTU I;
        other_config M*; currently_attached B; status_code I; status_detail S; runtime_properties M;
        qos_algorithm_type S*; qos_algorithm_params M*; qos_supported_algorithms SS; metrics R:VIF_metrics;
        MAC_autogenerated B; locking_mode E:network_default|locked|unlocked|disabled; ipv4_allowed SS;
        ipv6_allowed SS""",
    "PCI": """class_id S; class_name S; vendor_id S; vendor_name S; device_id S; device_name S; host R:host;
        pci_id S; dependencies RS:PCI; other_config M*; subsystem_vendor_id S; subsystem_vendor_name S;
        subsystem_device_id S; subsystem_device_name S; driver_name S""",
}


def _parse_type(text: str) -> xapitypes.Type:
    head, _, arg = text.partition(":")
    simple = {"S": xapitypes.STRING, "I": xapitypes.INT, "F": xapitypes.FLOAT, "B": xapitypes.BOOL, "D": xapitypes.DATETIME,
              "M": xapitypes.MAP, "SS": xapitypes.STRINGS}
    if head in simple:
        return simple[head]
    if head == "R":
        return xapitypes.Ref(arg)
    if head == "RS":
        return xapitypes.Set(xapitypes.Ref(arg))
    if head == "E":
        return xapitypes.Enum(*arg.split("|"))
    raise ValueError(f"unknown type {text!r}")


class Field:
    __slots__ = ("name", "type", "rw")

    def __init__(self, name: str, type_: xapitypes.Type, rw: bool):
        self.name, self.type, self.rw = name, type_, rw


def _parse(spec: str) -> dict[str, Field]:
    fields = {"uuid": Field("uuid", xapitypes.STRING, False)}
    for entry in spec.replace("\n", " ").split(";"):
        name, text = entry.split()
        rw = text.endswith("*")
        fields[name] = Field(name, _parse_type(text.rstrip("*")), rw)
    return fields


FIELDS: dict[str, dict[str, Field]] = {cls: _parse(spec) for cls, spec in _FIELDS.items()}


def fields(cls: str) -> dict[str, Field]:
    return FIELDS.get(cls, {})


def defaults(cls: str) -> dict:
    """A record of `cls` with every modelled field at its type's default."""
    return {name: field.type.default() for name, field in fields(cls).items()}
