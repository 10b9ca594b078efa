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
    assert parse_where('field "a"="1" and field "b"="2"') == [("a", "1"), ("b", "2")]
    with pytest.raises(Failure):
        parse_where("true or false")
