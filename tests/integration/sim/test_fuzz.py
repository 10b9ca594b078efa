"""Fuzz of the simulator over real HTTP on 127.0.0.1: malformed XML-RPC, wrong types,
deep nesting, big bodies, lying lengths, many idle connections.

Every request must get an HTTP answer (200 with a XenAPI envelope, or XAPI's error
page with `Connection: close`): a connection closed without an answer fails the
test. The simulator runs as its own process (as in the stand-in), and its resident
memory may grow by at most MEMORY_BOUND over the whole module.
"""

from __future__ import annotations

import socket
import xmlrpc.client

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.prereq import require_tool
from tests.support.simproc import SimProcess
from xenlab.sim import server as server_mod

PASSWORD = "fuzz-pw"
MEMORY_BOUND_KIB = 48 * 1024  # the stated bound on growth over every test here
EXAMPLES = 150
CALLS = ["session.login_with_password", "host.get_record", "VM.set_other_config", "VM.get_all_records_where",
         "host.call_plugin", "PIF.reconfigure_ip", "SR.create", "pool.set_default_SR", "VM.add_to_other_config",
         "session.logout", "host.set_hostname_live", "PIF.scan", "SR.scan", "VM.get_record"]


class Dropped(AssertionError):
    """The server closed the connection without an HTTP answer."""


def exchange(port: int, raw: bytes, timeout: float = 30) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        try:
            conn.sendall(raw)
        except OSError:
            pass  # the server may answer (and close) before reading a big body
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 "):
        raise Dropped(f"no HTTP answer to {raw[:120]!r}: {data[:200]!r}")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def post(port: int, body: bytes, path: str = "/", extra: str = "") -> tuple[int, dict, bytes]:
    raw = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
           ).encode() + body
    return exchange(port, raw)


def call(port: int, method: str, *params) -> dict:
    status, _, body = post(port, xmlrpc.client.dumps(params, method, allow_none=True).encode())
    assert status == 200
    return xmlrpc.client.loads(body)[0][0]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    require_tool("python3")
    with SimProcess(tmp_path_factory.mktemp("fuzz"), password=PASSWORD) as running:
        running.port = int(running.url.rsplit(":", 1)[1].strip("/"))
        session = call(running.port, "session.login_with_password", "root", PASSWORD, "2.1", "fuzz")["Value"]
        host = call(running.port, "host.get_all", session)["Value"][0]
        vm = call(running.port, "VM.get_all", session)["Value"][0]
        running.session, running.host, running.vm = session, host, vm
        for _ in range(20):  # warm up, then measure from here
            call(running.port, "host.get_record", session, host)
        running.baseline = running.rss_kib()
        yield running
        growth = running.rss_kib() - running.baseline
        print(f"\nsimulator resident memory: {running.baseline} KiB after warm-up, grew {growth} KiB "
              f"(bound {MEMORY_BOUND_KIB} KiB)")
        assert growth < MEMORY_BOUND_KIB, f"resident memory grew by {growth} KiB"


# ------------------------------------------------------------------ strategies

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**31, 2**31 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                    st.sampled_from(["OpaqueRef:NULL", "OpaqueRef:x", "HOST", "VM", "SESSION"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=20)
method_names = st.one_of(st.sampled_from(CALLS), st.text(min_size=0, max_size=60))


def resolve(sim, value):
    if isinstance(value, str):
        return {"HOST": sim.host, "VM": sim.vm, "SESSION": sim.session}.get(value, value)
    if isinstance(value, list):
        return [resolve(sim, v) for v in value]
    if isinstance(value, dict):
        return {k: resolve(sim, v) for k, v in value.items()}
    return value


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=method_names, params=st.lists(values, max_size=6), with_session=st.booleans())
def test_any_call_gets_an_envelope(sim, method, params, with_session):
    params = [resolve(sim, p) for p in params]
    if with_session:
        params = [sim.session, *params]
    if method == "session.logout":
        params = params[1:]  # keep the shared session alive
    try:
        body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()
    except (ValueError, TypeError):
        return  # not expressible in XML-RPC
    status, headers, answer = post(sim.port, body)
    if status == 200:
        envelope = xmlrpc.client.loads(answer)[0][0]
        assert envelope["Status"] in ("Success", "Failure")
        if envelope["Status"] == "Failure":
            assert all(isinstance(d, str) for d in envelope["ErrorDescription"])
    else:
        # XML that is not XML-RPC (e.g. a method name with characters XML cannot hold): XAPI's page
        assert status == 500 and headers.get("Connection") == "close"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode)),
       cut=st.integers(min_value=0, max_value=400))
def test_malformed_bodies_get_xapis_error_page(sim, junk, cut):
    valid = xmlrpc.client.dumps((sim.session, sim.host), "host.get_record").encode()
    for body in (junk, valid[:cut], valid[:cut] + junk):
        status, headers, _ = post(sim.port, body)
        assert status in (200, 500)
        if status == 500:
            assert headers.get("Connection") == "close"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.binary(max_size=300), header=st.binary(max_size=300))
def test_malformed_request_heads_are_answered(sim, line, header):
    status, _, _ = exchange(sim.port, line.replace(b"\n", b"") + b"\r\n" + header.replace(b"\n", b"") +
                            b"\r\n\r\n")
    assert 200 <= status < 600


def nested_call(method: str, leading: list[str], opener: str, closer: str, depth: int = 3000) -> bytes:
    """XML-RPC text by hand: xmlrpc.client itself cannot marshal 3000 levels."""
    params = "".join(f"<param><value><string>{p}</string></value></param>" for p in leading)
    deep = opener * depth + "<value><string>x</string></value>" + closer * depth
    return (f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>{params}"
            f"<param>{deep}</param></params></methodCall>").encode()


def envelope_of(sim, body: bytes) -> dict:
    status, _, answer = post(sim.port, body)
    assert status == 200
    return xmlrpc.client.loads(answer)[0][0]


def test_a_value_nested_3000_deep_leaves_records_readable(sim):
    struct = nested_call("VM.set_other_config", [sim.session, sim.vm],
                         "<value><struct><member><name>a</name>", "</member></struct></value>")
    assert envelope_of(sim, struct)["ErrorDescription"][0] == "INTERNAL_ERROR"
    array = nested_call("VM.get_record", [sim.session], "<value><array><data>", "</data></array></value>")
    assert envelope_of(sim, array)["ErrorDescription"][0] == "INTERNAL_ERROR"
    assert call(sim.port, "VM.get_record", sim.session, sim.vm)["Status"] == "Success"
    assert call(sim.port, "VM.get_all_records", sim.session)["Status"] == "Success"


def test_bodies_over_xapis_limit_are_refused_before_they_are_read(sim):
    status, headers, body = post(sim.port, b"x" * (server_mod.MAX_BODY + 1))
    assert status == 500 and headers["Connection"] == "close" and b"Client_requested_size_over_limit" in body
    status, _, _ = exchange(sim.port, b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n")
    assert status == 500


def test_a_missing_length_and_oversized_headers(sim):
    assert exchange(sim.port, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 500
    assert exchange(sim.port, b"POST / HTTP/1.1\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")[0] == 431


def test_a_lying_content_length_times_out_with_an_answer(sim):
    status, headers, _ = exchange(sim.port, b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n<?xml",
                                  timeout=server_mod.READ_TIMEOUT + 20)
    assert status == 408 and headers["Connection"] == "close"


def test_many_idle_connections_do_not_starve_real_clients(sim):
    idle = []
    try:
        for _ in range(200):
            idle.append(socket.create_connection(("127.0.0.1", sim.port), timeout=5))
        for _ in range(20):
            assert call(sim.port, "host.get_record", sim.session, sim.host)["Status"] == "Success"
    finally:
        for conn in idle:
            conn.close()


def test_invented_method_names_do_not_grow_memory(sim):
    before = sim.rss_kib()
    name = "x" * (250 * 1024)
    for i in range(70):
        for session in (sim.session, "OpaqueRef:nobody"):
            answer = call(sim.port, f"{i}{name}", session)
            assert answer["ErrorDescription"][0] in ("MESSAGE_METHOD_UNKNOWN", "SESSION_INVALID")
    assert sim.rss_kib() - before < 16 * 1024


def test_a_login_flood_stays_bounded(sim):
    before = sim.rss_kib()
    for i in range(2000):
        call(sim.port, "session.login_with_password", "root", PASSWORD, "2.1", f"flood-{i}")
    assert sim.rss_kib() - before < 24 * 1024
    assert call(sim.port, "host.get_record", sim.session, sim.host)["Status"] == "Success"


def test_keep_alive_connections_serve_request_after_request(sim):
    body = xmlrpc.client.dumps((sim.session, sim.host), "host.get_uuid").encode()
    request = (f"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as conn:
        for _ in range(3):
            conn.sendall(request)
            data = b""
            while b"</methodResponse>" not in data:
                chunk = conn.recv(65536)
                assert chunk, "connection dropped"
                data += chunk
            assert data.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" not in data


def test_the_listen_backlog_is_xapis(sim):
    require_tool("ss")
    import subprocess

    out = subprocess.run(["ss", "-ltnH", f"sport = :{sim.port}"], capture_output=True, text=True,
                         timeout=10).stdout.split()
    assert out and int(out[2]) == server_mod.LISTEN_BACKLOG  # Send-Q of a listener: its backlog


def test_a_client_that_never_speaks_gets_408_after_the_read_timeout(sim):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=server_mod.READ_TIMEOUT + 20) as conn:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 408 Request Timeout")
