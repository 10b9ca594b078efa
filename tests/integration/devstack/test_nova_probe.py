"""Nova's compute probe against the simulator: Nova 21.2.4's real XenAPI driver from
the install tree xenlab builds, under Debian's /usr/bin/python3 -S, reporting the
hypervisor the simulator's records describe.

The wheels come from PyPI in the root namespace first; the simulator then serves
on port 80 of the lab's xenserver address inside a network namespace this test
makes (Nova's client cannot take a port), and the probe runs in there too.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support import labs
from tests.support.netns import Netns
from tests.support.prereq import require_root, require_tool
from tests.support.simproc import SimProcess
from xenlab.devstack import conf, probe
from xenlab.sim import statedb
from xenlab.sim.seed import seed
from xenlab.sim.store import Store
from xenlab.xenserver import osxenapi

pytestmark = pytest.mark.root
GIB, MIB = 2**30, 2**20
EXPECTED = {"vcpus": 6, "memory_mb": 12288, "local_gb": 77, "hypervisor_type": "XenServer",
            "hypervisor_version": 8003000, "hypervisor_hostname": "probe-host"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    require_root()
    require_tool("ip", "python3")
    # Registry downloads happen here, in the root namespace, before any namespaced part.
    log = tmp_path_factory.mktemp("probe-log") / "pip.log"
    return probe.ensure_tree(log), osxenapi.plugins(osxenapi.sdist("0.3.4"))


def edited_state(path):
    """A seeded host with other numbers: the report must follow the records, not constants."""
    store = Store(schema=True)
    refs = seed(store, "192.168.57.10")
    host = store.record("host", refs["host"])
    host["cpu_info"]["cpu_count"] = "6"
    host["hostname"] = "probe-host"
    store.record("host_metrics", host["metrics"]).update(memory_total=12 * GIB, memory_free=9 * GIB)
    # Free memory as memory_check.ml computes it: total - the host's overhead - dom0's memory.
    dom0_memory = 3 * GIB - host["memory_overhead"]
    store.record("VM", refs["control_domain"]).update(**{f"memory_{k}": dom0_memory for k in (
        "static_min", "dynamic_min", "dynamic_max", "static_max", "target")})
    store.record("SR", refs["sr"])["physical_size"] = 77 * GIB
    statedb.save(store, path)


def run_probe(tmp_path, tree, plugins, keep=lambda name: True, service=None):
    cfg = labs.load(tmp_path / "lab")
    nova_conf = tmp_path / "nova.conf"
    nova_conf.write_text(conf.render_nova_conf(cfg))
    edited_state(tmp_path / "state.db")
    address = cfg.network.xenserver_ip
    with Netns() as ns:
        ns.run(["ip", "addr", "add", f"{address}/24", "dev", "lo"], timeout=30)
        sim = SimProcess(tmp_path, "--state-db", str(tmp_path / "state.db"), password=labs.PASSWORD,
                         prefix=ns.argv([]), bind=address, port=80)
        sim.plugin_dir.mkdir(parents=True)
        for name, data in plugins.items():
            if keep(name):
                (sim.plugin_dir / name).write_bytes(data)
                (sim.plugin_dir / name).chmod(0o755)
        with sim:
            if service:
                return service(ns, sim, tree, nova_conf)
            run = probe.command(tree, nova_conf, refreshes=1)
            done = subprocess.run(ns.argv(run.argv), env=run.env, capture_output=True, text=True, timeout=300)
    return done


def test_the_probe_reports_the_hypervisor_the_records_describe(tmp_path, tree):
    done = run_probe(tmp_path, *tree)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["hypervisor"] == EXPECTED
    assert report["nodes"] == ["probe-host"] and report["instances"] == []
    assert (report["inventory"]["VCPU"]["total"], report["inventory"]["MEMORY_MB"]["total"],
            report["inventory"]["DISK_GB"]["total"]) == (6, 12288, 77)
    assert report["used"]["memory_mb_used"] == 3 * 1024  # the host's overhead and dom0's memory
    assert "call_plugin_serialized" in report["changes"][0]
    refresh = report["xenapi_calls"]["refresh_1"]
    assert refresh["host.call_plugin xenhost.py host_data"] == 1 and refresh["SR.scan"] == 1
    assert labs.PASSWORD not in done.stdout + done.stderr


def test_a_missing_plugin_is_named_in_one_line(tmp_path, tree):
    done = run_probe(tmp_path, *tree, keep=lambda name: name != "xenhost.py")
    assert done.returncode == 1 and done.stdout == ""
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("nova-probe:")]
    assert len(line) == 1
    assert line[0].startswith("nova-probe: get_available_resource failed: XenAPI host.call_plugin xenhost.py "
                              "host_data -> XENAPI_MISSING_PLUGIN xenhost.py")


def test_as_a_service_it_starts_once_and_answers_each_ask_with_a_fresh_refresh(tmp_path, tree):
    socket_path = tmp_path / "probe.sock"

    def service(ns, sim, tree_dir, nova_conf):
        run = probe.command(tree_dir, nova_conf, serve=socket_path)
        server = subprocess.Popen(ns.argv(run.argv), env=run.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        try:
            answers = []
            for _ in range(2):
                done = subprocess.run(ns.argv(probe.ask(socket_path, timeout=240)), capture_output=True,
                                      text=True, timeout=300)
                assert done.returncode == 0, done.stderr
                answers.append(json.loads(done.stdout))
            (sim.plugin_dir / "xenhost.py").unlink()  # the host loses a plugin: the next ask says so
            done = subprocess.run(ns.argv(probe.ask(socket_path, timeout=60)), capture_output=True, text=True,
                                  timeout=120)
            answers.append(json.loads(done.stdout))
            return answers
        finally:
            server.terminate()
            server.wait(timeout=30)

    first, second, broken = run_probe(tmp_path, *tree, service=service)
    assert first["hypervisor"] == second["hypervisor"] == EXPECTED
    # Started once: the constructor's calls are counted once, each ask makes its own refresh.
    assert first["xenapi_calls"]["XenAPIDriver"] == second["xenapi_calls"]["XenAPIDriver"]
    assert second["xenapi_calls"]["get_available_resource"]["host.call_plugin xenhost.py host_data"] == 1
    assert broken["error"].startswith("nova-probe: get_available_resource failed: XenAPI host.call_plugin "
                                      "xenhost.py host_data -> XENAPI_MISSING_PLUGIN")
    assert socket_path.stat().st_mode & 0o077 == 0  # the report is the lab's: root's only
