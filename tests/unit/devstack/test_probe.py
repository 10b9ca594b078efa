import pytest

from xenlab.devstack import probe
from xenlab.errors import ToolError


def test_every_pin_is_exact_and_hashed():
    text = probe.REQUIREMENTS.read_text().replace("\\\n", " ")
    entries = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(entries) == len(probe.pins()) == 83
    for entry in entries:
        name, _, rest = entry.partition("==")
        assert name and rest.split()[0] and "--hash=sha256:" in rest, entry
    names = {p.split("==")[0].lower() for p in probe.pins()}
    assert {"nova", "os-xenapi", "eventlet", "setuptools"} <= names


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
    with pytest.raises(ToolError, match="gave 3 wheels for 83 pins"):
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
