"""The state file and digests."""

import json

from xenlab.state import State, digest, digest_files


def test_digest_is_stable_and_part_boundaries_matter():
    assert digest("ab", "c") == digest("ab", "c")
    assert digest("ab", "c") != digest("a", "bc")
    assert digest(b"x") == digest("x")


def test_digest_files_sees_names_and_contents(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a").write_text("1")
    first = digest_files(d)
    (d / "a").write_text("2")
    assert digest_files(d) != first
    (d / "a").write_text("1")
    assert digest_files(d) == first
    (d / "a").rename(d / "b")
    assert digest_files(d) != first


def test_record_forget_and_reload(tmp_path):
    st = State(tmp_path)
    assert not st.is_current("build", "d1")
    st.record("build", "d1", 1.234, box="x.box")
    again = State(tmp_path)
    assert again.is_current("build", "d1") and not again.is_current("build", "d2")
    assert again.get("build")["box"] == "x.box"
    assert again.get("build")["seconds"] == 1.2
    again.forget("build")
    assert State(tmp_path).get("build") is None
    assert json.loads((tmp_path / "state.json").read_text()) == {"stages": {}}


def test_corrupt_state_file_is_treated_as_empty(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    assert State(tmp_path).stages == {}
