"""The build stage's own logic: what its digest covers, when a box counts as current."""

import json

import pytest

from xenlab.images import boxes, packer
from xenlab.stages import build
from tests.support import labs


@pytest.fixture(autouse=True)
def _fixed_packer_version(monkeypatch):
    monkeypatch.setattr(packer, "version_text", lambda: "1.6.6")


def test_inputs_are_stable(tmp_path):
    cfg = labs.load(tmp_path)
    assert build.inputs(cfg) == build.inputs(cfg)


def test_password_changes_the_digest_without_appearing_in_it(tmp_path):
    a = build.inputs(labs.load(tmp_path / "a"))
    b = build.inputs(labs.load(tmp_path / "b", password="another-one"))
    assert a != b
    assert labs.PASSWORD not in a


def test_labs_under_one_root_share_the_boxes_digest_when_their_inputs_agree(tmp_path):
    """The boxes are the root's, not a lab's: a second lab of the same inputs reuses them."""
    first = labs.load(tmp_path)
    second = labs.load(tmp_path, XENLAB_LAB_NAME="second")
    assert second.paths.lab_dir != first.paths.lab_dir
    assert build.inputs(second) == build.inputs(first)
    assert build.inputs(labs.load(tmp_path, XENLAB_LAB_NAME="third", password="another-one")) != build.inputs(first)
    assert first.paths.boxes_digest_key.stat().st_mode & 0o777 == 0o600


def test_config_values_and_packer_version_change_the_digest(tmp_path, monkeypatch):
    base = build.inputs(labs.load(tmp_path / "a"))
    assert build.inputs(labs.load(tmp_path / "b", extra="[xenserver]\nmemory_mb = 8192\n")) != base
    monkeypatch.setattr(packer, "version_text", lambda: "1.9.4")
    assert build.inputs(labs.load(tmp_path / "a")) != base


def test_sim_files_count_but_bytecode_does_not(tmp_path, monkeypatch):
    sim = tmp_path / "sim"
    sim.mkdir()
    (sim / "__main__.py").write_text("print('sim')\n")
    monkeypatch.setattr(build, "SIM_PAYLOAD", (sim,))
    cfg = labs.load(tmp_path / "lab")
    before = build.inputs(cfg)
    (sim / "__pycache__").mkdir()
    (sim / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert build.inputs(cfg) == before
    (sim / "__main__.py").write_text("print('changed')\n")
    assert build.inputs(cfg) != before


def test_flavour_data_changes_the_digest_of_that_flavour_only(tmp_path):
    cfg = labs.load(tmp_path / "x", "xcp-ng-8.2")
    assert build.inputs(cfg) != build.inputs(labs.load(tmp_path / "y", "standin"))


def _fake_box(cfg, name, digest, registered_in):
    box = boxes.box_file(cfg, name, "libvirt")
    box.parent.mkdir(parents=True, exist_ok=True)
    box.write_bytes(b"box")
    manifest = {"box": f"xenlab/{name}", "provider": "libvirt", "version": "0.1.1", "input_digest": digest}
    boxes.manifest_file(cfg, name).write_text(json.dumps(manifest))
    (registered_in / "boxes" / f"xenlab-VAGRANTSLASH-{name}" / "0.1.1" / "libvirt").mkdir(parents=True)


def test_current_needs_every_box_registered_with_the_same_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("VAGRANT_HOME", str(tmp_path / "vh"))
    cfg = labs.load(tmp_path / "lab")
    fl = cfg.flavour
    assert not build.present(cfg)
    _fake_box(cfg, "standin", "d1", tmp_path / "vh")
    assert not build._current(cfg, fl, "d1")  # the devstack box is missing
    _fake_box(cfg, "standin-devstack", "d1", tmp_path / "vh")
    assert build._current(cfg, fl, "d1")
    assert not build._current(cfg, fl, "d2")
    boxes.box_file(cfg, "standin", "libvirt").unlink()
    assert not build.present(cfg)


def test_stale_temp_dirs_of_dead_builds_are_removed(tmp_path):
    cfg = labs.load(tmp_path)
    box_dir = boxes.box_dir(cfg)
    dead = box_dir / ".build-standin-999999999-abc"
    dead.mkdir(parents=True)
    import os
    alive = box_dir / f".build-standin-{os.getpid()}-abc"
    alive.mkdir()
    build._clean_stale(cfg)
    assert not dead.exists() and alive.exists()


def test_missing_simulator_is_a_clear_error(tmp_path, monkeypatch):
    from xenlab.errors import ToolError

    monkeypatch.setattr(build, "SIM_DIR", tmp_path / "nowhere")
    with pytest.raises(ToolError, match="simulator package is missing"):
        build._stage_sim(tmp_path)


def test_staged_simulator_is_importable_as_xenlab_sim_without_bytecode(tmp_path):
    payload = build._stage_sim(tmp_path / "tmp")
    assert (payload / "xenlab" / "__init__.py").is_file()
    assert (payload / "xenlab" / "sim" / "__main__.py").is_file()
    assert (payload / "xenlab" / "plugin_pickle.py").is_file()
    assert not list(payload.rglob("__pycache__"))
    # The guest runs it with the standard library and this payload alone.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-S", "-c", "import xenlab.sim.api, xenlab.sim.server"],
                          cwd=payload, env={"PYTHONPATH": str(payload)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
