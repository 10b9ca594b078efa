import subprocess

import pytest

from xenlab.core import config
from xenlab.core.shell import quote
from xenlab.devstack import conf as devstack, restrictions


def cfg(tmp_path, password="pw<&\"'#`x", **overrides):
    return config.load(None, overrides=overrides, environ={"XENLAB_PASSWORD": password})


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("value", ["", "plain", "a'b", "'", "$HOME", "`id`", "a\"b", "#x", "<&>", "'\\''"])
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_quote_round_trips(value, shell):
    out = subprocess.run([shell, "-c", f"v={quote(value)}; printf %s \"$v\""],
                         capture_output=True, text=True, check=True).stdout
    assert out == value


def test_local_conf_train_default(tmp_path):
    text = devstack.render_local_conf(cfg(tmp_path))
    lines = text.splitlines()
    assert "USE_PYTHON3=False" in lines and "REQUIREMENTS_BRANCH=train-eol" in lines
    assert "XENAPI_CONNECTION_URL=http://192.168.57.10" in lines
    assert lines.index("[[post-config|$NOVA_CONF]]") > lines.index("[[local|localrc]]")
    assert all(not line[:1].isspace() for line in lines)
    assert "\r" not in text and text.endswith("\n")
    assert restrictions.check_text("local.conf", text) == []


def test_ussuri_and_host_override(tmp_path):
    c = cfg(tmp_path, devstack={"release": "ussuri"}, wire={"host": "xs1.example.org"})
    text = devstack.render_local_conf(c)
    assert "USE_PYTHON3=True" in text and "NOVA_BRANCH=ussuri-eol" in text
    assert "XENAPI_CONNECTION_URL=http://xs1.example.org\n" in text
    assert "connection_url = http://xs1.example.org\n" in devstack.render_nova_conf(c)


def test_nova_conf_holds_the_password_as_devstacks_iniset_writes_it(tmp_path):
    text = devstack.render_nova_conf(cfg(tmp_path, password="a<&'#b"))
    assert "connection_password = a<&'#b\n" in text
    assert restrictions.check_text("nova.conf", text) == []


def test_renders_are_pure(tmp_path):
    c = cfg(tmp_path)
    assert devstack.render_local_conf(c) == devstack.render_local_conf(c)


def test_your_own_nova_is_what_devstack_clones(tmp_path):
    from tests.support import nova_checkout

    src = nova_checkout.make(tmp_path / "nova", branch="fix/xenapi-$boot")
    values, _ = restrictions.split_local_conf(devstack.render_local_conf(cfg(tmp_path, devstack={"nova_src": str(src)})))
    assert values["NOVA_REPO"] == devstack.NOVA_REPO_IN_MACHINE
    assert values["NOVA_BRANCH"] == "fix/xenapi-$boot"  # read back by bash literally
    text = devstack.render_local_conf(cfg(tmp_path, devstack={"nova_src": str(src)}))
    assert text.count("NOVA_BRANCH=") == 1 and "KEYSTONE_BRANCH=train-eol" in text
    # Without the setting, on a detached HEAD (which DevStack cannot clone by name), or where no
    # stack.sh runs (the stand-in: verify syncs your Nova into its probe): Nova as released.
    for c in (cfg(tmp_path), cfg(tmp_path, devstack={"nova_src": str(nova_checkout.make(tmp_path / "d", None))}),
              cfg(tmp_path, devstack={"nova_src": str(src)}, lab={"flavour": "standin"})):
        values, _ = restrictions.split_local_conf(devstack.render_local_conf(c))
        assert values["NOVA_BRANCH"] == "train-eol" and "NOVA_REPO" not in values
