"""The official XenAPI SDK against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pickle
import shutil
import xmlrpc.client

import pytest
import XenAPI

from xenlab.core.paths import PROJECT_DIR
from xenlab.xenserver import xapi
from xenlab.errors import AuthError, HostError, UnsupportedHost
from xenlab.sim.api import Api
from xenlab.sim.server import Running

PASSWORD = "s3cret<&\"'$#"
VERSION_PLUGIN = "#!/usr/bin/env python\nPLUGIN_VERSION = \"{v}\"\n"


@pytest.fixture
def plugin_dir(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    return d


@pytest.fixture
def sim(plugin_dir):
    with Running(Api("root", PASSWORD, plugin_dir)) as running:
        yield running


def install(plugin_dir, version="2.1", mode=0o755):
    path = plugin_dir / "dom0_plugin_version.py"
    path.write_text(VERSION_PLUGIN.format(v=version))
    path.chmod(mode)


def session(url):
    s = XenAPI.Session(url)
    s.login_with_password("root", PASSWORD, "2.1", "test")
    return s


def test_login_and_nova_start_up_sequence(sim, plugin_dir):
    install(plugin_dir)
    s = session(sim.url)
    x = s.xenapi
    pool = x.pool.get_all()[0]
    master = x.pool.get_master(pool)
    assert (x.host.get_API_version_major(master), x.host.get_API_version_minor(master)) == ("2", "21")
    assert x.session.get_this_host(s.handle) == master
    sv = x.host.get_software_version(master)
    assert sv["product_brand"] == "xenlab-standin" and "XenServer" not in sv["product_brand"]
    assert {"product_version", "platform_version"} <= set(sv)
    uuid = x.host.get_uuid(master)
    params = pickle.dumps({"args": (), "kwargs": {}}, protocol=0).decode()
    answer = x.host.call_plugin(master, "dom0_plugin_version.py", "get_version",
                                {"params": params, "host_uuid": uuid})
    assert answer == "S'2.1'\np0\n."
    ip = x.host.get_address(master)
    assert list(x.PIF.get_all_records_where(f'field "IP"="{ip}"').values())[0]["management"] is True
    x.logout()


def test_both_rpc_paths_and_int64_as_strings(sim):
    for url in (sim.url, sim.url.rstrip("/")):  # "/" and, through xmlrpc.client, "/RPC2"
        proxy = xmlrpc.client.ServerProxy(url)
        ref = proxy.session.login_with_password("root", PASSWORD)["Value"]
        sr = proxy.pool.get_default_SR(ref, proxy.pool.get_all(ref)["Value"][0])["Value"]
        size = proxy.SR.get_physical_size(ref, sr)
        assert size["Status"] == "Success" and isinstance(size["Value"], str) and size["Value"].isdigit()
        assert proxy.SR.get_type(ref, sr)["Value"] == "ext"


def test_wrong_password_is_authentication_failed(sim):
    s = XenAPI.Session(sim.url)
    with pytest.raises(XenAPI.Failure) as exc:
        s.login_with_password("root", "wrong", "2.1", "test")
    assert exc.value.details[0] == "SESSION_AUTHENTICATION_FAILED"
    with pytest.raises(AuthError):
        xapi.login(sim.url, "root", "wrong", timeout=2, attempts=3, delay=0)


def test_expired_session(sim):
    raw = xmlrpc.client.ServerProxy(sim.url)
    ref = raw.session.login_with_password("root", PASSWORD)["Value"]
    s = session(sim.url)
    assert sim.api.expire_sessions() == 2
    assert raw.pool.get_all(ref)["ErrorDescription"] == ["SESSION_INVALID", ref]
    # The SDK logs in again on SESSION_INVALID, as Nova's client relies on.
    assert len(s.xenapi.pool.get_all()) == 1


def test_handle_invalid_unknown_method_and_arity(sim):
    x = session(sim.url).xenapi
    for call, code in ((lambda: x.VM.get_record("OpaqueRef:nope"), ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]),
                       (lambda: x.VM.frobnicate(), ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]),
                       (lambda: x.VM.get_record(), ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "1", "0"]),
                       (lambda: x.SR.get_by_uuid("nope"), ["UUID_INVALID", "SR", "nope"])):
        with pytest.raises(XenAPI.Failure) as exc:
            call()
        assert exc.value.details == code


def test_plugin_present_absent_not_executable_wrong_version(sim, plugin_dir):
    s = session(sim.url)
    f = xapi.facts(s, sim.url)
    with pytest.raises(HostError, match="XENAPI_MISSING_PLUGIN"):
        xapi.plugin_version(s, f)
    install(plugin_dir, mode=0o644)
    with pytest.raises(HostError, match="XENAPI_PLUGIN_FAILURE"):
        xapi.plugin_version(s, f)
    install(plugin_dir, "1.8")
    assert xapi.plugin_version(s, f) == "1.8" and not xapi.compatible("2.1", "1.8")
    install(plugin_dir, "2.1")
    assert xapi.plugin_version(s, f) == "2.1" and xapi.compatible("2.1", "2.1")


def test_facts_and_refusal_of_a_host_without_ext_sr(sim):
    s = session(sim.url)
    f = xapi.facts(s, sim.url)
    assert (f.default_sr_type, f.product_version, f.management_ip) == ("ext", "8.3.0", "127.0.0.1")
    xapi.check_supported(f)
    sr = sim.api.refs["sr"]
    sim.api.store.record("SR", sr)["type"] = "lvm"
    with pytest.raises(UnsupportedHost, match="not 'ext'"):
        xapi.check_supported(xapi.facts(s, sim.url))


def test_unreachable_and_stalling_hosts_fail_bounded(tmp_path):
    import socket
    import time

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(HostError, match="connection refused.*tried 2 times"):
        xapi.login(f"http://127.0.0.1:{port}/", "root", PASSWORD, timeout=1, attempts=2, delay=0)
    with socket.socket() as stall:
        stall.bind(("127.0.0.1", 0))
        stall.listen(8)
        started = time.monotonic()
        with pytest.raises(HostError, match="no answer in time.*tried 2 times"):
            xapi.login(f"http://127.0.0.1:{stall.getsockname()[1]}/", "root", PASSWORD,
                       timeout=1, attempts=2, delay=0)
        assert time.monotonic() - started < 30  # bounded, not a timing goal


def test_sim_cli_runs_on_plain_python3(tmp_path, plugin_dir):
    """The stand-in runs `python3 -m xenlab.sim` with Debian's python3 and no venv."""
    import subprocess
    from tests.support.prereq import require_tool

    require_tool("python3")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    project = str(PROJECT_DIR)
    p = subprocess.Popen([shutil.which("python3"), "-S", "-m", "xenlab.sim", "--bind", "127.0.0.1", "--port", "0",
                          "--password-file", str(pw), "--plugin-dir", str(plugin_dir), "--pool-size", "3"],
                         cwd=project, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert "a stand-in, not XenServer" in line and "3 host(s)" in line
        url = line.split("listening on ")[1].split()[0]
        assert len(session(url).xenapi.host.get_all()) == 3
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0
