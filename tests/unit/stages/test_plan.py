"""`plan`: deterministic rendering, modes, nothing run."""

import stat

from xenlab.core import config
from xenlab.stages import plan


def tree(root):
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*")) if p.is_file() and "secrets" not in p.parts
    }


def make_cfg(tmp_path, text='[lab]\nflavour = "standin"\n'):
    (tmp_path / "xenlab.toml").write_text(text)
    return config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": "pw-for-plan"})


def test_same_config_gives_byte_identical_trees(tmp_path):
    import shutil

    plan.render_all(make_cfg(tmp_path), quiet=True)
    first = tree(tmp_path / ".xenlab")
    plan.render_all(make_cfg(tmp_path), quiet=True)
    assert tree(tmp_path / ".xenlab") == first
    # Rendered from scratch (the kept password aside), the files come back the same.
    for path in (tmp_path / ".xenlab").iterdir():
        if path.is_dir():
            for child in path.iterdir():
                if child.name != "secrets":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            path.unlink()
    plan.render_all(make_cfg(tmp_path), quiet=True)
    assert tree(tmp_path / ".xenlab") == first
    assert "xenlab/lab.json" in first


def test_unchanged_files_are_not_rewritten(tmp_path, capsys):
    cfg = make_cfg(tmp_path)
    paths = plan.render_all(cfg)
    mtimes = [p.stat().st_mtime_ns for p in paths]
    plan.render_all(cfg)
    assert [p.stat().st_mtime_ns for p in paths] == mtimes
    assert "unchanged" in capsys.readouterr().out


def test_plan_writes_only_its_own_files_and_no_secret(tmp_path):
    cfg = make_cfg(tmp_path)
    written = plan.render_all(cfg, quiet=True)
    assert sorted(p.name for p in written) == ["active", "lab.json", "packer.pkrvars.json"]
    # local.conf and nova.conf are wire's: plan never writes them.
    assert not cfg.paths.local_conf.exists() and not cfg.paths.nova_conf.exists()
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert b"pw-for-plan" not in path.read_bytes()


def test_lab_spec_has_no_secret_and_a_concrete_accelerator(tmp_path):
    import json

    cfg = make_cfg(tmp_path)
    plan.render_all(cfg, quiet=True)
    spec = json.loads((cfg.lab_dir / "lab.json").read_text())
    assert spec["lab"]["accelerator"] in ("kvm", "tcg")
    assert spec["xenserver"]["ip"] == cfg.network.xenserver_ip
    assert "credentials" not in spec
    assert "pw-for-plan" not in json.dumps(spec)
