import pytest

from xenlab.sim.store import Failure, Store, parse_where


@pytest.fixture
def store():
    s = Store()
    s.add("VM", {"name_label": "a", "power_state": "Running", "other_config": {}}, ref="OpaqueRef:a")
    s.add("VM", {"name_label": "b", "power_state": "Halted", "other_config": {}}, ref="OpaqueRef:b")
    return s


def test_generic_methods(store):
    m = lambda name: store.method("VM", name)  # noqa: E731
    assert m("get_all")() == ["OpaqueRef:a", "OpaqueRef:b"]
    assert m("get_by_name_label")("b") == ["OpaqueRef:b"]
    uuid = m("get_uuid")("OpaqueRef:a")
    assert m("get_by_uuid")(uuid) == "OpaqueRef:a"
    m("set_power_state")("OpaqueRef:a", "Halted")
    assert m("get_record")("OpaqueRef:a")["power_state"] == "Halted"
    m("add_to_other_config")("OpaqueRef:a", "k", "v")
    with pytest.raises(Failure) as exc:
        m("add_to_other_config")("OpaqueRef:a", "k", "v")
    assert exc.value.description[0] == "MAP_DUPLICATE_KEY"
    m("remove_from_other_config")("OpaqueRef:a", "k")
    assert m("get_other_config")("OpaqueRef:a") == {}
    assert m("frob") is None and m("get_nonexistent_field") is None and store.method("SR", "get_all") is None


def test_errors(store):
    with pytest.raises(Failure) as exc:
        store.method("VM", "get_record")("OpaqueRef:zz")
    assert exc.value.description == ["HANDLE_INVALID", "VM", "OpaqueRef:zz"]
    with pytest.raises(Failure) as exc:
        store.method("VM", "get_by_uuid")("nope")
    assert exc.value.description == ["UUID_INVALID", "VM", "nope"]


def test_where(store):
    where = store.method("VM", "get_all_records_where")
    assert list(where('field "power_state"="Halted"')) == ["OpaqueRef:b"]
    assert parse_where('field "a"="1" and field "b"="2"') == (
        "and", ("eq", ("field", "a"), ("literal", "1")), ("eq", ("field", "b"), ("literal", "2")))
    with pytest.raises(Failure):
        parse_where('true or field "a"=')


def schema_store():
    s = Store(schema=True)
    s.add("VM", {"name_label": "a", "power_state": "Running"}, ref="OpaqueRef:a")
    return s


def test_a_schema_store_knows_every_class_and_the_modelled_fields():
    s = schema_store()
    assert s.method("VDI", "get_all")() == []
    assert s.record("VM", "OpaqueRef:a")["memory_static_max"] == 0  # a default of its type
    assert s.method("PIF", "get_IP").params[0][1].cls == "PIF"


def test_only_read_write_fields_have_setters_and_only_maps_add_to():
    s = schema_store()
    assert s.method("VM", "set_name_label") and s.method("VM", "set_other_config")
    assert s.method("VM", "set_power_state") is None  # read-only in XAPI's datamodel
    assert s.method("VM", "add_to_power_state") is None and s.method("VM", "add_to_name_label") is None
    assert s.method("VM", "add_tags") and s.method("VM", "add_to_other_config")


def test_setters_declare_the_fields_type():
    s = schema_store()
    params = s.method("VM", "set_other_config").params
    assert [name for name, _ in params] == ["self", "value"] and params[1][1].name.endswith("map")


def test_map_keys_are_never_empty_and_sets_keep_one_of_each():
    s = schema_store()
    with pytest.raises(Failure) as exc:
        s.method("VM", "add_to_other_config")("OpaqueRef:a", "", "v")
    assert exc.value.description == ["INTERNAL_ERROR", "Db_exn.Empty_key_in_map"]
    s.method("VM", "add_tags")("OpaqueRef:a", "t")
    s.method("VM", "add_tags")("OpaqueRef:a", "t")
    assert s.method("VM", "get_tags")("OpaqueRef:a") == ["t"]
    s.method("VM", "remove_tags")("OpaqueRef:a", "t")
    assert s.record("VM", "OpaqueRef:a")["tags"] == []


def test_where_compares_database_text_and_refuses_a_missing_column():
    s = schema_store()
    where = s.method("VM", "get_all_records_where")
    assert list(where('field "name__label"="a" and field "is_control_domain"="false"')) == ["OpaqueRef:a"]
    with pytest.raises(Failure) as exc:
        where('field "nonsense"="x"')
    assert exc.value.description == ["INTERNAL_ERROR", "missing field", "nonsense", ""]
    assert Store(schema=True).method("VDI", "get_all_records_where")('field "nonsense"="x"') == {}


def test_changes_to_persistent_classes_bump_the_generation_sessions_do_not():
    s = schema_store()
    before = s.generation
    s.add("session", {})
    assert s.generation == before
    s.method("VM", "set_name_label")("OpaqueRef:a", "b")
    assert s.generation == before + 1
