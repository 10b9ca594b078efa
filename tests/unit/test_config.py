"""The config model: defaults, TOML, XENLAB_* env, task overrides, secrets."""

import os
import stat

import pytest

from xenlab import config
from xenlab.errors import ConfigError

SENTINEL = "s3ntinel-Pw_42"


def write(tmp_path, text, name="xenlab.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def load(tmp_path, text="", env=None, **kw):
    path = write(tmp_path, text)
    return config.load(path, environ={"XENLAB_PASSWORD": SENTINEL, **(env or {})}, **kw)


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config.load(environ={"XENLAB_PASSWORD": SENTINEL})
    assert cfg.lab.flavour == "xcp-ng-8.2"
    assert cfg.lab.provider == "libvirt"
    assert cfg.xenserver.disk_gb == 60
    assert cfg.devstack.release == "train"
    assert cfg.root == tmp_path.resolve()
    assert cfg.lab_dir == tmp_path.resolve() / ".xenlab" / "xenlab"


def test_toml_then_env_then_overrides(tmp_path):
    cfg = load(
        tmp_path,
        '[lab]\nname = "one"\nflavour = "xenserver-7.1"\n[xenserver]\nmemory_mb = 6144\n',
        env={"XENLAB_XENSERVER_MEMORY_MB": "8192", "XENLAB_LAB_NAME": "two"},
        overrides={"lab": {"flavour": "standin", "provider": None}},
    )
    assert cfg.xenserver.memory_mb == 8192  # env beats the file
    assert cfg.lab.name == "two"
    assert cfg.lab.flavour == "standin"  # the task option beats both
    assert cfg.lab.provider == "libvirt"  # an unset option overrides nothing


def test_model_is_frozen(tmp_path):
    cfg = load(tmp_path)
    with pytest.raises(Exception):
        cfg.settings.lab.name = "other"


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[lab]\nnmae = 'x'\n", "lab.nmae: unknown key"),
        ("[labs]\nname = 'x'\n", "labs: unknown key"),
        ("[xenserver]\nmemory_mb = '4096'\n", "xenserver.memory_mb"),
        ("[xenserver]\ndisk_gb = 20\n", "xenserver.disk_gb"),
        ("[lab]\nprovider = 'hyperv'\n", "lab.provider"),
        ("[lab]\nname = 'Bad Name'\n", "lab.name"),
        ("[lab]\nflavour = 'xenserver-9'\n", "lab.flavour: unknown flavour"),
        ("[network]\nxenserver_ip = '10.0.0.5'\n", "xenserver_ip: 10.0.0.5 is not a host address"),
        ("[network]\ncidr = '192.168.57.1/24'\n", "cidr"),
        ("[network]\ndevstack_ip = '192.168.57.10'\n", "must differ"),
        ("[network]\nxenserver_ip = '192.168.57.1'\n", "gateway"),
        ("[iso]\nurl = 'https://example.invalid/x.iso'\n", "a url needs a checksum"),
        ("[iso]\nchecksum = 'sha256:xyz'\n", "iso.checksum"),
        ("[lab\n", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, needle):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert needle in err.value.message
    assert "\n" not in err.value.message
    assert err.value.exit_code == 2


def test_env_values_are_typed_and_checked(tmp_path):
    with pytest.raises(ConfigError, match="XENLAB_XENSERVER_CPUS"):
        load(tmp_path, env={"XENLAB_XENSERVER_CPUS": "two"})
    with pytest.raises(ConfigError, match="XENLAB_XENSERVER_COLOUR: unknown setting"):
        load(tmp_path, env={"XENLAB_XENSERVER_COLOUR": "red"})
    assert load(tmp_path, env={"XENLAB_XENSERVER_CPUS": "4"}).xenserver.cpus == 4


def test_variables_of_other_parts_are_not_settings(tmp_path):
    """The Vagrantfile's own variables reach `xenlab wire` in its trigger."""
    cfg = load(tmp_path, env={"XENLAB_LAB_SPEC": "/x/lab.json", "XENLAB_LAB": "other"})
    assert cfg.lab.name == "xenlab"


def test_explicit_config_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "missing.toml", environ={})


class TestPassword:
    def test_from_env_is_a_secret(self, tmp_path):
        cfg = load(tmp_path)
        assert cfg.password.get_secret_value() == SENTINEL
        assert SENTINEL not in repr(cfg) and SENTINEL not in str(cfg.public_dict())

    def test_generated_once_and_kept_0600(self, tmp_path):
        path = write(tmp_path, "")
        first = config.load(path, environ={})
        second = config.load(path, environ={})
        assert first.password_source == "generated"
        assert first.password.get_secret_value() == second.password.get_secret_value()
        secret = tmp_path / ".xenlab" / "xenlab" / "secrets" / "password"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        config.check_password(first.password.get_secret_value(), "generated")

    def test_password_file_must_be_0600(self, tmp_path):
        pw = tmp_path / "pw"
        pw.write_text("hunter2hunter2\n")
        os.chmod(pw, 0o644)
        with pytest.raises(ConfigError, match="must be 0600"):
            config.load(write(tmp_path, "[credentials]\npassword_file = 'pw'\n"), environ={})
        os.chmod(pw, 0o600)
        cfg = config.load(write(tmp_path, "[credentials]\npassword_file = 'pw'\n"), environ={})
        assert cfg.password.get_secret_value() == "hunter2hunter2"

    @pytest.mark.parametrize(
        "bad, why",
        [("a\\b", "backslash"), ("a b", "whitespace"), ("a\tb", "whitespace"), ("ab\x01", "control")],
    )
    def test_devstack_unsafe_passwords_refused(self, tmp_path, bad, why):
        with pytest.raises(ConfigError, match=why) as err:
            config.load(write(tmp_path, ""), environ={"XENLAB_PASSWORD": bad})
        assert bad not in err.value.message

    def test_special_characters_allowed(self, tmp_path):
        cfg = config.load(write(tmp_path, ""), environ={"XENLAB_PASSWORD": "<&\"'$#`!"})
        assert cfg.password.get_secret_value() == "<&\"'$#`!"


def test_flavours_are_data_files():
    assert {"standin", "xcp-ng-8.2", "xenserver-7.1"} <= set(config.available_flavours())
