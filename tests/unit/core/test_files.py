"""The one place for writes and digests: atomic, right modes, digests that cannot blur."""

import os
import stat

import pytest

from xenlab.core import files
from xenlab.core.files import digest, digest_tree, file_digest, keyed_digest, write_file, write_json


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_digest_is_stable_and_part_boundaries_matter():
    assert digest("ab", "c") == digest("ab", "c")
    assert digest("ab", "c") != digest("a", "bc")
    assert digest(b"x") == digest("x")


def test_digest_tree_sees_names_and_contents_not_bytecode(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a").write_text("1")
    first = digest_tree(d)
    (d / "a").write_text("2")
    assert digest_tree(d) != first
    (d / "a").write_text("1")
    assert digest_tree(d) == first
    (d / "__pycache__").mkdir()
    (d / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert digest_tree(d) == first
    (d / "a").rename(d / "b")
    assert digest_tree(d) != first


def test_unchanged_files_are_not_rewritten(tmp_path):
    path = tmp_path / "x" / "f"
    assert write_file(path, "one") is True
    before = path.stat().st_mtime_ns
    assert write_file(path, "one") is False
    assert path.stat().st_mtime_ns == before
    assert write_file(path, "two") is True and path.read_text() == "two"


def test_secrets_are_0600_in_a_0700_folder_and_tightened(tmp_path):
    path = tmp_path / "secrets" / "pw"
    write_file(path, "s3cret", secret=True)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    os.chmod(path, 0o644)
    assert write_file(path, "s3cret", secret=True) is True  # same bytes, wrong mode: rewritten
    assert mode(path) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f"
    write_file(path, "old")

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(OSError):
        write_file(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_logs_are_0600(tmp_path):
    with files.open_log(tmp_path / "logs" / "x.log") as fh:
        fh.write("line\n")
    assert mode(tmp_path / "logs" / "x.log") == 0o600


def test_json_is_sorted_and_ends_with_a_newline(tmp_path):
    write_json(tmp_path / "j", {"b": 1, "a": 2})
    assert (tmp_path / "j").read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_file_digest_is_cached_by_size_and_mtime(tmp_path):
    f, cache = tmp_path / "f", tmp_path / "cache.json"
    f.write_bytes(b"abc")
    first = file_digest(f, "sha256", cache)
    assert first == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert first in cache.read_text()
    f.write_bytes(b"abd")
    assert file_digest(f, "sha256", cache) != first


def test_keyed_digest_needs_the_key(tmp_path):
    key = tmp_path / "secrets" / "key"
    a = keyed_digest(key, "password", "hunter2")
    assert mode(key) == 0o600
    assert keyed_digest(key, "password", "hunter2") == a
    assert a != digest(digest("password", "hunter2"))
    assert keyed_digest(tmp_path / "other-key", "password", "hunter2") != a


def test_a_process_that_comes_while_the_key_is_made_reads_the_same_whole_key(tmp_path, monkeypatch):
    """Two labs' builds may make the boxes' key at the same moment: one that arrives while the
    other is writing it must not read a partial key, and both must end with the same one."""
    key = tmp_path / "shared" / "key"
    token_bytes, seen = files.secrets.token_bytes, []

    def arriving_meanwhile(n):
        if not seen:  # the other process, between the first one's start and end of writing
            seen.append(None)
            seen.append(files._key(key))
        return token_bytes(n)

    monkeypatch.setattr(files.secrets, "token_bytes", arriving_meanwhile)
    first = files._key(key)
    assert len(first) == 32 and seen[1] == first == key.read_bytes()
    assert [p.name for p in key.parent.iterdir()] == ["key"]  # no temporary file left


def test_a_replaced_dir_takes_the_place_of_the_old_one_only_when_the_block_ends_well(tmp_path):
    target = tmp_path / "tree"
    (target / "old").mkdir(parents=True)
    with pytest.raises(RuntimeError):
        with files.replaced_dir(target) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["tree"] and (target / "old").is_dir()
    with files.replaced_dir(target) as tmp:
        (tmp / "new").write_text("x")
    assert [p.name for p in target.iterdir()] == ["new"] and [p.name for p in tmp_path.iterdir()] == ["tree"]
