"""The XenServer host (or its stand-in): what Nova's independent compute needs from dom0."""

import shlex

import pytest

# A login with a wrong password must be refused by XAPI itself: proves it answers
# on port 80 without needing the secret on the host's command line. bash and
# coreutils only: XCP-ng 8.2's dom0 has no python3, and the stand-in's python3 is a
# shim that records every call.
LOGIN = ("<?xml version='1.0'?><methodCall><methodName>session.login_with_password</methodName><params>"
         "<param><value><string>root</string></value></param>"
         "<param><value><string>not-the-password</string></value></param></params></methodCall>")
XAPI_PROBE = (
    "body=" + shlex.quote(LOGIN) + "; exec 3<>/dev/tcp/127.0.0.1/80 && "
    "printf 'POST / HTTP/1.0\\r\\nContent-Type: text/xml\\r\\nContent-Length: %d\\r\\n\\r\\n%s' "
    "\"${#body}\" \"$body\" >&3 && timeout 20 cat <&3"
)


def test_xapi_answers_on_port_80(host):
    out = host.run(f"bash -c {shlex.quote(XAPI_PROBE)}")
    assert out.rc == 0, f"XAPI does not answer on http://127.0.0.1/ in dom0 ({out.stderr.strip()}): " \
                        "start xapi (systemctl restart xapi)"
    assert "Failure" in out.stdout and "SESSION_AUTHENTICATION_FAILED" in out.stdout, \
        f"XAPI answered {out.stdout.strip()[-300:]!r} to a wrong password; expected SESSION_AUTHENTICATION_FAILED"


@pytest.fixture(scope="module")
def plugin_dir(host, ctx):
    found = next((d for d in ctx["xenserver"]["plugin_dirs"] if host.file(d).is_directory), None)
    assert found, f"no XAPI plugin directory in dom0 (looked in {', '.join(ctx['xenserver']['plugin_dirs'])})"
    return found


def test_dom0_plugins_installed_and_executable(host, ctx, plugin_dir):
    missing, not_exec = [], []
    for name in ctx["xenserver"]["plugins"]:
        f = host.file(f"{plugin_dir}/{name}")
        if not f.exists:
            missing.append(name)
        elif not f.mode & 0o111:
            not_exec.append(name)
    assert not missing, f"os-xenapi dom0 plugins missing in {plugin_dir}: {', '.join(missing)}: run `invoke wire`"
    assert not not_exec, f"dom0 plugins not executable in {plugin_dir}: {', '.join(not_exec)}: " \
                         "run `invoke wire --force`"


def test_dom0_plugin_version_matches_release(host, ctx, plugin_dir):
    f = host.file(f"{plugin_dir}/dom0_plugin_version.py")
    want = ctx["xenserver"]["plugin_version"]
    assert f.exists, "dom0_plugin_version.py missing: run `invoke wire`"
    assert f'PLUGIN_VERSION = "{want}"' in f.content_string, \
        f"dom0 plugins are not version {want} (os-xenapi {ctx['xenserver']['os_xenapi_version']}): " \
        "run `invoke wire --force`"


@pytest.mark.parametrize("proto, port", [("tcp", 6640), ("udp", 4789)])
def test_firewall_open_for_ovsdb_and_vxlan(host, proto, port):
    rules = host.run("iptables -S").stdout
    ok = any(f"-p {proto}" in r and f"--dport {port}" in r and "ACCEPT" in r for r in rules.splitlines())
    assert ok, f"iptables has no ACCEPT rule for {proto}/{port} in dom0: run `invoke wire`"


@pytest.mark.parametrize("path", ["/images", "/boot/guest"])
def test_image_directories(host, path):
    assert host.file(path).exists, f"{path} missing in dom0 (os-xenapi stores images there): run `invoke wire`"


def test_management_address(host, ctx):
    want = ctx["xenserver"]["ip"]
    addrs = host.run("ip -4 -o addr show").stdout
    assert f" {want}/" in addrs, f"dom0 does not hold the lab's management address {want}: " \
                                 "re-run the xenserver provisioning (`vagrant provision xenserver`)"


def test_domzero_key_authorised_for_root(host, ctx):
    keys = host.file("/root/.ssh/authorized_keys")
    pub = ctx["xenserver"]["domzero_pubkey"].split()[1]
    assert keys.exists and pub in keys.content_string, \
        "the DOMZERO user's key is not in dom0 root's authorized_keys: run `invoke wire`"


def test_xenapi_facts_over_the_network(ctx, password):
    """What Nova's client sees: login, the pool's default SR, the management PIF."""
    import XenAPI

    url = ctx["xenserver"]["url"]
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
