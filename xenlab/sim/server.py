"""XML-RPC over HTTP, as XAPI serves it: POST on `/` and on `/RPC2`.

Clients differ: the SDK posts to the URL's path (`http://host/` -> `/`), while
xmlrpc.client turns a URL without a path into `/RPC2`. Both must work.
"""

from __future__ import annotations

import signal
import sys
import threading
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import BRAND
from .api import Api, failure

RPC_PATHS = ("/", "/RPC2")
MAX_BODY = 16 * 1024 * 1024
BANNER = f"xenlab XenAPI simulator ({BRAND}: a stand-in, not XenServer)\n"


class Handler(BaseHTTPRequestHandler):
    server_version = "xenlab-sim"
    api: Api  # set on the subclass made by make_server
    verbose = False

    def do_POST(self):
        if self.path not in RPC_PATHS:
            return self._reply(404, b"not found\n", "text/plain")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._reply(411, b"Content-Length required\n", "text/plain")
        if not 0 <= length <= MAX_BODY:
            return self._reply(413, b"request too large\n", "text/plain")
        body = self.rfile.read(length)
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=False)
        except Exception:
            envelope = failure(["XMLRPC_UNMARSHAL_FAILURE", "request is not XML-RPC"])
        else:
            envelope = self.api.dispatch(method or "", params)
        out = xmlrpc.client.dumps((envelope,), methodresponse=True, allow_none=True)
        self._reply(200, out.encode(), "text/xml")

    def do_GET(self):
        if self.path != "/":
            return self._reply(404, b"not found\n", "text/plain")
        self._reply(200, BANNER.encode(), "text/plain")

    def _reply(self, code: int, body: bytes, ctype: str):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("xenlab-sim: %s %s\n" % (self.address_string(), fmt % args))


def make_server(api: Api, bind: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> ThreadingHTTPServer:
    """A server bound and listening (port 0: any free port; see server_address)."""
    handler = type("BoundHandler", (Handler,), {"api": api, "verbose": verbose})
    server = ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    return server


class Running:
    """A simulator serving in a background thread: `with Running(api) as sim: sim.url`."""

    def __init__(self, api: Api, bind: str = "127.0.0.1", port: int = 0):
        self.api = api
        self.server = make_server(api, bind, port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> "Running":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve_until_stopped(server: ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C or SIGTERM (systemd's stop), then close the socket."""
    # serve_forever must be ended from another thread than the one it runs in.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
