import xmlrpc.client

import pytest

from xenlab.sim import statedb
from xenlab.sim.seed import seed
from xenlab.sim.store import Store


def test_a_saved_store_loads_back_without_its_sessions(tmp_path):
    s = Store(schema=True)
    seed(s)
    s.add("session", {"originator": "x"})
    metrics = next(iter(s.classes["host_metrics"]))
    s.record("host_metrics", metrics)["last_updated"] = xmlrpc.client.DateTime("20260101T00:00:00Z")
    path = tmp_path / "state.db"
    statedb.save(s, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = Store(schema=True)
    statedb.load(back, path)
    assert back.classes["host"] == s.classes["host"] and back.classes["session"] == {}
    assert back.record("host_metrics", metrics)["last_updated"].value == "20260101T00:00:00Z"
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("content", [b"", b"{}", b"[1]", b'{"format": "xenlab-sim-state", "version": 1, '
                                     b'"classes": []}', b"\xff\xfe"])
def test_a_file_that_is_not_a_state_database_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "state.db"
    path.write_bytes(content)
    with pytest.raises(statedb.StateError) as exc:
        statedb.load(Store(schema=True), path)
    assert "\n" not in str(exc.value)


def test_the_inventory_is_read_as_shell_assignments(tmp_path):
    path = tmp_path / "xensource-inventory"
    path.write_text("INSTALLATION_UUID='abc'\nCONTROL_DOMAIN_UUID=\"def\"\nBUILD_NUMBER=8.3.0\n# comment\n")
    assert statedb.read_inventory(path) == {"INSTALLATION_UUID": "abc", "CONTROL_DOMAIN_UUID": "def",
                                            "BUILD_NUMBER": "8.3.0"}
    with pytest.raises(statedb.StateError):
        statedb.read_inventory(tmp_path / "missing")
