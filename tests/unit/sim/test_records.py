from xenlab.sim import records
from xenlab.sim.api import Api


def ctx(tmp_path):
    a = Api("root", "pw", tmp_path)
    return a, records.Ctx(a, "OpaqueRef:unused")


def test_field_tags_say_kind_and_access_as_print_field_does():
    host = records.HOST
    assert host.field("uuid").suffix() == " ( RO)" and host.field("name-label").suffix() == " ( RW)"
    assert host.field("other-config").suffix() == " (MRW)" and host.field("cpu_info").suffix() == " (MRO)"
    assert host.field("tags").suffix() == " (SRW)" and host.field("capabilities").suffix() == " (SRO)"
    assert host.field("patches").suffix() == " (SRO) [DEPRECATED]"


def test_references_print_as_uuids_and_missing_ones_as_not_in_database(tmp_path):
    a, c = ctx(tmp_path)
    pif = a.refs["pif"]
    network = a.store.record("PIF", pif)["network"]
    assert records.value(c, records.PIF, records.PIF.field("network-uuid"), pif) == a.store.record(
        "network", network)["uuid"]
    assert records.value(c, records.PIF, records.PIF.field("bond-slave-of"), pif) == records.NID
    assert records.value(c, records.PIF, records.PIF.field("host-name-label"), pif) == "xenlab-sim-0"


def test_maps_and_sets_print_semicolon_separated(tmp_path):
    a, c = ctx(tmp_path)
    host = a.refs["host"]
    assert records.value(c, records.HOST, records.HOST.field("capabilities"), host).startswith(
        "xen-3.0-x86_64; hvm-3.0-x86_32")
    assert records.value(c, records.HOST, records.HOST.field("software-version"), host).startswith(
        "product_version: 8.3.0; product_version_text: 8.3")


def test_every_kind_lists_its_default_columns_among_its_fields():
    for kind in records.KINDS.values():
        names = [f.name for f in kind.fields]
        assert set(kind.default_list) <= set(names) and len(names) == len(set(names)), kind.name
