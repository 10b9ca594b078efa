"""XML-RPC over HTTP, as XAPI serves it: POST on `/` and on `/RPC2`, over TCP and
over a local Unix socket (where `POST /cli` also runs xe commands).

Limits, as xapi-project/xen-api ocaml/libs/http-lib/http_svr.ml and
ocaml/xapi/xapi_globs.ml give them: a listen backlog of 128; request headers of at
most max_header_length_tcp (1024) bytes (431 beyond); header_read_timeout_tcp
(10 s) per read and header_total_timeout_tcp (60 s) per request (408); a body of at
most http_limit_max_rpc_size (300 KiB, ocaml/xapi-consts/constants.ml; api_server.ml
reads it with Http_svr.read_body ~limit) and a Content-Length always (500 with XAPI's
page otherwise, as for XML that does not parse); conn_limit_tcp (800) connections
served at once, conn_limit_unix (1024) on the local socket. Unlike XAPI, the
simulator also bounds the body read (a Content-Length that lies gets 408 after 10 s)
and an idle kept-alive connection (closed after IDLE_TIMEOUT), so neither many idle
clients nor a lying one can hold its memory or threads.

Two answers XAPI gives in a way its client cannot read, the simulator gives so that
it can, keeping XAPI's status and page:
- A body over the limit: XAPI answers 500 (Client_requested_size_over_limit, with
  Connection: close) before reading the body, then closes (http_svr.ml read_body,
  handle_one). A close with the body unread resets the connection, and a client
  still sending gets a broken pipe, not the answer. The simulator answers the same,
  then reads and drops the body (at most DRAIN_LIMIT bytes, within READ_TIMEOUT).
- Past the connection bound, XAPI stops accepting (server_io.ml establish_server:
  "Block ... on accept because the server is busy"): a new client sits in the listen
  backlog until a connection ends, for seconds or for good. The simulator accepts it
  and answers at once: 503 with Connection: close (a page in XAPI's style).

Clients differ: the SDK posts to the URL's path (`http://host/` -> `/`), while
xmlrpc.client turns a URL without a path into `/RPC2`. Both must work.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path

from . import BRAND
from .api import Api, failure

RPC_PATHS = ("/", "/RPC2")
CLI_PATH = "/cli"
LISTEN_BACKLOG = 128  # http_svr.ml bind ~listen_backlog
MAX_HEADER_LENGTH = 1024  # xapi_globs.ml max_header_length_tcp
READ_TIMEOUT = 10.0  # xapi_globs.ml header_read_timeout_tcp
REQUEST_TIMEOUT = 60.0  # xapi_globs.ml header_total_timeout_tcp
MAX_BODY = 300 * 1024  # constants.ml http_limit_max_rpc_size
IDLE_TIMEOUT = 120.0
MAX_CONNECTIONS = 800  # xapi_globs.ml conn_limit_tcp
MAX_UNIX_CONNECTIONS = 1024  # xapi_globs.ml conn_limit_unix
DRAIN_LIMIT = 16 * 2**20  # what the simulator reads and drops of a body over MAX_BODY
MAX_REFUSING = 32  # busy answers being given at once; past these, a new client is closed at once
BANNER = f"xenlab XenAPI simulator ({BRAND}: a stand-in, not XenServer)\n"

# http_svr.ml response_internal_error, response_request_timeout, ...: XAPI's pages.
INTERNAL_ERROR_PAGE = ("<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait "
                       "a while and try again. If the problem persists, please contact your support "
                       "representative.<h1> Additional information </h1>{}</body></html>")
TIMEOUT_PAGE = "<html><body><h1>HTTP 408 request timeout</h1>Timed out waiting for the request.</body></html>"
TOO_LARGE_PAGE = ("<html><body><h1>HTTP 431 request header fields too large</h1>Exceeded the maximum header "
                  "size.</body></html>")
BAD_REQUEST_PAGE = ("<html><body><h1>HTTP 400 bad request</h1>The HTTP request was malformed. Please correct "
                    "and retry.</body></html>")
BUSY_PAGE = ("<html><body><h1>HTTP 503 service unavailable</h1>The server is serving as many connections as it "
             "takes; please wait a while and try again.</body></html>")


class _Closed(Exception):
    """The client went away (or timed out) while we read its request."""


class _Respond(Exception):
    """Answer with this status and page, then close the connection (after dropping up to
    `unread` bytes the client still sends, so that it reads the answer)."""

    def __init__(self, status: str, page: str, unread: int = 0):
        super().__init__(status)
        self.status, self.page, self.unread = status, page, unread


def _response(status: str, body: bytes, ctype: str, close: bool) -> bytes:
    head = f"HTTP/1.1 {status}\r\nServer: xenlab-sim\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n" if close else "\r\n"
    return head.encode("latin-1") + body


def _answer_and_close(sock: socket.socket, answer: bytes, unread: int, read=None) -> None:
    """Send the answer, end our side, then read and drop at most `unread` bytes within
    READ_TIMEOUT before the caller closes: a close with unread data resets the connection,
    and a client still sending its request would get the reset instead of the answer."""
    deadline = time.monotonic() + READ_TIMEOUT
    try:
        sock.sendall(answer)
        sock.shutdown(socket.SHUT_WR)
        while unread > 0 and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = (read or sock.recv)(min(unread, 65536))
            if not chunk:
                return
            unread -= len(chunk)
    except OSError:
        pass


class Handler(socketserver.StreamRequestHandler):
    """One connection: requests served in turn while the client keeps it alive."""

    api: Api  # set on the subclass made by make_server
    verbose = False
    local = False  # a Unix-socket client: local root, and `POST /cli`
    timeout = READ_TIMEOUT  # StreamRequestHandler.setup() sets it on the socket

    def handle(self):
        first = True
        while True:
            self.connection.settimeout(READ_TIMEOUT if first else IDLE_TIMEOUT)
            watchdog = threading.Timer(REQUEST_TIMEOUT, self._abort)
            watchdog.daemon = True
            try:
                request = self._read_request(watchdog, first)
                if request is None:
                    return
                keep_alive = self._serve(*request)
            except _Respond as answer:
                _answer_and_close(self.connection, _response(answer.status, answer.page.encode(), "text/html", True),
                                  answer.unread, self.rfile.read1)
                return
            except (_Closed, OSError):
                return
            except Exception as exc:  # never a dropped connection for a bug of ours
                self._send("500 Internal Error", INTERNAL_ERROR_PAGE.format(type(exc).__name__).encode(),
                           "text/html", close=True)
                return
            finally:
                watchdog.cancel()
            if not keep_alive:
                return
            first = False

    def _abort(self):
        """The request took longer than REQUEST_TIMEOUT: end the reads it blocks in."""
        try:
            self.connection.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def _readline(self, budget: int) -> bytes:
        try:
            line = self.rfile.readline(budget + 1)
        except TimeoutError:
            raise _Respond("408 Request Timeout", TIMEOUT_PAGE) from None
        if len(line) > budget:
            raise _Respond("431 Request Header Fields Too Large", TOO_LARGE_PAGE)
        return line

    def _read_request(self, watchdog, first: bool):
        """(method, path, version, headers, body), or None when the client closed between requests."""
        try:
            line = self.rfile.readline(MAX_HEADER_LENGTH + 1)
        except TimeoutError:
            if first:  # http_svr.ml read_request: a header read timeout is answered 408
                raise _Respond("408 Request Timeout", TIMEOUT_PAGE) from None
            # An idle kept-alive connection is closed quietly: clients retry on a closed one.
            return None
        if not line:
            return None
        watchdog.start()
        used = len(line)
        if used > MAX_HEADER_LENGTH:
            raise _Respond("431 Request Header Fields Too Large", TOO_LARGE_PAGE)
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _Respond("400 Bad Request", BAD_REQUEST_PAGE)
        method, path, version = parts
        headers: dict[str, str] = {}
        while True:
            line = self._readline(MAX_HEADER_LENGTH - used)
            used += len(line)
            if not line:
                raise _Closed()
            if line in (b"\r\n", b"\n"):
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise _Respond("400 Bad Request", BAD_REQUEST_PAGE)
            headers[name.strip().lower()] = value.strip()
        body = b""
        if method == "POST":
            body = self._read_body(headers)
        return method, path, version, headers, body

    def _read_body(self, headers) -> bytes:
        length = headers.get("content-length")
        if length is None or not length.isdigit():
            raise _Respond("500 Internal Error", INTERNAL_ERROR_PAGE.format(
                "Failure(&quot;We require a content-length: HTTP header&quot;)"))
        if int(length) > MAX_BODY:  # answered before the body is read, as XAPI does; then the body is dropped
            raise _Respond("500 Internal Error", INTERNAL_ERROR_PAGE.format("Http_svr.Client_requested_size_over_limit"),
                           unread=min(int(length), DRAIN_LIMIT))
        try:
            body = self.rfile.read(int(length))
        except TimeoutError:
            raise _Respond("408 Request Timeout", TIMEOUT_PAGE) from None
        if len(body) < int(length):
            raise _Closed()
        return body

    def _serve(self, method, path, version, headers, body) -> bool:
        """Answer one request; returns whether the connection stays open."""
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        if method == "GET" and path == "/":
            self._send("200 OK", BANNER.encode(), "text/plain", close=not keep_alive)
        elif method == "POST" and path in RPC_PATHS:
            try:
                params, name = xmlrpc.client.loads(body, use_builtin_types=False)
            except Exception:  # XAPI: an unparseable call is an HTTP 500, and the connection ends
                raise _Respond("500 Internal Error", INTERNAL_ERROR_PAGE.format("Xmlrpc parse error")) from None
            envelope = self.api.dispatch(name or "", params, local=self.local)
            out = xmlrpc.client.dumps((envelope,), methodresponse=True, allow_none=True)
            self._send("200 OK", out.encode(), "text/xml", close=not keep_alive)
        elif method == "POST" and path == CLI_PATH and self.local:
            self._send("200 OK", self._cli(body), "application/json", close=True)
            return False
        elif method not in ("GET", "POST"):
            self._send("501 Not Implemented", b"not implemented\n", "text/plain", close=True)
            return False
        else:  # http_svr.ml response_missing: 404, and the connection ends
            self._send("404 Not Found", b"not found\n", "text/plain", close=True)
            return False
        if self.verbose:
            sys.stderr.write(f"xenlab-sim: {method} {path} {len(body)} bytes\n")
        return keep_alive

    def _cli(self, body: bytes) -> bytes:
        """An xe command line from the local client: {"argv": [...]} -> {"stdout", "stderr", "code"}."""
        from . import xe_server

        try:
            request = json.loads(body)
            argv = request["argv"]
            client_options = request.get("client_options", [])
            if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
                raise ValueError("argv must be a list of strings")
        except (ValueError, KeyError, TypeError) as exc:
            result = xe_server.Result("", f"Unexpected message from server: {exc}\n", 1)
        else:
            result = xe_server.run(self.api, argv, client_options=client_options, log_ignored=True)
        return json.dumps({"stdout": result.stdout, "stderr": result.stderr, "code": result.code}).encode()

    def _send(self, status: str, body: bytes, ctype: str, close: bool):
        try:
            self.wfile.write(_response(status, body, ctype, close))
            self.wfile.flush()
        except OSError:
            pass


class _Limited:
    """At most `max_connections` served at once; a new one past them is answered at once
    (503, Connection: close), not left in the listen backlog (see the module's docstring)."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    block_on_close = False
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args, **kwargs):
        self.slots = threading.BoundedSemaphore(self.max_connections)
        self.refusing = threading.BoundedSemaphore(MAX_REFUSING)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        if self.slots.acquire(blocking=False):
            super().process_request(request, client_address)
        elif self.refusing.acquire(blocking=False):
            threading.Thread(target=self._refuse, args=(request,), daemon=True).start()
        else:  # a flood of them: closed at once
            self.shutdown_request(request)

    def _refuse(self, request):
        try:
            busy = _response("503 Service Unavailable", BUSY_PAGE.encode(), "text/html", close=True)
            _answer_and_close(request, busy, MAX_HEADER_LENGTH + MAX_BODY)
        finally:
            self.shutdown_request(request)
            self.refusing.release()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class TCPServer(_Limited, socketserver.ThreadingTCPServer):
    allow_reuse_address = True


class UnixServer(_Limited, socketserver.ThreadingUnixStreamServer):
    max_connections = MAX_UNIX_CONNECTIONS


def make_server(api: Api, bind: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> TCPServer:
    """A server bound and listening (port 0: any free port; see server_address)."""
    handler = type("BoundHandler", (Handler,), {"api": api, "verbose": verbose})
    return TCPServer((bind, port), handler)


def make_unix_server(api: Api, path: str | Path, verbose: bool = False) -> UnixServer:
    """XAPI's local socket (/var/lib/xcp/xapi): root only (0600), local root without password, xe."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_socket():
        path.unlink()
    handler = type("BoundUnixHandler", (Handler,), {"api": api, "verbose": verbose, "local": True})
    old = os.umask(0o177)
    try:
        server = UnixServer(str(path), handler)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return server


class Running:
    """A simulator serving in background threads: `with Running(api) as sim: sim.url`."""

    def __init__(self, api: Api, bind: str = "127.0.0.1", port: int = 0, cli_socket: str | Path | None = None):
        self.api = api
        self.servers = [make_server(api, bind, port)]
        if cli_socket:
            self.servers.append(make_unix_server(api, cli_socket))
        self.server = self.servers[0]
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> "Running":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=10)


def serve_until_stopped(*servers) -> None:
    """Serve until Ctrl-C or SIGTERM (systemd's stop), then close the sockets."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
            if isinstance(server, UnixServer):
                Path(server.server_address).unlink(missing_ok=True)
