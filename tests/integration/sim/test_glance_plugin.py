"""The glance.py dom0 plugin on the stand-in: real HTTP transfers between a loopback image
service and an SR's directory, through the simulator's host.call_plugin as Nova calls it
(a protocol-0 pickle of keyword arguments, os-xenapi 0.3.4 client/host_glance.py), checked
step by step against os-xenapi 0.3.4's glance.py and utils.py, whose Python 2 code cannot run
here: where it cannot, the test reads the shapes from the plugin's own source."""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest
import XenAPI

from tests.integration.devstack.glance_double import GlanceDouble
from tests.support.prereq import require_tool
from tests.support.simproc import SimProcess
from xenlab.plugin_pickle import loads
from xenlab.sim import plugins, vhd
from xenlab.sim.api import Api
from xenlab.sim.failure import Failure
from xenlab.sim.machine import Simulated
from xenlab.xenserver import osxenapi

MIB = 2**20


@pytest.fixture(scope="module")
def source():
    """os-xenapi 0.3.4's glance.py and utils.py (the sdist is fetched once, in the root namespace)."""
    files = osxenapi.plugins(osxenapi.sdist("0.3.4"))
    return files["glance.py"].decode(), files["utils.py"].decode()


def make_chain(tmp_path: Path) -> tuple[Path, bytes]:
    """A two-VHD image as Nova uploads a snapshot: 0.vhd (the leaf) over 1.vhd (QEMU's vpc of a
    disk with known bytes), tarred with `tar -zc --directory=. .` as utils.create_tarball does."""
    require_tool("qemu-img")
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"xenlab image\n" * (3 * MIB // 13))
    stage = tmp_path / "stage"
    stage.mkdir()
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", str(raw), str(stage / "1.vhd")],
                   check=True, timeout=60)
    vhd.create(stage / "0.vhd", 0, parent=stage / "1.vhd")
    vhd.write_block(stage / "0.vhd", 1, b"leaf data")
    tarball = tmp_path / "image.tgz"
    with tarfile.open(tarball, "w:gz") as tar:  # what `tar -zc --directory=<stage> .` writes
        tar.add(stage, arcname=".")
    return tarball, tarball.read_bytes()


@pytest.fixture
def host(tmp_path):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "glance.py").write_text("# os-xenapi 0.3.4's glance.py\n")
    (plugin_dir / "glance.py").chmod(0o755)
    api = Api("root", "pw", plugin_dir, machine=Simulated(sr_root=tmp_path / "sr"))
    sr = api.store.record("SR", api.refs["sr"])
    return api, f"/var/run/sr-mount/{sr['uuid']}", api.machine.sr_dir(sr["uuid"], "ext")


def call(api, fn, **kwargs):
    params = pickle.dumps({"args": (), "kwargs": kwargs}, protocol=0).decode("latin-1")
    return plugins.call(api.plugin_dir, "glance.py", fn, {"params": params, "host_uuid": "x"}, api=api,
                        host=api.refs["host"])


HEADERS = {"X-Auth-Token": "token", "X-User-Id": "user", "X-Tenant-Id": "project", "X-Roles": "admin",
           "X-Identity-Status": "Confirmed", "X-Service-Catalog": None}  # nova/image/glance.py


def test_download_unpacks_the_chain_into_the_sr_as_import_vhds_does(host, tmp_path, source):
    api, sr_path, sr_dir = host
    tarball, data = make_chain(tmp_path)
    stack = [str(uuid.uuid4()) for _ in range(5)]
    with GlanceDouble() as glance:
        image = glance.add_image("lab", data, disk_format="vhd", container_format="ovf")
        answer = loads(call(api, "download_vhd2", image_id=image["id"], endpoint=glance.endpoint,
                            uuid_stack=list(stack), sr_path=sr_path, extra_headers=HEADERS, api_version=2))
        (method, path, headers), = glance.requests
    # glance.py _download_tarball_by_url_v2, as its source builds the request.
    assert "%(glance_endpoint)s/v2/images/%(image_id)s/file" in source[0]
    assert (method, path) == ("GET", f"/v2/images/{image['id']}/file")
    assert headers["X-Auth-Token"] == "token" and headers["X-Service-Catalog"] == "None"  # Python 2's str(None)
    # utils.import_vhds: the UUIDs popped from the stack's end, the leaf's returned as {'root': {'uuid'}}.
    assert "imported_vhds = dict(root=dict(uuid=leaf_vhd_uuid))" in source[1]
    leaf, parent = stack[-1], stack[-2]
    assert answer == {"root": {"uuid": leaf}}
    assert sorted(p.name for p in sr_dir.iterdir()) == sorted([f"{leaf}.vhd", f"{parent}.vhd"])  # staging gone
    assert vhd.info(sr_dir / f"{leaf}.vhd").parent == (sr_dir / f"{parent}.vhd").resolve()
    leaf_file = sr_dir / f"{leaf}.vhd"
    assert vhd.check(leaf_file) is None and vhd.read_sectors(leaf_file, 2 * MIB, 9) == b"leaf data"
    assert vhd.read_sectors(leaf_file, 13 * 1000, 13) == b"xenlab image\n"  # through to the parent
    # Nova's next call: SR.scan makes them VDIs, the leaf's parent recorded for _walk_vdi_chain.
    s = api.dispatch("session.login_with_password", ("root", "pw"))["Value"]
    api.dispatch("SR.scan", (s, api.refs["sr"]))
    vdi = api.dispatch("VDI.get_by_uuid", (s, leaf))["Value"]
    assert api.dispatch("VDI.get_sm_config", (s, vdi))["Value"] == {"vhd-parent": parent}


@pytest.mark.parametrize("case", ["etag", "missing", "gap", "future", "not-a-tarball"])
def test_download_failures_are_the_plugins(host, tmp_path, case):
    """_download_tarball_and_verify: an HTTP error or a checksum that does not match is RetryableError
    (os-xenapi's client retries it); utils._validate_sequenced_vhds, _validate_vhd: a gap or a VHD
    vhd-util check refuses is Exception; nothing stays in the SR."""
    api, sr_path, sr_dir = host
    _, data = make_chain(tmp_path)
    expect = {"etag": ("RetryableError", "does not match computed md5sum"),
              "missing": ("RetryableError", "HTTP Error 404"),
              "gap": ("Exception", "Corrupt image. Expected seq number: 1."),
              "future": ("Exception", "has an invalid footer: ' creation time in future' ensure source"),
              "not-a-tarball": ("RetryableError", "")}[case]
    if case in ("gap", "future"):
        stage = tmp_path / "odd"
        stage.mkdir()
        vhd.create(stage / "0.vhd", 4 * MIB, now=time.time() + (86400 if case == "future" else 0))
        if case == "gap":
            vhd.create(stage / "2.vhd", 4 * MIB)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(stage, arcname=".")
        data = buffer.getvalue()
    if case == "not-a-tarball":
        data = b"<html>not an image</html>"
    with GlanceDouble() as glance:
        image = glance.add_image("lab", data, disk_format="vhd", container_format="ovf")
        if case == "etag":
            image["checksum"] = "0" * 32
        image_id = "nope" if case == "missing" else image["id"]
        with pytest.raises(Failure) as exc:
            call(api, "download_vhd2", image_id=image_id, endpoint=glance.endpoint, uuid_stack=["a", "b", "c"],
                 sr_path=sr_path, extra_headers={}, api_version=2)
    assert exc.value.description[:3] == ["XENAPI_PLUGIN_FAILURE", "download_vhd2", expect[0]]
    assert expect[1] in exc.value.description[3]
    assert list(sr_dir.iterdir()) == []


def test_an_sr_path_that_is_not_an_sr_is_not_there(host):
    api, _, _ = host
    with pytest.raises(Failure) as exc:
        call(api, "download_vhd2", image_id="x", endpoint="http://127.0.0.1:9", uuid_stack=["a"], sr_path="/etc",
             extra_headers={}, api_version=2)
    assert exc.value.description[2] == "OSError" and "No such file or directory: '/etc/tmp" in exc.value.description[3]


def test_upload_streams_the_chain_to_the_image_service(host, tmp_path, source):
    """upload_vhd2 (_upload_tarball_by_url_v2): PATCH the image's formats and properties, GET it (it
    must be queued), PUT the tarball of the VHDs hard-linked as 0.vhd, 1.vhd... chunked; 204 is done."""
    api, sr_path, sr_dir = host
    leaf, base = str(uuid.uuid4()), str(uuid.uuid4())
    vhd.create(sr_dir / f"{base}.vhd", 8 * MIB)
    vhd.write_block(sr_dir / f"{base}.vhd", 1, b"base block")
    vhd.create(sr_dir / f"{leaf}.vhd", 0, parent=sr_dir / f"{base}.vhd")
    with GlanceDouble() as glance:
        image = glance.add_image("snap")
        assert call(api, "upload_vhd2", vdi_uuids=[leaf, base], image_id=image["id"], endpoint=glance.endpoint,
                    sr_path=sr_path, extra_headers=HEADERS, properties={"auto_disk_config": False,
                                                                        "os_type": "linux"},
                    api_version=2) == "N."
        requests = [(m, p) for m, p, _ in glance.requests]
        put_headers = glance.requests[-1][2]
        stored = glance.data[image["id"]]
        patched = dict(glance.images[image["id"]])
    assert requests == [("PATCH", f"/v2/images/{image['id']}"), ("GET", f"/v2/images/{image['id']}"),
                        ("PUT", f"/v2/images/{image['id']}/file")]
    assert put_headers["transfer-encoding"] == "chunked" and put_headers["content-type"] == "application/octet-stream"
    assert "'transfer-encoding': 'chunked'" in source[0] and "application/openstack-images-v2.1-json-patch" in source[0]
    assert (patched["container_format"], patched["disk_format"], patched["visibility"]) == ("ovf", "vhd", "private")
    assert patched["os-type"] == "linux" and patched["status"] == "active" and patched["size"] == len(stored)
    with tarfile.open(fileobj=io.BytesIO(stored), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        out = tmp_path / "unpacked"
        tar.extractall(out)
    assert names == [".", "./0.vhd", "./1.vhd"]
    # The chain travels whole: the leaf first; linked again as import_vhds does, it reads the base.
    assert vhd.info(out / "0.vhd").disk_type == vhd.DIFFERENCING and vhd.info(out / "1.vhd").parent is None
    vhd.set_parent(out / "0.vhd", out / "1.vhd")
    assert vhd.read_sectors(out / "0.vhd", 2 * MIB, 10) == b"base block"
    assert sorted(p.name for p in sr_dir.iterdir()) == sorted([f"{leaf}.vhd", f"{base}.vhd"])


def test_upload_refuses_an_image_that_is_not_queued(host, tmp_path):
    """validate_image_status_before_upload_v2: a status other than queued is a permanent PluginError;
    check_resp_status_and_retry: 404 raises XenAPI.Failure('ImageNotFound'), whose str() maps its
    characters (XenAPI.py _details_map), as the real plugin's failure shows it."""
    api, sr_path, sr_dir = host
    vdi = str(uuid.uuid4())
    vhd.create(sr_dir / f"{vdi}.vhd", 4 * MIB)
    with GlanceDouble() as glance:
        active = glance.add_image("done", b"data")
        for image_id, kind, text in ((active["id"], "PluginError", "as the image status is active"),
                                     ("gone", "Failure", "{'0': 'I', '1': 'm'")):
            with pytest.raises(Failure) as exc:
                call(api, "upload_vhd2", vdi_uuids=[vdi], image_id=image_id, endpoint=glance.endpoint,
                     sr_path=sr_path, extra_headers={}, properties={}, api_version=2)
            assert exc.value.description[2] == kind and text in exc.value.description[3]
    assert [p.name for p in sr_dir.iterdir()] == [f"{vdi}.vhd"]


def test_the_transfer_over_the_wire(tmp_path):
    """The same through `python3 -m xenlab.sim` and the XenAPI SDK over HTTP, as Nova's session calls it."""
    require_tool("python3")
    tarball, data = make_chain(tmp_path)
    sim = SimProcess(tmp_path, "--sr-root", str(tmp_path / "sr"))
    sim.plugin_dir.mkdir(parents=True)
    (sim.plugin_dir / "glance.py").write_text("# os-xenapi\n")
    (sim.plugin_dir / "glance.py").chmod(0o755)
    with sim, GlanceDouble() as glance:
        image = glance.add_image("lab", data, disk_format="vhd", container_format="ovf")
        session = XenAPI.Session(sim.url)
        session.xenapi.login_with_password("root", sim.password, "2.1", "test")
        try:
            host = session.xenapi.host.get_all()[0]
            sr = session.xenapi.pool.get_default_SR(session.xenapi.pool.get_all()[0])
            sr_uuid = session.xenapi.SR.get_uuid(sr)
            kwargs = dict(image_id=image["id"], endpoint=glance.endpoint, uuid_stack=["u3", "u2", "u1"],
                          sr_path=f"/var/run/sr-mount/{sr_uuid}", extra_headers={}, api_version=2)
            blob = pickle.dumps({"args": (), "kwargs": kwargs}, protocol=0).decode("latin-1")
            answer = session.xenapi.host.call_plugin(host, "glance.py", "download_vhd2", {"params": blob})
            assert loads(answer) == {"root": {"uuid": "u1"}}
            session.xenapi.SR.scan(sr)
            assert session.xenapi.VDI.get_sm_config(session.xenapi.VDI.get_by_uuid("u1")) == {"vhd-parent": "u2"}
            used = int(session.xenapi.SR.get_physical_utilisation(sr))
            assert used >= sum(p.stat().st_size for p in (tmp_path / "sr" / sr_uuid).glob("*.vhd")) > MIB
        finally:
            session.xenapi.session.logout()
        assert re.search(r'"host\.call_plugin": 1\b', sim.stop())
