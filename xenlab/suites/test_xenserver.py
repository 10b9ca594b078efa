"""The XenServer host (or its stand-in): what Nova's independent compute needs from dom0.

Every dom0 fact comes from one remote command (see conftest.gather).
"""

import re
import shlex

import pytest

# A login with a wrong password must be refused by XAPI itself: proves it answers
# on port 80 without needing the secret on the host's command line. No python: XCP-ng
# 8.2's dom0 has no python3, and the stand-in's python3 is a shim that records every call.
LOGIN_WRONG = ("<?xml version='1.0'?><methodCall><methodName>session.login_with_password</methodName><params>"
               "<param><value><string>root</string></value></param>"
               "<param><value><string>not-the-password</string></value></param></params></methodCall>")


@pytest.fixture(scope="module")
def dom0(host, ctx, gather):
    dirs = " ".join(shlex.quote(d) for d in ctx["xenserver"]["plugin_dirs"])
    return gather(host, {
        "plugin_dir": f"for d in {dirs}; do if [ -d \"$d\" ]; then echo \"$d\"; break; fi; done",
        "plugins": f"for d in {dirs}; do if [ -d \"$d\" ]; then cd \"$d\" && stat -c '%n %a' -- *; break; fi; done",
        "plugin_version": f"for d in {dirs}; do if [ -d \"$d\" ]; then cat \"$d/dom0_plugin_version.py\"; break; fi; done",
        "iptables": "iptables -S",
        "dirs": "for p in /images /boot/guest; do if [ -e \"$p\" ]; then echo \"$p\"; fi; done",
        "addresses": "ip -4 -o addr show",
        "authorized_keys": "cat /root/.ssh/authorized_keys",
        "xapi": f"curl -s -S -m 20 -H 'Content-Type: text/xml' --data-binary {shlex.quote(LOGIN_WRONG)} "
                "http://127.0.0.1/; echo; echo \"curl exit $?\"",
    })


def test_xapi_answers_on_port_80(dom0):
    out = dom0["xapi"]
    assert "curl exit 0" in out, f"XAPI does not answer on http://127.0.0.1/ in dom0 ({out.strip()[-200:]}): " \
                                 "start xapi (systemctl restart xapi)"
    status = re.search(r"<name>Status</name>\s*<value>(?:<string>)?(\w+)", out)
    code = re.search(r"<name>ErrorDescription</name>.*?<string>(\w+)</string>", out, re.S)
    got = [status.group(1) if status else "?", code.group(1) if code else "?"]
    assert got == ["Failure", "SESSION_AUTHENTICATION_FAILED"], \
        f"XAPI answered {got} to a wrong password; expected SESSION_AUTHENTICATION_FAILED"


@pytest.fixture(scope="module")
def plugin_dir(dom0, ctx):
    found = dom0["plugin_dir"].strip()
    assert found, f"no XAPI plugin directory in dom0 (looked in {', '.join(ctx['xenserver']['plugin_dirs'])})"
    return found


def test_dom0_plugins_installed_and_executable(dom0, ctx, plugin_dir):
    modes = dict(line.rsplit(" ", 1) for line in dom0["plugins"].splitlines() if " " in line)
    missing = [name for name in ctx["xenserver"]["plugins"] if name not in modes]
    not_exec = [name for name in ctx["xenserver"]["plugins"] if name in modes and not int(modes[name], 8) & 0o111]
    assert not missing, f"os-xenapi dom0 plugins missing in {plugin_dir}: {', '.join(missing)}: run `invoke wire`"
    assert not not_exec, f"dom0 plugins not executable in {plugin_dir}: {', '.join(not_exec)}: " \
                         "run `invoke wire --force`"


def test_dom0_plugin_version_matches_release(dom0, ctx, plugin_dir):
    want = ctx["xenserver"]["plugin_version"]
    text = dom0["plugin_version"]
    assert "PLUGIN_VERSION" in text, "dom0_plugin_version.py missing: run `invoke wire`"
    assert f'PLUGIN_VERSION = "{want}"' in text, \
        f"dom0 plugins are not version {want} (os-xenapi {ctx['xenserver']['os_xenapi_version']}): " \
        "run `invoke wire --force`"


@pytest.mark.parametrize("proto, port", [("tcp", 6640), ("udp", 4789)])
def test_firewall_open_for_ovsdb_and_vxlan(dom0, proto, port):
    rules = dom0["iptables"].splitlines()
    ok = any(f"-p {proto}" in r and f"--dport {port}" in r and "ACCEPT" in r for r in rules)
    assert ok, f"iptables has no ACCEPT rule for {proto}/{port} in dom0: run `invoke wire`"


@pytest.mark.parametrize("path", ["/images", "/boot/guest"])
def test_image_directories(dom0, path):
    assert path in dom0["dirs"].split(), f"{path} missing in dom0 (os-xenapi stores images there): run `invoke wire`"


def test_management_address(dom0, ctx):
    want = ctx["xenserver"]["ip"]
    assert f" {want}/" in dom0["addresses"], f"dom0 does not hold the lab's management address {want}: " \
                                             "re-run the xenserver provisioning (`vagrant provision xenserver`)"


def test_domzero_key_authorised_for_root(dom0, ctx):
    pub = ctx["xenserver"]["domzero_pubkey"].split()[1]
    assert pub in dom0["authorized_keys"], \
        "the DOMZERO user's key is not in dom0 root's authorized_keys: run `invoke wire`"


def test_xenapi_facts_over_the_network(ctx, password):
    """What Nova's client sees: login, the pool's default SR, the management PIF."""
    import XenAPI

    url = ctx["xenserver"]["url_here"]  # the lab's own URL, or a tunnel to it (a remote libvirt host)
    session = XenAPI.Session(url)
    try:
        session.xenapi.login_with_password(ctx["xenserver"]["user"], password, "2.1", "xenlab-verify")
    except XenAPI.Failure as exc:
        pytest.fail(f"XenAPI login at {url} refused ({exc.details[0]}): check the lab password", pytrace=False)
    except OSError as exc:
        pytest.fail(f"XenAPI at {url} unreachable ({exc}): is the xenserver machine up?", pytrace=False)
    try:
        x = session.xenapi
        pool = x.pool.get_all()[0]
        sr_type = x.SR.get_type(x.pool.get_default_SR(pool))
        assert sr_type == "ext", f"the pool's default SR is {sr_type!r}, not 'ext' (thin): reinstall with sr-type=ext"
        ips = [r["IP"] for r in x.PIF.get_all_records().values() if r["management"]]
        assert ctx["xenserver"]["ip"] in ips, f"XAPI's management PIF has {ips}, not {ctx['xenserver']['ip']}: " \
                                              "re-run the xenserver provisioning"
    finally:
        session.xenapi.session.logout()
