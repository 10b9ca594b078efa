"""Glance on the devstack machine: the commands it runs with, the config its launcher
writes, and what bad arguments get."""

import configparser
import importlib.util
import subprocess
from pathlib import Path

import pytest

from xenlab.devstack import glance, probe


@pytest.fixture(scope="module")
def launcher():
    spec = importlib.util.spec_from_file_location("glance_service", glance.SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_database_is_synced_then_the_api_served_with_the_same_arguments():
    cmds = glance.commands("/d/tree", "/opt/stack/data/glance", "192.168.57.11", script="/s/glance-service.py")
    server = ["--state-dir", "/opt/stack/data/glance", "--bind", "192.168.57.11", "--port", "9292"]
    head = ["/usr/bin/python3", "-S", "/s/glance-service.py", "--tree", "/d/tree"]
    assert cmds.db_sync.argv == [*head, "db-sync", *server]
    assert cmds.api.argv == [*head, "api", *server]
    assert cmds.api.env == cmds.db_sync.env == probe.guest_env() and "PYTHONPATH" not in cmds.api.env


def test_the_image_goes_in_as_devstacks_upload_image_puts_a_vhd_tarball():
    run = glance.upload_command("/d/tree", "http://10.0.0.2:9292", "/d/images/cirros-0.3.5-x86_64-disk.vhd.tgz",
                                "/var/lib/xenlab/glance-image.json", script="/s/g.py")
    args = run.argv[run.argv.index("upload") + 1:]
    opts = dict(zip(args[::2], args[1::2]))
    # devstack functions upload_image (ussuri-eol): name from the file, --public, ovf/vhd, vm_mode=xen.
    assert opts == {"--endpoint": "http://10.0.0.2:9292", "--file": "/d/images/cirros-0.3.5-x86_64-disk.vhd.tgz",
                    "--name": "cirros-0.3.5-x86_64-disk", "--disk-format": "vhd", "--container-format": "ovf",
                    "--visibility": "public", "--property": "vm_mode=xen",
                    "--record": "/var/lib/xenlab/glance-image.json", "--wait": str(glance.START_TIMEOUT)}


def test_the_endpoint_is_devstacks_port_on_the_given_address():
    assert glance.endpoint("192.168.57.11") == "http://192.168.57.11:9292"


def test_the_config_is_devstacks_for_xenserver_without_keystone_or_a_message_bus(launcher):
    conf = configparser.ConfigParser()
    conf.read_string(launcher.render_conf("/d/tree", "/opt/stack/data/glance", "192.168.57.11", 9292))
    assert (conf["DEFAULT"]["bind_host"], conf["DEFAULT"]["bind_port"]) == ("192.168.57.11", "9292")
    assert conf["database"]["connection"] == "sqlite:////opt/stack/data/glance/glance.sqlite"
    assert conf["glance_store"]["filesystem_store_datadir"] == "/opt/stack/data/glance/images/"
    # DevStack lib/glance, VIRT_DRIVER=xenserver.
    assert conf["image_format"]["container_formats"] == "ami,ari,aki,bare,ovf,tgz"
    assert conf["image_format"]["disk_formats"] == "ami,ari,aki,vhd,raw,iso"
    # noauth: the paste pipeline without keystone, the tree's own paste file.
    assert "flavor" not in conf["paste_deploy"]
    assert conf["paste_deploy"]["config_file"] == "/d/tree/etc/glance/glance-api-paste.ini"
    assert conf["oslo_messaging_notifications"]["driver"] == "noop"
    assert conf["oslo_policy"]["policy_file"] == "/opt/stack/data/glance/policy.json"


def test_public_images_are_allowed_under_noauth(launcher):
    assert launcher.POLICY == {"publicize_image": ""}


@pytest.mark.parametrize("args, why", [
    (["--tree", "/nonexistent", "api", "--state-dir", "/tmp/x", "--bind", "127.0.0.1", "--port", "9292"],
     "holds no Glance"),
    (["--tree", "{tree}", "api", "--state-dir", "/tmp/x", "--bind", "127.0.0.1", "--port", "70000"],
     "is not a TCP port"),
    (["--tree", "{tree}", "upload", "--endpoint", "http://127.0.0.1:1", "--file", "f", "--name", "n",
      "--disk-format", "vhd", "--container-format", "ovf", "--visibility", "public", "--property", "novalue",
      "--record", "r"], "KEY=VALUE"),
    (["--tree", "{tree}", "upload", "--endpoint", "http://127.0.0.1:1", "--file", "f", "--name", "n",
      "--disk-format", "vhd", "--container-format", "ovf", "--visibility", "public", "--record", "r",
      "--wait", "0"], "--wait"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, why):
    (tmp_path / "glance").mkdir()
    argv = [probe.GUEST_PYTHON, "-S", str(glance.SCRIPT), *[a.format(tree=tmp_path) for a in args]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=probe.guest_env())
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and why in done.stderr, done.stderr


def test_an_image_that_cannot_be_read_is_one_line_and_exit_1(tmp_path):
    (tmp_path / "glance").mkdir()
    argv = [probe.GUEST_PYTHON, "-S", str(glance.SCRIPT), "--tree", str(tmp_path), "upload", "--endpoint",
            "http://127.0.0.1:1", "--file", str(tmp_path / "missing.vhd.tgz"), "--name", "n", "--disk-format", "vhd",
            "--container-format", "ovf", "--visibility", "public", "--record", str(tmp_path / "r.json")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=probe.guest_env())
    assert (done.returncode, done.stderr) == (1, f"glance-service: cannot read {tmp_path}/missing.vhd.tgz: "
                                                 "No such file or directory\n")


# glance-api 20.2.0's own lines (its log colours each line's end), from the lifecycle tests' runs.
API_LOG = (Path(__file__).parent / "recorded" / "glance-api.log").read_text().splitlines()


def test_the_requests_are_read_from_the_api_logs_request_lines():
    requests = glance.requests_in(API_LOG)
    assert len(requests) == sum('eventlet.wsgi.server' in line and 'HTTP/1.1" ' in line for line in API_LOG) == 9
    assert requests[:5] == [glance.Request("GET", "/versions", 200), glance.Request("GET", "/versions", 200),
                            glance.Request("GET", "/v2/images?name=xenlab-test-disk&limit=20", 200),
                            glance.Request("GET", "/v2/schemas/image", 200), glance.Request("POST", "/v2/images", 201)]
    assert requests[-4:] == [
        glance.Request("PUT", "/v2/images/49e33130-2c3d-460a-876c-f33eee8a6158/file", 204),
        glance.Request("GET", "/versions?xenlab-mark=7beec8b90af546ada7d3fc03eb346f57", 200),
        glance.Request("GET", "/v2/images/nope/file", 404),
        glance.Request("PATCH", "/v2/images/6926fae5-4482-4afe-80eb-476568950c6f", 403)]


class Logged:
    """What LoopbackGlance reads of its running API: the lines its process printed."""

    def __init__(self, lines):
        self.lines = lines


def test_requests_since_a_mark_leave_the_marks_out(tmp_path):
    server = glance.LoopbackGlance(tmp_path)
    assert server.requests() == []
    server.process = Logged(API_LOG)
    logged = glance.requests_in(API_LOG)
    mark = [r.path for r in logged].index("/versions?xenlab-mark=7beec8b90af546ada7d3fc03eb346f57")
    assert server.requests() == logged[:mark] + logged[mark + 1:]
    assert server.requests(mark + 1) == [glance.Request("GET", "/v2/images/nope/file", 404),
                                         glance.Request("PATCH", "/v2/images/6926fae5-4482-4afe-80eb-476568950c6f", 403)]


@pytest.fixture
def http_answers():
    """A loopback HTTP server answering 200 with the path it was asked for, 404 under /missing."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = self.path.encode()
            self.send_response(404 if self.path.startswith("/missing") else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_prefixed_glance_is_asked_from_inside_its_prefix(tmp_path, http_answers):
    from xenlab.errors import ToolError

    inside = glance.LoopbackGlance(tmp_path, port=http_answers, prefix=["/usr/bin/env", "LC_ALL=C"])
    assert inside.get("/v2/images?limit=1") == b"/v2/images?limit=1"
    assert inside.download("abc") == b"/v2/images/abc/file" and list(tmp_path.iterdir()) == []
    with pytest.raises(ToolError, match="GET /missing from glance-api failed .*HTTP Error 404"):
        inside.get("/missing")
    with pytest.raises(ToolError, match="GET /v2 from glance-api failed"):
        glance.LoopbackGlance(tmp_path, port=http_answers, prefix=["/bin/false"]).get("/v2")
    assert glance.LoopbackGlance(tmp_path, port=http_answers).get("/v2/x") == b"/v2/x"
