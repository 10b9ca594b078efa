"""The config model: defaults, TOML, XENLAB_* env, task overrides, secrets."""

import os
import stat

import pytest

from xenlab.core import config, password, paths
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
    assert cfg.lab.flavour == "xcp-ng-8.3"
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
        ("[iso]\nchecksum = 'sha256:ab'\n", "iso.checksum"),
        ("[iso]\nchecksum = 'md5:" + "a" * 64 + "'\n", "iso.checksum"),
        ("[lab\n", "not valid TOML"),
        ("[network]\ncidr = '0.0.0.0/0'\n", "not inside a private range"),
        ("[network]\ncidr = '127.0.0.0/8'\n", "not inside a private range"),
        ("[network]\ncidr = '224.0.0.0/4'\n", "not inside a private range"),
        ("[wire]\nhost = '999.999.999.999'\n", "wire.host"),
        ("[wire]\nhost = 'bad_name!'\n", "neither an IPv4 address nor a host name"),
        ("[devstack]\nbox = 'bento/ubuntu\\n18.04'\n", "devstack.box"),
        ("[lab]\nlibvirt_uri = 'not a uri'\n", "lab.libvirt_uri"),
        ("[lab]\nlibvirt_uri = 'qemu+tls://big-host/system'\n", "lab.libvirt_uri: 'qemu+tls://big-host/system' "
                                                              "names a remote host without SSH"),
        ("[network]\nmanagement_cidr = '192.168.57.0/25'\n", "network.management_cidr: the management network "
                                                            "192.168.57.0/25 overlaps 192.168.57.0/24"),
        ("[network]\nmanagement_cidr = '8.8.8.0/24'\n", "network.management_cidr: 8.8.8.0/24 is not inside a "
                                                       "private range"),
        ("[network]\nmanagement_cidr = '192.168.9.1/24'\n", "network.management_cidr"),
        ("[network]\ncidr = '192.168.0.0/16'\nxenserver_ip = '192.168.0.10'\ndevstack_ip = '192.168.0.11'\n",
         "network.cidr: the management network 192.168.121.0/24 (derived from cidr: set network.management_cidr) "
         "overlaps 192.168.0.0/16"),
        ("[iso]\npath = 'no-such.iso'\n", "iso.path"),
        ("a = " + "[" * 500 + "]" * 500 + "\n", "nested too deeply"),
        ("a = " + "{x = " * 500 + "1" + "}" * 500 + "\n", "nested too deeply"),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path, text, needle):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert needle in err.value.message
    assert "xenlab.toml" in err.value.message
    assert "\n" not in err.value.message
    assert err.value.exit_code == 2


def test_good_hosts_and_a_real_iso_path_are_accepted(tmp_path):
    (tmp_path / "x.iso").write_bytes(b"iso")
    cfg = load(tmp_path, "[wire]\nhost = 'xs1.example.org'\n[iso]\npath = 'x.iso'\n")
    assert cfg.wire.host == "xs1.example.org" and cfg.iso_path == tmp_path / "x.iso"
    assert load(tmp_path, "[wire]\nhost = '10.1.2.3'\n").wire.host == "10.1.2.3"
    assert load(tmp_path, "[network]\ncidr = '10.20.0.0/16'\nxenserver_ip = '10.20.0.10'\n"
                          "devstack_ip = '10.20.0.11'\n").network.cidr == "10.20.0.0/16"


@pytest.mark.parametrize("text, management", [
    ("", "192.168.121.0/24"),  # vagrant-libvirt's own default, for the default range
    ("[network]\ncidr = '192.168.59.0/24'\nxenserver_ip = '192.168.59.10'\ndevstack_ip = '192.168.59.11'\n",
     "192.168.123.0/24"),
    ("[network]\ncidr = '10.1.200.0/24'\nxenserver_ip = '10.1.200.10'\ndevstack_ip = '10.1.200.11'\n",
     "10.1.8.0/24"),
    ("[network]\ncidr = '10.20.0.0/16'\nxenserver_ip = '10.20.0.10'\ndevstack_ip = '10.20.0.11'\n",
     "192.168.121.0/24"),  # wider than a /24: the derived one would be inside it
    ("[network]\nmanagement_cidr = '172.20.1.0/24'\n", "172.20.1.0/24"),
])
def test_each_range_gets_a_management_network_of_its_own(tmp_path, text, management):
    assert str(load(tmp_path, text).network.management_network) == management


def test_errors_from_the_environment_and_options_name_them(tmp_path):
    with pytest.raises(ConfigError, match="XENLAB_NETWORK_CIDR: network.cidr: .*private range"):
        load(tmp_path, env={"XENLAB_NETWORK_CIDR": "8.8.8.0/24"})
    with pytest.raises(ConfigError, match="--flavour: lab.flavour: unknown flavour"):
        load(tmp_path, overrides={"lab": {"flavour": "nope"}})


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


@pytest.mark.parametrize("make, why", [
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.symlink_to(p.parent / "gone"), "dangling symlink"),
    (lambda p: p.write_bytes(b"[lab]\nname = '\xff'\n"), "not UTF-8"),
])
def test_config_files_that_are_not_readable_text_are_refused(tmp_path, make, why):
    path = tmp_path / "xenlab.toml"
    make(path)
    for how in ({"path": path}, {"environ": {"XENLAB_CONFIG": str(path)}}):
        with pytest.raises(ConfigError, match=why) as err:
            config.load(environ={}, **how) if "path" in how else config.load(**how)
        assert ("--config" if "path" in how else "XENLAB_CONFIG") in err.value.message


def test_the_default_config_must_be_a_file_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xenlab.toml").mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        config.load(environ={"XENLAB_PASSWORD": SENTINEL})


def test_empty_and_huge_config_paths_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="--config is empty"):
        config.load("", environ={})
    with pytest.raises(ConfigError, match="XENLAB_CONFIG is empty"):
        config.load(environ={"XENLAB_CONFIG": ""})
    with pytest.raises(ConfigError) as err:
        config.load(str(tmp_path / ("x" * 5000)), environ={})
    assert len(err.value.message) < 300


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
        password.check(first.password.get_secret_value(), "generated")

    def test_password_file_must_be_0600(self, tmp_path):
        pw = tmp_path / "pw"
        pw.write_text("hunter2hunter2\n")
        os.chmod(pw, 0o644)
        with pytest.raises(ConfigError, match="must be 0600"):
            config.load(write(tmp_path, "[credentials]\npassword_file = 'pw'\n"), environ={})
        os.chmod(pw, 0o600)
        cfg = config.load(write(tmp_path, "[credentials]\npassword_file = 'pw'\n"), environ={})
        assert cfg.password.get_secret_value() == "hunter2hunter2"

    def test_password_file_is_expanded_and_must_be_a_regular_utf8_file(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        (tmp_path / "home").mkdir()
        pw = tmp_path / "home" / "pw"
        pw.write_text("from-home-pw\n")
        pw.chmod(0o600)
        cfg = config.load(write(tmp_path, "[credentials]\npassword_file = '~/pw'\n"), environ={})
        assert cfg.password.get_secret_value() == "from-home-pw"
        pw.write_bytes(b"\xff\xfe\n")
        with pytest.raises(ConfigError, match="not UTF-8"):
            config.load(write(tmp_path, "[credentials]\npassword_file = '~/pw'\n"), environ={})
        pw.unlink()
        os.mkfifo(pw, 0o600)  # a FIFO with no writer: must not block
        with pytest.raises(ConfigError, match="not a regular file"):
            config.load(write(tmp_path, "[credentials]\npassword_file = '~/pw'\n"), environ={})

    @pytest.mark.parametrize(
        "bad, why",
        [("a\\b", "backslash"), ("a b", "whitespace"), ("a\tb", "whitespace"), ("ab\x01", "control"),
         ("a$b", "oslo.config"), ("", "is empty")],
    )
    def test_devstack_unsafe_passwords_refused(self, tmp_path, bad, why):
        with pytest.raises(ConfigError, match=why) as err:
            config.load(write(tmp_path, ""), environ={"XENLAB_PASSWORD": bad})
        assert "DevStack" in err.value.message or why == "is empty" or why == "control"
        assert not bad or bad not in err.value.message

    def test_special_characters_allowed(self, tmp_path):
        cfg = config.load(write(tmp_path, ""), environ={"XENLAB_PASSWORD": "<&\"'#`!"})
        assert cfg.password.get_secret_value() == "<&\"'#`!"


def test_flavours_are_data_files():
    assert {"standin", "xcp-ng-8.2", "xenserver-7.1"} <= set(config.available_flavours())


# A good value for every text setting whose default is empty; the others use their default.
GOOD_TEXT = {"iso.url": "https://example.org/x.iso", "iso.checksum": "sha256:" + "a" * 64,
             "devstack.box": "bento/ubuntu-18.04", "wire.host": "xs1.example.org"}
PATH_SETTINGS = {"iso.path", "credentials.password_file", "devstack.nova_src"}  # paths, checked as files
TEXT_SETTINGS = sorted(
    f"{section}.{key}" for section, sf in config.Settings.model_fields.items()
    for key, field in sf.annotation.model_fields.items()
    if isinstance(field.default, str) and f"{section}.{key}" not in PATH_SETTINGS)


def _good(key):
    section, name = key.split(".")
    return GOOD_TEXT.get(key) or getattr(config.Settings(), section).model_dump()[name]


@pytest.mark.parametrize("key", TEXT_SETTINGS)
def test_a_trailing_newline_fails_every_text_setting_from_file_and_environment(tmp_path, key):
    """Python's `$` matches before a final newline: `host = "xs1\\n"` passed and wire
    connected to `http://xs1\\n`. Each good value with a newline after it is refused,
    and the error names where it came from."""
    section, name = key.split(".")
    good = _good(key)
    extra = {"iso": {"url": "https://example.org/x.iso", "checksum": "sha256:" + "a" * 64}}.get(section, {})
    base = "".join(f'{k} = "{v}"\n' for k, v in extra.items() if k != name)
    assert load(tmp_path, f'[{section}]\n{base}{name} = "{good}"\n')  # the good value loads
    variable = f"XENLAB_{section.upper()}_{name.upper()}"
    others = {f"XENLAB_{section.upper()}_{k.upper()}": v for k, v in extra.items() if k != name}
    for text, env, source in ((f'[{section}]\n{base}{name} = "{good}\\n"\n', {}, "xenlab.toml"),
                              ("", {**others, variable: good + "\n"}, variable)):
        with pytest.raises(ConfigError) as err:
            load(tmp_path, text, env=env)
        assert f"{source}: {key}: " in err.value.message and "\n" not in err.value.message


def test_the_issue_s_newlines_and_spaces_name_their_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"XENLAB_WIRE_HOST: wire.host: '4096\\n' is neither"):
        load(tmp_path, env={"XENLAB_WIRE_HOST": "4096\n"})
    with pytest.raises(ConfigError, match="XENLAB_ISO_URL: iso.url: ' 4096 ' is not an http"):
        load(tmp_path, env={"XENLAB_ISO_URL": " 4096 "})
    # A section's own check names the field its message is about, and so its source.
    with pytest.raises(ConfigError, match="XENLAB_ISO_URL: iso.url: a url needs a checksum"):
        load(tmp_path, env={"XENLAB_ISO_URL": "https://example.org/x.iso"})
    with pytest.raises(ConfigError, match="XENLAB_ISO_PATH: iso.path: set either url or path"):
        load(tmp_path, '[iso]\nurl = "https://example.org/x.iso"\nchecksum = "sha256:' + "a" * 64 + '"\n',
             env={"XENLAB_ISO_PATH": "x.iso"})


@pytest.mark.parametrize("name", sorted(paths.SHARED_ENTRIES))
def test_a_lab_cannot_take_the_name_of_what_the_labs_share(tmp_path, name):
    """`.xenlab/active` is a file plan writes, `.xenlab/boxes` every lab's boxes: a lab
    called so wrote into them (IsADirectoryError, or a shared folder)."""
    for text, env, source in ((f'[lab]\nname = "{name}"\n', {}, "xenlab.toml"), ("", {"XENLAB_LAB_NAME": name},
                                                                              "XENLAB_LAB_NAME")):
        with pytest.raises(ConfigError) as err:
            load(tmp_path, text, env=env)
        if name in ("active", "boxes"):  # the others are no lab name anyway (`_`, `.`)
            assert f"{source}: lab.name: '{name}' is taken: .xenlab/{name} holds" in err.value.message
    assert not (tmp_path / ".xenlab").exists()


def test_your_own_nova_is_a_checked_path_from_the_file_or_the_environment(tmp_path):
    from tests.support import nova_checkout

    nova_checkout.make(tmp_path / "src" / "nova-tree")
    assert load(tmp_path, "[devstack]\nnova_src = 'src/nova-tree'\n").nova_src_path == tmp_path / "src/nova-tree"
    assert load(tmp_path, env={"XENLAB_DEVSTACK_NOVA_SRC": str(tmp_path / "src/nova-tree")}).nova_src_path == \
        tmp_path / "src/nova-tree"
    assert load(tmp_path).nova_src_path is None
    (tmp_path / "file").write_text("")
    (tmp_path / "empty").mkdir()
    (tmp_path / "victoria/nova").mkdir(parents=True)
    (tmp_path / "victoria/nova/__init__.py").write_text("")
    for value, why in (("nowhere", "nowhere: no such directory"), ("file", "file: not a directory"),
                       ("empty", "empty is not a Nova checkout (no nova/__init__.py)"),
                       ("victoria", "victoria has no nova/virt/xenapi/driver.py: the XenAPI driver was removed "
                                    "in Victoria (check out ussuri-eol or older)")):
        with pytest.raises(ConfigError) as err:
            load(tmp_path, f"[devstack]\nnova_src = '{value}'\n")
        assert err.value.message.startswith("config error: ") and "xenlab.toml: devstack.nova_src: " in \
            err.value.message and err.value.message.endswith(why) and err.value.exit_code == 2
    with pytest.raises(ConfigError, match=r"^config error: XENLAB_DEVSTACK_NOVA_SRC: devstack.nova_src: /nowhere: "
                                          r"no such directory$"):
        load(tmp_path, env={"XENLAB_DEVSTACK_NOVA_SRC": "/nowhere"})
