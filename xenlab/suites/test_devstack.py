"""The DevStack host: local.conf, nova.conf and its reach to dom0, as independent compute needs.

Every fact comes from one remote command (see conftest.gather).
"""

import configparser
import shlex

import pytest

from xenlab.devstack import restrictions

LOGIN = r"""
import os, sys
from xmlrpc.client import ServerProxy
r = ServerProxy(os.environ["URL"] + "/").session.login_with_password(os.environ["XUSER"], os.environ["XENAPI_PASSWORD"])
print(r["Status"], (r.get("ErrorDescription") or [""])[0])
"""


@pytest.fixture(scope="module")
def devstack(host, ctx, gather):
    d = ctx["devstack"]
    lc, nc = shlex.quote(d["local_conf"]), shlex.quote(d["nova_conf"])
    url, user = d["localrc"]["XENAPI_CONNECTION_URL"], d["localrc"]["XENAPI_USER"]
    login = (f'eval "$(grep ^XENAPI_PASSWORD= {lc})"; '
             f"export XENAPI_PASSWORD URL={shlex.quote(url)} XUSER={shlex.quote(user)}; "
             f"timeout 30 python3 -c {shlex.quote(LOGIN)}")
    ip = shlex.quote(ctx["xenserver"]["ip"])
    return gather(host, {
        "local_conf_stat": f"stat -c '%a %U' {lc}",
        "local_conf": f"cat {lc}",
        "nova_conf": f"cat {nc}",
        "xenapi_login": f"bash -c {shlex.quote(login)}; echo \"exit $?\"",
        "domzero": f"sudo -u {shlex.quote(d['user'])} -H ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
                   f"-o UserKnownHostsFile=/dev/null -o ConnectTimeout=15 root@{ip} true; echo \"exit $?\"",
    })


@pytest.fixture(scope="module")
def local_conf(devstack, ctx):
    text = devstack["local_conf"]
    assert "No such file" not in text and "[[local|localrc]]" in text, \
        f"{ctx['devstack']['local_conf']} missing on the devstack host: run `invoke wire`, then " \
        "`vagrant provision devstack`"
    return text


@pytest.fixture(scope="module")
def nova_conf(devstack, ctx):
    text = devstack["nova_conf"]
    assert "No such file" not in text, f"{ctx['devstack']['nova_conf']} missing on the devstack host"
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    return text, parser


def test_local_conf_is_private(devstack, local_conf, ctx):
    mode, _, user = devstack["local_conf_stat"].strip().partition(" ")
    assert mode == "600", f"local.conf is mode {mode} and holds passwords: chmod 600 it"
    assert user == ctx["devstack"]["user"], f"local.conf belongs to {user}, not {ctx['devstack']['user']}"


def test_local_conf_values(local_conf, ctx):
    values, _ = restrictions.split_local_conf(local_conf)
    want = ctx["devstack"]["localrc"]
    wrong = {k: values.get(k) for k, v in want.items() if values.get(k) != v}
    assert not wrong, f"local.conf differs from what the lab needs: {wrong} (want {want}): run `invoke wire`"
    assert values.get("XENAPI_PASSWORD"), "local.conf sets no XENAPI_PASSWORD: stack.sh would prompt for it"
    assert "enable_plugin os-xenapi" in local_conf, "local.conf lacks `enable_plugin os-xenapi`"


def test_nova_conf_independent_compute(nova_conf, ctx):
    _, conf = nova_conf
    xs = conf["xenserver"] if conf.has_section("xenserver") else {}
    assert str(xs.get("independent_compute", "")).lower() == "true", \
        "nova.conf [xenserver] independent_compute is not True: add it under [[post-config|$NOVA_CONF]]"
    assert str(xs.get("check_host", "")).lower() == "false", \
        "nova.conf [xenserver] check_host is not False: independent compute refuses to start otherwise"
    assert xs.get("connection_url") == ctx["devstack"]["localrc"]["XENAPI_CONNECTION_URL"], \
        f"nova.conf [xenserver] connection_url is {xs.get('connection_url')!r}, not the xenserver host"


def test_no_independent_compute_restriction_broken(ctx, local_conf, nova_conf):
    findings = restrictions.check_text(ctx["devstack"]["local_conf"], local_conf)
    findings += restrictions.check_text(ctx["devstack"]["nova_conf"], nova_conf[0])
    assert not findings, "settings that break independent compute: " + "; ".join(f.line() for f in findings)


def test_xenapi_login_from_devstack(devstack, ctx):
    """Log in with the password local.conf holds, over the private network."""
    url = ctx["devstack"]["localrc"]["XENAPI_CONNECTION_URL"]
    out = devstack["xenapi_login"]
    assert out.strip().endswith("exit 0"), f"XenAPI at {url} unreachable from the devstack host: {out.strip()[-200:]} " \
                                           "(check the private network and that xapi runs)"
    assert out.split()[:1] == ["Success"], f"XenAPI login from devstack with local.conf's password failed: {out.strip()}"


def test_domzero_user_reaches_dom0_as_root(devstack, ctx):
    user, ip = ctx["devstack"]["user"], ctx["xenserver"]["ip"]
    out = devstack["domzero"]
    assert out.strip().endswith("exit 0"), f"{user} cannot SSH to root@{ip} with its key ({out.strip()[-200:]}): " \
                                           "the DOMZERO key is missing on one side: run `invoke wire`, then " \
                                           "`vagrant provision devstack`"
