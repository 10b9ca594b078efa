"""The HTTP side over a socket pair (no network): what a request gets back."""

import socket
import threading
import xmlrpc.client

import pytest

from xenlab.sim import server
from xenlab.sim.api import Api


class FakeServer:
    pass


@pytest.fixture
def api(tmp_path):
    return Api("root", "pw", tmp_path)


def exchange(api, raw: bytes, local=False) -> bytes:
    ours, theirs = socket.socketpair()
    handler = type("H", (server.Handler,), {"api": api, "local": local})
    thread = threading.Thread(target=handler, args=(ours, "peer", FakeServer()), daemon=True)
    thread.start()
    theirs.sendall(raw)
    theirs.shutdown(socket.SHUT_WR)
    thread.join(timeout=30)  # the handler ends at the end of input; the server would then close
    assert not thread.is_alive()
    ours.close()
    theirs.settimeout(30)
    data = b""
    while chunk := theirs.recv(65536):
        data += chunk
    theirs.close()
    return data


def rpc(method, *params) -> bytes:
    body = xmlrpc.client.dumps(params, method).encode()
    return b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def test_a_call_is_answered_with_an_envelope_and_the_connection_kept(api):
    data = exchange(api, rpc("session.login_with_password", "root", "pw"))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" not in head
    assert xmlrpc.client.loads(body)[0][0]["Status"] == "Success"


def test_two_calls_on_one_connection(api):
    data = exchange(api, rpc("session.login_with_password", "root", "pw") * 2)
    assert data.count(b"HTTP/1.1 200 OK") == 2


@pytest.mark.parametrize("raw, status", [
    (b"POST / HTTP/1.1\r\n\r\n", b"500"),  # no Content-Length
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", b"500"),  # not XML-RPC
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"500"),  # over http_limit_max_rpc_size
    (b"POST / HTTP/1.1\r\nX: " + b"a" * 1100 + b"\r\n\r\n", b"431"),  # over max_header_length_tcp
    (b"garbage\r\n\r\n", b"400"),
    (b"PUT / HTTP/1.1\r\n\r\n", b"501"),
    (b"GET /nope HTTP/1.1\r\n\r\n", b"404"),
])
def test_bad_requests_get_xapis_pages_and_a_closed_connection(api, raw, status):
    data = exchange(api, raw)
    assert data.startswith(b"HTTP/1.1 " + status)
    assert b"Connection: close" in data.split(b"\r\n\r\n")[0]


def test_the_banner_says_it_is_a_stand_in(api):
    assert b"a stand-in, not XenServer" in exchange(api, b"GET / HTTP/1.0\r\n\r\n")


def test_cli_runs_only_for_local_clients(api):
    body = b'{"argv": ["host-list", "--minimal"]}'
    request = b"POST /cli HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert exchange(api, request).startswith(b"HTTP/1.1 404")
    answer = exchange(api, request, local=True)
    assert answer.startswith(b"HTTP/1.1 200") and b'"code": 0' in answer
    bad = b"POST /cli HTTP/1.0\r\nContent-Length: 7\r\n\r\n{nope}!"
    assert b'"code": 1' in exchange(api, bad, local=True)


def test_limits_are_xapis():
    assert (server.LISTEN_BACKLOG, server.MAX_HEADER_LENGTH, server.READ_TIMEOUT, server.REQUEST_TIMEOUT,
            server.MAX_BODY) == (128, 1024, 10.0, 60.0, 300 * 1024)
    assert server.TCPServer.request_queue_size == 128
    # xapi_globs.ml conn_limit_tcp, conn_limit_unix
    assert (server.TCPServer.max_connections, server.UnixServer.max_connections) == (800, 1024)


def read_answer(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def test_a_body_over_the_limit_gets_xapi_s_answer_and_the_client_reads_it(api):
    """issue 20: a client still sending its body got a 500 and a reset (a broken pipe)."""
    body = b"x" * (8 * 2**20)  # more than loopback's socket buffers hold: the server must read it
    with server.Running(api) as sim, socket.create_connection(sim.server.server_address, timeout=30) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        head, _, page = read_answer(conn).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Error") and b"Connection: close" in head
    assert b"Client_requested_size_over_limit" in page


def test_past_the_connection_bound_a_new_client_is_answered_at_once(api, monkeypatch):
    """issue 20: past its bound a new client sat in the listen backlog until a connection ended."""
    monkeypatch.setattr(server.TCPServer, "max_connections", 3)
    with server.Running(api) as sim:
        idle = [socket.create_connection(sim.server.server_address, timeout=5) for _ in range(3)]
        try:
            # The three hold every slot for READ_TIMEOUT (10 s); this one's answer comes well within 5 s.
            with socket.create_connection(sim.server.server_address, timeout=5) as conn:
                conn.sendall(rpc("session.login_with_password", "root", "pw"))
                head, _, page = read_answer(conn).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 Service Unavailable") and b"Connection: close" in head
            assert b"try again" in page
        finally:
            for conn in idle:
                conn.close()
        # Their slots come back as they close: calls are served again.
        proxy = xmlrpc.client.ServerProxy(sim.url)
        for _ in range(50):
            try:
                assert proxy.session.login_with_password("root", "pw")["Status"] == "Success"
                break
            except (xmlrpc.client.ProtocolError, OSError):
                threading.Event().wait(0.1)
        else:
            raise AssertionError("no slot came back")
