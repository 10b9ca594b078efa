"""os-xenapi's glance.py dom0 plugin, run in Python 3 on the stand-in: real HTTP transfers
of VHD tarballs between an image service and an SR's directory.

os-xenapi 0.3.4 os_xenapi/dom0/etc/xapi.d/plugins/glance.py and utils.py, step by step:
- download_vhd2: a staging directory made in the SR's directory (utils.make_staging_area);
  GET <endpoint>/v2/images/<id>/file (v1: /v1/images/<id>) with the caller's headers
  and a 90 s socket timeout; the gzipped tarball extracted into staging while its md5
  is computed, then checked against the ETag (else Content-MD5, else
  X-Image-Meta-Checksum) (_download_tarball_and_verify); utils.import_vhds: old-style
  names (snap/image/base.vhd) become 0.vhd, 1.vhd, ...; the sequence must have no gap;
  each VHD is renamed to a UUID popped from uuid_stack, linked to the next as its
  parent (vhd-util modify -p), the leaf must not be hidden and every VHD of the chain
  must pass `vhd-util check` (here vhd.py reads the footers, headers and parent
  locators); the files move into the SR; the answer is {"root": {"uuid": <leaf>}}.
  The staging directory is removed whatever happens.
- upload_vhd2: the VDIs' files hard-linked into staging as 0.vhd, 1.vhd, ...
  (utils.prepare_staging_area); PATCH <endpoint>/v2/images/<id> (container_format
  ovf, disk_format vhd, visibility private, the properties); GET it, whose status must
  be "queued"; PUT <endpoint>/v2/images/<id>/file, chunked, of `tar -zc` of staging;
  204 is success, else check_resp_status_and_retry sorts the status into permanent,
  not found or retryable.
A RetryableError is what os-xenapi's client retries (session.py _is_retryable_exception).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import vhd

SOCKET_TIMEOUT_SECONDS = 90  # glance.py
CHUNK_SIZE = 8192  # utils.py
PERMANENT = {400, 401, 402, 403, 405, 406, 407, 409, 410, 411, 412, 413, 414, 415, 416, 417, 422, 423, 424, 426,
             501, 505, 510}  # glance.py check_resp_status_and_retry


class RetryableError(Exception):
    """glance.py RetryableError."""


class PluginError(Exception):
    """dom0_pluginlib.PluginError."""


class Failure(Exception):
    """XenAPI.Failure as the plugin raises it with one string (str() maps its characters,
    as XenAPI.py's _details_map does)."""

    def __init__(self, details: str):
        super().__init__(details)
        self.details = details

    def __str__(self):
        return str({str(i): c for i, c in enumerate(self.details)})


# ------------------------------------------------------------------ utils.py


def make_staging_area(sr_path: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=sr_path))


def cleanup_staging_area(staging: Path) -> None:
    if staging.exists():
        shutil.rmtree(staging)


def _members(tar: tarfile.TarFile):
    """The tarball's entries, extracted as `tar -zx` would, but only plain files and
    directories inside the staging area (the simulator serves a network: it follows no
    link and writes nowhere else)."""
    for member in tar:
        name = os.path.normpath(member.name)
        if name.startswith(("/", "..")) or not (member.isfile() or member.isdir()):
            raise PluginError(f"refusing tarball entry {member.name!r}: only plain files inside the staging area")
        yield member


def extract_tarball(stream, path: Path, callback=None) -> None:
    """utils.extract_tarball: the gzipped tar read in CHUNK_SIZE pieces (each passed to callback)."""

    class Reader(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = stream.read(min(len(buffer), CHUNK_SIZE))
            if callback and chunk:
                callback(chunk)
            buffer[:len(chunk)] = chunk
            return len(chunk)

    raw = Reader()
    with tarfile.open(fileobj=io.BufferedReader(raw, CHUNK_SIZE), mode="r|gz") as tar:
        for member in _members(tar):
            tar.extract(member, path, set_attrs=False)
    rest = bytearray(CHUNK_SIZE)
    while raw.readinto(rest):  # tar stops at its end marker; the checksum counts every byte
        pass


def create_tarball(path: Path, callback, compression_level=None) -> None:
    """utils.create_tarball: `tar -zc --directory=path .`, its output in CHUNK_SIZE chunks."""

    class Sink(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            data = bytes(data)
            for start in range(0, len(data), CHUNK_SIZE):
                callback(data[start:start + CHUNK_SIZE])
            return len(data)

    level = compression_level if compression_level and 1 <= int(compression_level) <= 9 else 6
    with gzip.GzipFile(fileobj=io.BufferedWriter(Sink(), CHUNK_SIZE), mode="wb", compresslevel=int(level)) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            tar.add(str(path), arcname=".", recursive=True)


def _handle_old_style_images(staging: Path) -> None:
    number = 0
    for name in ("snap.vhd", "image.vhd", "base.vhd"):
        if (staging / name).exists():
            os.rename(staging / name, staging / f"{number}.vhd")
            number += 1
    contents = os.listdir(staging)
    if len(contents) == 1 and contents[0] != "0.vhd" and contents[0].endswith(".vhd"):
        os.rename(staging / contents[0], staging / "0.vhd")


def _validate_sequenced_vhds(staging: Path) -> None:
    names = os.listdir(staging)
    seq = 0
    for name in names:
        if not name.endswith(".vhd") or name == "swap.vhd":
            continue
        if not (staging / f"{seq}.vhd").exists():
            raise Exception(f"Corrupt image. Expected seq number: {seq}. Files: {names}")
        seq += 1


def _validate_vhd(path: Path) -> None:
    """utils._validate_vhd: `vhd-util check` must pass (vhd.check gives its first line)."""
    problem = vhd.check(path)
    if problem is None:
        return
    part = "footer" if "footer" in problem else "header" if "header" in problem else "setting"
    details = problem.split(":", 1)[1] if ":" in problem else problem
    extra = " ensure source and destination host machines have time set correctly" if "timestamp" in problem \
        or "time in future" in problem else ""
    raise Exception(f"VDI '{path}' has an invalid {part}: '{details}'{extra}")


def _validate_vdi_chain(path: Path) -> None:
    current: Path | None = path
    seen = set()
    while current is not None and current not in seen:
        seen.add(current)
        _validate_vhd(current)
        parent = vhd.info(current).parent
        if parent is not None and not parent.exists():
            raise Exception(f"VDI '{parent}' not present which breaks the VDI chain, bailing out")
        current = parent


def import_vhds(sr_path: Path, staging: Path, uuid_stack: list) -> dict:
    """utils.import_vhds."""
    _handle_old_style_images(staging)
    _validate_sequenced_vhds(staging)
    files, seq = [], 0
    leaf_uuid = leaf_path = None
    while (staging / f"{seq}.vhd").exists():
        vhd_uuid = uuid_stack.pop()
        target = staging / f"{vhd_uuid}.vhd"
        os.rename(staging / f"{seq}.vhd", target)
        if seq == 0:
            leaf_uuid, leaf_path = vhd_uuid, target
        files.append(target)
        seq += 1
    if leaf_path is None:
        raise Exception(f"Corrupt image. Expected seq number: 0. Files: {os.listdir(staging)}")
    parent = None
    for path in reversed(files):
        if parent is not None:
            vhd.set_parent(path, parent)  # vhd-util modify -n <path> -p <parent>
        parent = path
    if vhd.info(leaf_path).hidden:  # _assert_vhd_not_hidden
        raise Exception(f"VHD {leaf_path} is marked as hidden without child")
    _validate_vdi_chain(leaf_path)
    for path in files:  # the parent locators are relative: the chain moves as one
        os.rename(path, sr_path / path.name)
    return {"root": {"uuid": leaf_uuid}}


def prepare_staging_area(sr_path: Path, staging: Path, vdi_uuids, seq: int = 0) -> None:
    for vdi_uuid in vdi_uuids:
        os.link(sr_path / f"{vdi_uuid}.vhd", staging / f"{seq}.vhd")
        seq += 1


# ------------------------------------------------------------------ glance.py


def _download_tarball_and_verify(request: urllib.request.Request, staging: Path) -> int:
    socket.setdefaulttimeout(SOCKET_TIMEOUT_SECONDS)
    try:
        response = urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT_SECONDS)
    except (urllib.error.HTTPError, urllib.error.URLError) as error:
        raise RetryableError(error) from None
    except http.client.HTTPException as error:
        raise RetryableError(f"{error.__class__.__name__}: {error}") from None
    checksum = hashlib.md5()
    read = [0]

    def update_md5(chunk):
        read[0] += len(chunk)
        checksum.update(chunk)

    with response:
        try:
            extract_tarball(response, staging, callback=update_md5)
        except Exception as error:
            raise RetryableError(error) from None
        etag = response.headers.get("etag") or response.headers.get("content-md5") \
            or response.headers.get("x-image-meta-checksum")
    digest = checksum.hexdigest()
    if etag is not None and digest != etag.strip('"'):
        raise RetryableError(f"ETag {etag} does not match computed md5sum {digest}")
    return read[0]


def _headers(extra_headers: dict) -> dict:
    """The caller's headers as Python 2's httplib sends them: every value through str() (Nova's
    identity headers hold None where the context has no value)."""
    return {str(k): str(v) for k, v in extra_headers.items()}


def download_vhd2(sr_path: Path, image_id: str, endpoint: str, uuid_stack: list, extra_headers: dict,
                  api_version: int = 1) -> dict:
    extra_headers = _headers(extra_headers)
    staging = make_staging_area(sr_path)
    try:
        if api_version == 1:
            url = f"{endpoint}/v1/images/{image_id}"
        else:
            url = f"{endpoint}/v2/images/{image_id}/file"
        _download_tarball_and_verify(urllib.request.Request(url, headers=dict(extra_headers)), staging)
        return import_vhds(sr_path, staging, list(uuid_stack))
    finally:
        cleanup_staging_area(staging)


def _connect(scheme: str, netloc: str):
    conn = http.client.HTTPSConnection(netloc) if scheme == "https" else http.client.HTTPConnection(netloc)
    conn.timeout = SOCKET_TIMEOUT_SECONDS
    conn.connect()
    return conn


def check_resp_status_and_retry(status: int, image_id: str, url: str):
    if status in PERMANENT:
        raise PluginError(f"Got Permanent Error response [{status}] while uploading image [{image_id}] "
                          f"to glance [{url}]")
    if status == 404:
        raise Failure("ImageNotFound")
    if status in (408, 500, 502, 503, 504, 507):
        raise RetryableError(f"Got Ephemeral Error response [{status}] while uploading image [{image_id}] "
                             f"to glance [{url}]")
    raise RetryableError(f"Got Unexpected Error response [{status}] while uploading image [{image_id}] "
                         f"to glance [{url}]")


def _update_image_meta_v2(conn, extra_headers: dict, properties: dict, path: str) -> None:
    body = [{"path": "/container_format", "value": "ovf", "op": "add"},
            {"path": "/disk_format", "value": "vhd", "op": "add"},
            {"path": "/visibility", "value": "private", "op": "add"}]
    body += [{"path": "/" + key.replace("_", "-"), "value": str(value), "op": "add"}
             for key, value in properties.items()]
    headers = {"Content-Type": "application/openstack-images-v2.1-json-patch", **extra_headers}
    conn.request("PATCH", path, body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    resp.read()  # a status other than 200 is only logged by the plugin


def _validate_status_v2(conn, url: str, extra_headers: dict, path: str) -> None:
    image_id = urllib.parse.urlparse(url).path.split("/")[-2]
    try:
        conn.request("GET", path, headers=dict(extra_headers))
        resp = conn.getresponse()
        body = resp.read()
    except Exception as error:
        raise RetryableError(error) from None
    if resp.status != 200:
        check_resp_status_and_retry(resp.status, image_id, url)
    status = json.loads(body)["status"]
    if status != "queued":
        raise PluginError(f"Got Permanent Error while uploading image [{image_id}] to glance [{url}]. Message: "
                          f"Cannot upload data for image {image_id} as the image status is {status}")


def upload_vhd2(sr_path: Path, vdi_uuids, image_id: str, endpoint: str, extra_headers: dict, properties: dict,
                api_version: int = 1) -> None:
    if api_version == 1:
        raise PluginError("the xenlab stand-in speaks only the image service's v2 API (os-xenapi 0.3.4's "
                          "client always asks for v2)")
    extra_headers = _headers(extra_headers)
    staging = make_staging_area(sr_path)
    try:
        prepare_staging_area(sr_path, staging, vdi_uuids)
        url = f"{endpoint}/v2/images/{image_id}/file"
        parts = urllib.parse.urlparse(url)
        try:
            conn = _connect(parts.scheme, parts.netloc)
        except Exception as error:
            raise RetryableError(error) from None
        try:
            mgt_path = urllib.parse.urlparse(f"{endpoint}/v2/images/{image_id}").path
            _update_image_meta_v2(conn, extra_headers, properties, mgt_path)
            _validate_status_v2(conn, url, extra_headers, mgt_path)
            try:
                conn.close()
                conn.connect()
                conn.putrequest("PUT", parts.path)
                for header, value in {"content-type": "application/octet-stream", "transfer-encoding": "chunked",
                                      **extra_headers}.items():
                    conn.putheader(header, value)
                conn.endheaders()
            except Exception as error:
                raise RetryableError(error) from None

            def send_chunk(chunk: bytes) -> None:
                try:
                    conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                except Exception as error:
                    raise RetryableError(error) from None

            create_tarball(staging, send_chunk, properties.get("xenapi_image_compression_level"))
            send_chunk(b"")  # the chunked transfer's terminator
            resp = conn.getresponse()
            resp.read()
            if resp.status != 204:
                check_resp_status_and_retry(resp.status, image_id, url)
        finally:
            conn.close()
    finally:
        cleanup_staging_area(staging)
