import os

import pytest

from xenlab.devstack import probe, vhd
from xenlab.errors import ToolError


def test_every_pin_is_exact_and_hashed():
    text = probe.REQUIREMENTS.read_text().replace("\\\n", " ")
    entries = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(entries) == len(probe.pins()) == 108
    for entry in entries:
        name, _, rest = entry.partition("==")
        assert name and rest.split()[0] and "--hash=sha256:" in rest and rest.count("--hash") == 1, entry
    names = {p.split("==")[0].lower() for p in probe.pins()}
    # One set for both users of the tree: Nova's probe and Glance (with what builds the one sdist).
    assert {"nova", "os-xenapi", "eventlet", "setuptools", "glance", "glance-store", "python-glanceclient",
            "simplegeneric", "wheel"} <= names
    assert len(names) == len(entries), "a package pinned twice"


def test_the_command_runs_the_guests_python_with_only_the_tree():
    run = probe.command("/opt/probe/tree", "/opt/probe/nova.conf", script="/opt/probe/nova-probe.py", refreshes=2)
    assert run.argv == ["/usr/bin/python3", "-S", "/opt/probe/nova-probe.py", "--tree", "/opt/probe/tree",
                        "--config-file", "/opt/probe/nova.conf", "--refreshes", "2"]
    assert "PYTHONPATH" not in run.env and run.env["PATH"].startswith("/usr/sbin")


def test_pip_runs_without_the_machines_pip_config(monkeypatch):
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("PIP_CONSTRAINT", "/etc/c.txt")
    monkeypatch.setenv("PIP_CERT", "/etc/ssl/certs/ca.crt")
    env = probe._pip_env()
    assert "PIP_FIND_LINKS" not in env and "PIP_CONSTRAINT" not in env
    assert env["PIP_CERT"] == "/etc/ssl/certs/ca.crt" and env["PIP_CONFIG_FILE"] == "/dev/null"


def test_a_complete_cached_tree_is_reused_without_pip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    tree = probe.cache_root() / "tree"
    tree.mkdir(parents=True)
    (tree / probe.COMPLETE).write_text("x\n")
    monkeypatch.setattr(probe.proc, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert probe.ensure_tree() == tree


def test_an_interrupted_download_is_not_taken_for_a_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (probe.cache_root() / "wheels").mkdir(parents=True)  # no .complete: left by a killed run
    seen = []

    def fake_pip(argv, **kwargs):
        seen.append(argv[3])
        if argv[3] == "download":
            target = argv[argv.index("-d") + 1]
            for pin in probe.pins()[:3]:  # too few: the download is refused
                (tmp_path / target / f"{pin.replace('==', '-')}-py3-none-any.whl").write_text("")
        return ""
    monkeypatch.setattr(probe.proc, "run", fake_pip)
    with pytest.raises(ToolError, match="gave 3 files for 108 pins"):
        probe.ensure_tree()
    assert seen == ["download"] and not list(probe.cache_root().glob(".wheels-*"))


def test_the_cache_follows_the_requirements(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert probe.cache_root().parent == tmp_path / "xenlab" / "nova-probe"
    first = probe.requirements_digest()
    copy = tmp_path / "req.txt"
    copy.write_text(probe.REQUIREMENTS.read_text() + "# changed\n")
    monkeypatch.setattr(probe, "REQUIREMENTS", copy)
    assert probe.requirements_digest() != first


def test_the_one_sdist_may_be_downloaded_but_nothing_unpinned(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    seen = []
    monkeypatch.setattr(probe.proc, "run", lambda argv, **kw: seen.append(argv) or pytest.fail("stop here"))
    with pytest.raises(pytest.fail.Exception):
        probe.ensure_wheels()
    # No --only-binary (simplegeneric is an sdist only), but every file is hash-checked.
    assert "--only-binary=:all:" not in seen[0] and "--require-hashes" in seen[0] and "--no-deps" in seen[0]


def test_the_disk_holds_the_tree_and_the_images_readable_by_all(tmp_path):
    tree = tmp_path / "cache" / "tree"
    (tree / "glance").mkdir(parents=True)
    (tree / "glance" / "__init__.py").write_text("")
    tree.chmod(0o700)  # as replaced_dir leaves it
    image = tmp_path / "cache" / "img.vhd.tgz"
    image.write_bytes(b"vhd")
    stage = tmp_path / "stage"
    probe.stage_disk(stage, tree, [image])
    assert sorted(p.name for p in stage.iterdir()) == [probe.DISK_IMAGES, probe.DISK_TREE]
    assert (stage / "images" / "img.vhd.tgz").read_bytes() == b"vhd"
    # Hard links into the cache, no copies; folders Glance's user can enter.
    assert os.stat(stage / "tree" / "glance" / "__init__.py").st_ino == os.stat(tree / "glance" / "__init__.py").st_ino
    assert all(((stage / d).stat().st_mode & 0o777) == 0o755 for d in ("", "tree", "images"))


def test_the_disk_and_its_volume_follow_the_requirements_and_the_image(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = (probe.volume_name(), probe.image_path(), probe.inputs())
    monkeypatch.setattr(vhd, "inputs", lambda: "another image")
    second = (probe.volume_name(), probe.image_path(), probe.inputs())
    assert all(a != b for a, b in zip(first, second))
    assert second[0].startswith("xenlab-nova-probe-") and second[1].parent == probe.cache_root()
