"""A loopback image service speaking the part of Glance's v2 API that Nova 21's image API
(python-glanceclient 3.1.2) and os-xenapi's glance.py plugin use: list, show, create and
update images, download and upload their data. It stands in for Glance in tests until
the lab's real Glance (packaged on its own branch) can be run here; it keeps Glance's
answers as glance/api/v2/images.py and image_data.py give them (status queued -> active
on upload, size and md5 checksum of the data, Content-MD5 on download, 204 on upload,
404 for an unknown image, 409 for data on an image that is not queued).

    with GlanceDouble("127.0.0.1", 9292) as glance:
        image = glance.add_image("lab-image", tarball_bytes, disk_format="vhd", container_format="ovf")
        glance.requests  # [(method, path, headers)] of every request served
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A permissive image schema (glance/api/v2/images.py get_schema gives every property's type;
# warlock only needs to accept what the service sends).
SCHEMA = {"name": "image", "additionalProperties": {"type": "string"}, "links": [],
          "properties": {"id": {"type": "string"}, "name": {"type": ["null", "string"]},
                         "status": {"type": "string"}, "visibility": {"type": "string"},
                         "tags": {"type": "array", "items": {"type": "string"}},
                         "size": {"type": ["null", "integer"]}, "virtual_size": {"type": ["null", "integer"]},
                         "checksum": {"type": ["null", "string"]}, "container_format": {"type": ["null", "string"]},
                         "disk_format": {"type": ["null", "string"]}, "min_ram": {"type": "integer"},
                         "min_disk": {"type": "integer"}, "protected": {"type": "boolean"},
                         "created_at": {"type": "string"}, "updated_at": {"type": "string"},
                         "owner": {"type": ["null", "string"]}, "file": {"type": "string"},
                         "self": {"type": "string"}, "schema": {"type": "string"},
                         "locations": {"type": "array"}, "direct_url": {"type": "string"}}}
CORE = set(SCHEMA["properties"])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class GlanceDouble:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.images: dict[str, dict] = {}
        self.data: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status: int, body=b"", ctype="application/json", headers=None):
                raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def _route(self, method: str):
                body = self._body() if method in ("POST", "PUT", "PATCH") else b""
                path = self.path.split("?", 1)[0].rstrip("/")
                with double.lock:
                    double.requests.append((method, self.path, dict(self.headers)))
                    return double.serve(self, method, path, body)

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PUT(self):
                self._route("PUT")

            def do_PATCH(self):
                self._route("PATCH")

            def do_DELETE(self):
                self._route("DELETE")

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "GlanceDouble":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    # ------------------------------------------------------------ the images

    def add_image(self, name: str, data: bytes | None = None, **fields) -> dict:
        image_id = str(uuid.uuid4())
        image = {"id": image_id, "name": name, "status": "queued", "visibility": "public", "tags": [],
                 "size": None, "virtual_size": None, "checksum": None, "container_format": None,
                 "disk_format": None, "min_ram": 0, "min_disk": 0, "protected": False, "owner": None,
                 "created_at": _now(), "updated_at": _now(), "self": f"/v2/images/{image_id}",
                 "file": f"/v2/images/{image_id}/file", "schema": "/v2/schemas/image", **fields}
        self.images[image_id] = image
        if data is not None:
            self._store(image_id, data)
        return image

    def _store(self, image_id: str, data: bytes) -> None:
        self.data[image_id] = data
        self.images[image_id].update(status="active", size=len(data), checksum=hashlib.md5(data).hexdigest(),
                                     updated_at=_now())

    def serve(self, handler, method: str, path: str, body: bytes):
        parts = [p for p in path.split("/") if p]
        if parts in (["v2", "schemas", "image"],):
            return handler._send(200, SCHEMA)
        if parts == ["v2", "images"] and method == "GET":
            return handler._send(200, {"images": list(self.images.values()), "first": "/v2/images",
                                       "schema": "/v2/schemas/images"})
        if parts == ["v2", "images"] and method == "POST":
            fields = json.loads(body or b"{}")
            image = self.add_image(fields.pop("name", None), **{k: v for k, v in fields.items() if k != "id"})
            return handler._send(201, image)
        if len(parts) >= 3 and parts[:2] == ["v2", "images"]:
            image = self.images.get(parts[2])
            if image is None:
                return handler._send(404, b"404 Not Found\n\nThe resource could not be found.\n", "text/plain")
            if len(parts) == 3 and method == "GET":
                return handler._send(200, image)
            if len(parts) == 3 and method == "PATCH":
                for change in json.loads(body or b"[]"):
                    key = change["path"].lstrip("/")
                    if change["op"] in ("add", "replace"):
                        image[key] = change["value"]
                    elif change["op"] == "remove":
                        image.pop(key, None)
                image["updated_at"] = _now()
                return handler._send(200, image)
            if len(parts) == 3 and method == "DELETE":
                self.images.pop(parts[2])
                self.data.pop(parts[2], None)
                return handler._send(204)
            if parts[3:] == ["file"] and method == "GET":
                if image["id"] not in self.data:
                    return handler._send(204)
                return handler._send(200, self.data[image["id"]], "application/octet-stream",
                                     {"Content-MD5": image["checksum"]})
            if parts[3:] == ["file"] and method == "PUT":
                if image["status"] != "queued":
                    return handler._send(409, b"409 Conflict\n\nImage status transition from active to saving "
                                              b"is not allowed\n", "text/plain")
                self._store(image["id"], body)
                return handler._send(204)
        return handler._send(404, b"404 Not Found\n", "text/plain")


def main(argv) -> int:
    """`python -m tests.integration.devstack.glance_double HOST PORT IMAGE_NAME TARBALL REQUESTS_JSON`:
    serve one active VHD image until SIGTERM, then write every request served (method, path,
    headers) to REQUESTS_JSON. For tests whose clients run in a network namespace of their own."""
    import signal
    import sys

    host, port, name, tarball, requests_file = argv
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with GlanceDouble(host, int(port)) as glance:
        with open(tarball, "rb") as fh:
            glance.add_image(name, fh.read(), disk_format="vhd", container_format="ovf")
        print(f"serving {glance.endpoint}", flush=True)
        stop.wait(3600)  # bounded: a test runs for minutes at most
        with glance.lock:
            out = {"requests": glance.requests, "images": glance.images,
                   "sizes": {k: len(v) for k, v in glance.data.items()}}
    with open(requests_file, "w") as fh:
        json.dump(out, fh)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
