"""Glance on the stand-in's devstack machine, host side: how it is run there, and the
same thing on loopback here, for tests.

Glance 20.2.0 (Ussuri) runs from the probe's install tree (xenlab/devstack/probe.py:
one pinned set for Nova's probe and Glance) through vagrant/devstack/glance-service.py,
with SQLite and a file store, no Keystone (Glance's noauth pipeline). The lab's image
(xenlab/devstack/vhd.py) goes in the way DevStack's upload_image puts a .vhd.tgz in.

    cmds = glance.commands(tree, state_dir, host)        # Commands(db_sync=Run, api=Run)
    run = glance.upload_command(tree, glance.endpoint(host), image_file, record_json)

    with glance.LoopbackGlance(tmp_dir) as g:            # same commands, on 127.0.0.1
        record = g.upload(vhd.ensure())                  # {"id", "name", "checksum", ...}
        data = g.download(record["id"])                  # GET /v2/images/<id>/file
        since = g.mark()
        ...                                              # what sends Glance requests
        g.mark()
        g.requests(since)                                # [Request("GET", "/v2/images/<id>/file", 200), ...]

    # The same inside a network namespace (its own 127.0.0.1): every command, and every
    # request get() and download() make, starts with the prefix.
    with glance.LoopbackGlance(tmp_dir, tree=tree, prefix=["ip", "netns", "exec", "NAME"]) as g:
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

from ..core import proc
from ..core.paths import VAGRANT_SCRIPTS
from ..errors import HostError, ToolError
from . import probe, vhd

SCRIPT = VAGRANT_SCRIPTS / "devstack" / "glance-service.py"
PORT = 9292  # DevStack lib/glance GLANCE_SERVICE_PORT
SERVICE = "xenlab-glance-api.service"
# The image as DevStack's upload_image creates a .vhd.tgz one (devstack functions, ussuri-eol):
# public, container ovf, disk vhd, and vm_mode=xen, which it sets on its cirros VHD.
DISK_FORMAT, CONTAINER_FORMAT, VISIBILITY = "vhd", "ovf", "public"
PROPERTIES = {"vm_mode": "xen"}
# Bounds: a db sync and an API start under software emulation take a good minute each.
DB_SYNC_TIMEOUT = 600
START_TIMEOUT = 600
UPLOAD_TIMEOUT = 900
GET_TIMEOUT = 120
# Glance serves through eventlet.wsgi.server (glance/common/wsgi.py), which logs one line per
# request in its DEFAULT_LOG_FORMAT (eventlet/wsgi.py): `... "METHOD PATH HTTP/1.1" STATUS BYTES SECONDS`.
REQUEST_LINE = re.compile(r'\beventlet\.wsgi\.server\b.*"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) ')
MARK = "/versions?xenlab-mark="  # LoopbackGlance.mark's own requests
MARK_TIMEOUT = 30
# A GET run where the API listens (inside a prefix): the body to a file; an HTTP error fails the run.
FETCH = ("import sys, urllib.request\n"
         "with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[3])) as answer:\n"
         "    data = answer.read()\n"
         "with open(sys.argv[2], 'wb') as out:\n"
         "    out.write(data)\n")


@dataclass(frozen=True)
class Commands:
    db_sync: probe.Run
    api: probe.Run


def endpoint(host: str, port: int = PORT) -> str:
    return f"http://{host}:{port}"


def _run(tree, script, python, *args) -> probe.Run:
    return probe.Run([python, "-S", str(script), "--tree", str(tree), *map(str, args)], probe.guest_env())


def commands(tree: str | Path, state_dir: str | Path, host: str, port: int = PORT, script: str | Path = SCRIPT,
             python: str = probe.GUEST_PYTHON) -> Commands:
    """The database sync, then the API: DevStack's init_glance and start_glance, as the machine that runs them sees paths."""
    server = ("--state-dir", state_dir, "--bind", host, "--port", port)
    return Commands(_run(tree, script, python, "db-sync", *server), _run(tree, script, python, "api", *server))


def upload_command(tree: str | Path, url: str, image: str | Path, record: str | Path, script: str | Path = SCRIPT,
                   python: str = probe.GUEST_PYTHON, wait: float = START_TIMEOUT) -> probe.Run:
    """Upload `image` once (kept when already there), named as DevStack names a .vhd.tgz; its JSON goes to `record`."""
    properties = [arg for key, value in PROPERTIES.items() for arg in ("--property", f"{key}={value}")]
    return _run(tree, script, python, "upload", "--endpoint", url, "--file", image,
                "--name", vhd.image_name(Path(image).name), "--disk-format", DISK_FORMAT,
                "--container-format", CONTAINER_FORMAT, "--visibility", VISIBILITY, *properties,
                "--record", record, "--wait", int(wait))


class Request(NamedTuple):
    """One request Glance logged: method, path (with its query) and the status it answered."""
    method: str
    path: str
    status: int


def requests_in(lines: Sequence[str]) -> list[Request]:
    """The requests in glance-api's log lines, in the order it answered them."""
    return [Request(m[1], m[2], int(m[3])) for m in map(REQUEST_LINE.search, lines) if m]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackGlance:
    """Glance on 127.0.0.1 from the tree, started with the devstack machine's own commands.

    `state_dir` gets the config, the SQLite database, the file store and the logs;
    `tree` defaults to probe.ensure_tree() (which downloads from PyPI once: call it in
    the root namespace); `port` defaults to a free one. `prefix` starts every command,
    e.g. `ip netns exec NAME` for a Glance in a network namespace: its 127.0.0.1 is then
    that namespace's, so get() and download() run there too (an HTTP error is then a
    ToolError naming it, not urllib's HTTPError)."""

    def __init__(self, state_dir: Path, tree: Path | None = None, port: int | None = None,
                 start_timeout: float = START_TIMEOUT, prefix: Sequence[str] = ()):
        self.state_dir = Path(state_dir)
        self.tree = tree
        self.port = port
        self.start_timeout = start_timeout
        self.prefix = [str(arg) for arg in prefix]
        self.process: proc.Process | None = None

    @property
    def endpoint(self) -> str:
        return endpoint("127.0.0.1", self.port)

    def log(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def __enter__(self) -> LoopbackGlance:
        self.tree = self.tree or probe.ensure_tree(self.log("tree"))
        self.port = self.port or free_port()
        cmds = commands(self.tree, self.state_dir / "glance", "127.0.0.1", self.port)
        proc.run([*self.prefix, *cmds.db_sync.argv], env=cmds.db_sync.env, replace_env=True,
                 timeout=DB_SYNC_TIMEOUT, log=self.log("db-sync"), quiet=True, what="glance db-sync")
        self.process = proc.start([*self.prefix, *cmds.api.argv], env=cmds.api.env, replace_env=True,
                                  log=self.log("api"), quiet=True, what="glance-api")
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise ToolError(f"glance-api exited ({self.process.poll()}): "
                                f"{proc.failing_line(self.process.lines)[:300]}; full log: {self.log('api')}")
            try:
                self.get("/versions", timeout=10)
                return
            except (urllib.error.URLError, OSError, ToolError):
                pass
            if time.monotonic() >= deadline:
                raise HostError(f"glance-api did not answer on {self.endpoint} within {self.start_timeout:.0f} s")
            time.sleep(0.5)

    def upload(self, image: Path, record: Path | None = None) -> dict:
        """The image uploaded as provisioning uploads it; its record (written to `record`)."""
        record = record or self.state_dir / "image.json"
        run = upload_command(self.tree, self.endpoint, image, record, wait=60)
        proc.run([*self.prefix, *run.argv], env=run.env, replace_env=True, timeout=UPLOAD_TIMEOUT,
                 log=self.log("upload"), quiet=True, what="glance upload")
        return json.loads(record.read_text())

    def get(self, path: str, timeout: float = GET_TIMEOUT) -> bytes:
        """The body of a GET of `path` on the API, from where the API listens."""
        url = f"{self.endpoint}{path}"
        if not self.prefix:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                return answer.read()
        body = self.state_dir / "get.body"
        try:
            proc.run([*self.prefix, probe.GUEST_PYTHON, "-S", "-c", FETCH, url, body, timeout], env=probe.guest_env(),
                     replace_env=True, timeout=timeout + 30, quiet=True, what=f"GET {path} from glance-api")
            return body.read_bytes()
        finally:
            body.unlink(missing_ok=True)

    def download(self, image_id: str) -> bytes:
        """The image's data through the v2 API, as os-xenapi's glance plugin fetches it."""
        return self.get(f"/v2/images/{image_id}/file")

    def mark(self) -> int:
        """A place in the API log after every request Glance had answered when it was called.

        Glance logs a request just after it has sent the answer (eventlet/wsgi.py
        handle_one_response), so the line of a request answered last may not be there yet;
        a request of our own, sent now, is logged after it: this sends one and waits
        (bounded) until it is in the log."""
        path = f"{MARK}{uuid.uuid4().hex}"
        self.get(path, timeout=MARK_TIMEOUT)
        deadline = time.monotonic() + MARK_TIMEOUT
        while True:
            paths = [r.path for r in self._logged()]
            if path in paths:
                return paths.index(path) + 1
            if time.monotonic() >= deadline:
                raise HostError(f"glance-api did not log GET {path} within {MARK_TIMEOUT} s: {self.log('api')}")
            time.sleep(0.05)

    def requests(self, since: int = 0) -> list[Request]:
        """The requests this Glance answered, from its API log, after the place `since` (from mark());
        the marks' own left out. What it answered last may not be logged yet: mark() first."""
        return [r for r in self._logged()[since:] if not r.path.startswith(MARK)]

    def _logged(self) -> list[Request]:
        return requests_in(list(self.process.lines)) if self.process else []

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process.wait(timeout=30)

    def __exit__(self, *exc) -> None:
        self.stop()
