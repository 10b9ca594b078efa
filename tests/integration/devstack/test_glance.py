"""Glance 20.2.0 from the install tree xenlab builds (the Nova probe's), under Debian's
/usr/bin/python3 -S, with SQLite and a file store, no Keystone, on loopback, started
with the devstack machine's own commands (xenlab/devstack/glance.py): the lab's VHD
image goes in as provisioning puts it in, and comes back byte-identical through the v2
API os-xenapi's glance plugin fetches from, and through Nova's own glance client.

The wheels come from PyPI in the root namespace, before anything starts; Glance then
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.support.prereq import require_tool
from xenlab.devstack import glance, probe, vhd


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    require_tool("qemu-img", probe.GUEST_PYTHON)
    return probe.ensure_tree(tmp_path_factory.mktemp("tree-log") / "pip.log")


@pytest.fixture(scope="module")
def image():
    return vhd.ensure()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tree):
    with glance.LoopbackGlance(tmp_path_factory.mktemp("glance"), tree=tree) as running:
        yield running


@pytest.fixture(scope="module")
def record(server, image):
    return server.upload(image)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def in_tree(tree, code: str, *args: str) -> subprocess.CompletedProcess:
    """Python code run as the devstack machine runs the tree: Debian's python3 -S, the tree only."""
    prelude = "import site, sys; t = sys.argv[1]; site.addsitedir(t); sys.path.remove(t); sys.path.insert(0, t)\n"
    return subprocess.run([probe.GUEST_PYTHON, "-S", "-c", prelude + code, str(tree), *args], capture_output=True,
                          text=True, timeout=300, env=probe.guest_env())


def test_the_lab_image_goes_in_as_devstack_uploads_a_vhd_tarball(server, record, image):
    data = image.read_bytes()
    assert record == {"id": record["id"], "name": "xenlab-test-disk", "file": vhd.FILE_NAME, "disk_format": "vhd",
                      "container_format": "ovf", "visibility": "public", "properties": {"vm_mode": "xen"},
                      "checksum": hashlib.md5(data).hexdigest(), "size": len(data), "endpoint": server.endpoint}
    shown = get_json(f"{server.endpoint}/v2/images/{record['id']}")
    assert (shown["status"], shown["disk_format"], shown["container_format"], shown["visibility"],
            shown["vm_mode"], shown["checksum"], shown["size"]) == ("active", "vhd", "ovf", "public", "xen",
                                                                    record["checksum"], len(data))
    assert shown["os_hash_algo"] == "sha512" and shown["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_the_image_comes_back_byte_identical_with_the_md5_the_plugin_checks(server, record, image):
    url = f"{server.endpoint}/v2/images/{record['id']}/file"
    with urllib.request.urlopen(url, timeout=60) as answer:
        data, md5 = answer.read(), answer.headers["Content-MD5"]
    # os-xenapi 0.3.4 plugins/glance.py _download_tarball_and_verify compares Content-MD5 with what it read.
    assert data == image.read_bytes() == server.download(record["id"])
    assert md5 == hashlib.md5(data).hexdigest()
    assert list(vhd_members(data)) == ["0.vhd"]


def vhd_members(data: bytes):
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return [m.name for m in tar.getmembers()]


def test_novas_glance_client_reads_it_through_the_v2_api(server, record, tree):
    # python-glanceclient 3.1.2, as pinned for Nova 21.2.4, from the same tree.
    done = in_tree(tree, """
import hashlib, json
from glanceclient import client
g = client.Client("2", endpoint=sys.argv[2])
image = g.images.get(sys.argv[3])
data = b"".join(g.images.data(sys.argv[3]))
print(json.dumps({"name": image["name"], "vm_mode": image["vm_mode"], "md5": hashlib.md5(data).hexdigest()}))
""", server.endpoint, record["id"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"name": "xenlab-test-disk", "vm_mode": "xen", "md5": record["checksum"]}


def test_uploading_again_keeps_the_one_image(server, record, image):
    again = server.upload(image)
    assert again == record
    named = get_json(f"{server.endpoint}/v2/images?name=xenlab-test-disk")["images"]
    assert [i["id"] for i in named] == [record["id"]]
    assert f"image xenlab-test-disk ({record['id']}) already there" in server.log("upload").read_text()


def test_other_bytes_under_a_name_replace_that_image(server, tmp_path, image):
    older, newer = tmp_path / "older" / "other-disk.vhd.tgz", tmp_path / "newer" / "other-disk.vhd.tgz"
    for path, data in ((older, image.read_bytes()), (newer, image.read_bytes()[:-1] + b"x")):
        path.parent.mkdir()
        path.write_bytes(data)
    first = server.upload(older, tmp_path / "older.json")
    second = server.upload(newer, tmp_path / "newer.json")
    named = get_json(f"{server.endpoint}/v2/images?name=other-disk")["images"]
    assert second["id"] != first["id"] and [i["id"] for i in named] == [second["id"]]
    assert server.download(second["id"]) == newer.read_bytes()
    with pytest.raises(urllib.error.HTTPError, match="404"):
        server.download(first["id"])


def test_sqlite_is_at_ussuris_head_and_the_file_store_holds_what_the_api_lists(server, record):
    with sqlite3.connect(server.state_dir / "glance" / "glance.sqlite") as db:
        heads = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
    assert heads == {"ussuri_contract01"}  # glance 20's last migration (glance-manage db_sync's end state)
    listed = {i["id"] for i in get_json(f"{server.endpoint}/v2/images")["images"]}
    assert listed and {f.name for f in (server.state_dir / "glance" / "images").iterdir()} == listed


def test_the_image_import_flows_load_on_python_311(tree):
    # The modules Glance's import tasks load by entry point (taskflow, defusedxml...).
    done = in_tree(tree, """
import importlib.metadata as md
groups = ("glance.flows", "glance.flows.import", "glance.image_import.plugins", "glance.image_import.internal_plugins")
eps = [e for e in md.distribution("glance").entry_points if e.group in groups]
for e in eps:
    e.load()
print(len(eps))
""")
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) == 11
