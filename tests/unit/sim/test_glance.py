"""os-xenapi's glance.py plugin as the stand-in runs it: what goes on the wire, which the
integration tests' real Glance does not show in its log: the caller's headers as Python 2's
httplib sends them, on the download's GET and on each request of the upload, and the
upload's chunked body (os-xenapi 0.3.4 plugins/glance.py _upload_tarball_by_url_v2)."""

from __future__ import annotations

import gzip
import io
import socket
import tarfile
import urllib.error

import pytest

from xenlab.sim import glance, vhd

# Nova's identity headers (nova/image/glance.py): None where the context has no value.
HEADERS = {"X-Auth-Token": "token", "X-Tenant-Id": "project", "X-Service-Catalog": None}


@pytest.fixture(autouse=True)
def socket_timeout():
    """The plugin sets the process's default socket timeout, as glance.py does in dom0."""
    before = socket.getdefaulttimeout()
    yield
    socket.setdefaulttimeout(before)


def test_every_header_value_goes_through_str_as_python_2_sends_it():
    assert glance._headers(HEADERS) == {"X-Auth-Token": "token", "X-Tenant-Id": "project",
                                        "X-Service-Catalog": "None"}


def test_the_download_asks_with_the_callers_headers(tmp_path, monkeypatch):
    asked = []

    def urlopen(request, timeout):
        asked.append((request, timeout))
        raise urllib.error.URLError("connection refused")
    monkeypatch.setattr(glance.urllib.request, "urlopen", urlopen)
    with pytest.raises(glance.RetryableError, match="connection refused"):
        glance.download_vhd2(tmp_path, "img", "http://glance:9292", ["u1"], HEADERS, api_version=2)
    (request, timeout), = asked
    assert (request.get_method(), request.full_url) == ("GET", "http://glance:9292/v2/images/img/file")
    assert request.get_header("X-auth-token") == "token" and request.get_header("X-service-catalog") == "None"
    assert timeout == glance.SOCKET_TIMEOUT_SECONDS and list(tmp_path.iterdir()) == []  # staging removed


class Answer:
    def __init__(self, status: int, body: bytes):
        self.status, self.body = status, body

    def read(self) -> bytes:
        return self.body


class Connection:
    """http.client.HTTPConnection as upload_vhd2 drives it; answers as Glance does to a queued image."""

    def __init__(self):
        self.asked: list[tuple[str, str, dict]] = []
        self.sent: list[bytes] = []
        self.answers = [Answer(200, b"{}"), Answer(200, b'{"status": "queued"}'), Answer(204, b"")]

    def request(self, method, path, body=None, headers=None):
        self.asked.append((method, path, dict(headers or {})))

    def putrequest(self, method, path):
        self.asked.append((method, path, {}))

    def putheader(self, header, value):
        self.asked[-1][2][header] = value

    def endheaders(self):
        pass

    def send(self, data):
        self.sent.append(data)

    def getresponse(self):
        return self.answers.pop(0)

    def connect(self):
        pass

    def close(self):
        pass


def unchunk(sent: list[bytes]) -> bytes:
    """The body of a chunked transfer, each send one chunk (RFC 9112 7.1), ending with the empty one."""
    assert sent[-1] == b"0\r\n\r\n"
    body = b""
    for chunk in sent[:-1]:
        size, rest = chunk.split(b"\r\n", 1)
        assert int(size, 16) == len(rest) - 2 > 0 and rest.endswith(b"\r\n")
        body += rest[:-2]
    return body


def test_the_upload_sends_the_callers_headers_and_its_tarball_chunked(tmp_path, monkeypatch):
    vdi = "0a0a0a0a-1111-4222-8333-444444444444"
    vhd.create(tmp_path / f"{vdi}.vhd", 4 * 2**20)
    vhd.write_block(tmp_path / f"{vdi}.vhd", 1, b"disk data")
    conn = Connection()
    monkeypatch.setattr(glance, "_connect", lambda scheme, netloc: conn)
    glance.upload_vhd2(tmp_path, [vdi], "img", "http://glance:9292", HEADERS, {"os_type": "linux"}, api_version=2)
    assert [(method, path) for method, path, _ in conn.asked] == [
        ("PATCH", "/v2/images/img"), ("GET", "/v2/images/img"), ("PUT", "/v2/images/img/file")]
    patch, get, put = (headers for _, _, headers in conn.asked)
    assert patch == {"Content-Type": "application/openstack-images-v2.1-json-patch", **glance._headers(HEADERS)}
    assert get == glance._headers(HEADERS)
    assert put == {"content-type": "application/octet-stream", "transfer-encoding": "chunked",
                   **glance._headers(HEADERS)}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(unchunk(conn.sent)))) as tar:
        assert tar.extractfile("./0.vhd").read() == (tmp_path / f"{vdi}.vhd").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [f"{vdi}.vhd"]  # staging removed
