"""The state file: records survive a reload, a damaged file is treated as empty."""

import json

from xenlab.core.state import State


def test_record_forget_and_reload(tmp_path):
    path = tmp_path / "state.json"
    st = State(path)
    assert not st.is_current("build", "d1")
    st.record("build", "d1", 1.234, box="x.box")
    again = State(path)
    assert again.is_current("build", "d1") and not again.is_current("build", "d2")
    assert again.get("build")["box"] == "x.box"
    assert again.get("build")["seconds"] == 1.2
    again.forget("build")
    assert State(path).get("build") is None
    assert json.loads(path.read_text()) == {"stages": {}}


def test_corrupt_state_file_is_treated_as_empty(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    assert State(tmp_path / "state.json").stages == {}
    (tmp_path / "state.json").write_text('["a list"]')
    assert State(tmp_path / "state.json").stages == {}
