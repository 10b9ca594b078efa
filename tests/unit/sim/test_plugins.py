import pickle

import pytest

from xenlab.sim import plugins
from xenlab.sim.store import Failure


def test_answer_is_the_python2_pickle():
    assert plugins.dumps("2.1") == "S'2.1'\np0\n."
    assert plugins.loads(plugins.dumps("it's")) == "it's"


def test_loads_refuses_anything_but_data():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with pytest.raises(pickle.UnpicklingError):
        plugins.loads(pickle.dumps(Evil(), protocol=0).decode())


def test_call(tmp_path):
    path = tmp_path / "dom0_plugin_version.py"
    with pytest.raises(Failure, match="XENAPI_MISSING_PLUGIN"):
        plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", {})
    path.write_text('PLUGIN_VERSION = "2.1"\n')
    path.chmod(0o755)
    params = {"params": "(dp0\nS'args'\np1\n(tp2\nsS'kwargs'\np3\n(dp4\ns."}
    assert plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", params) == "S'2.1'\np0\n."
    # A serialized function called without a pickle: the plugin's own KeyError (utils._handle_serialization).
    with pytest.raises(Failure, match="KeyError"):
        plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", {})
    with pytest.raises(Failure, match="INTERNAL_ERROR"):  # Python 3 os-xenapi's bytes: rpclib's type error
        plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", {"params": b"x"})
    with pytest.raises(Failure, match="XENAPI_MISSING_PLUGIN"):
        plugins.call(tmp_path, "../etc/passwd", "x", {})
    with pytest.raises(Failure, match="UNKNOWN_XENAPI_PLUGIN_FUNCTION"):
        plugins.call(tmp_path, "dom0_plugin_version.py", "nope", {})


# ------------------------------------------------------------------ the simulated plugins, from the records

import json  # noqa: E402

from xenlab.plugin_pickle import NO_ARGS  # noqa: E402
from xenlab.sim.api import Api  # noqa: E402

PLUGINS = ("dom0_plugin_version.py", "xenhost.py", "bandwidth.py", "agent.py")


@pytest.fixture
def api(tmp_path):
    for name in PLUGINS:
        path = tmp_path / name
        path.write_text('PLUGIN_VERSION = "2.1"\n')
        path.chmod(0o755)
    return Api("root", "pw", tmp_path)


def plugin(api, name, fn, args):
    host = api.refs["host"]
    return plugins.call(api.plugin_dir, name, fn, args, api=api, host=host)


def host_data(api):
    uuid = api.store.record("host", api.refs["host"])["uuid"]
    return json.loads(plugin(api, "xenhost.py", "host_data", {"host_uuid": uuid}))


def test_host_data_is_what_nova_reads_and_follows_the_records(api):
    data = host_data(api)
    host = api.store.record("host", api.refs["host"])
    metrics = api.store.record("host_metrics", host["metrics"])
    assert data["host_memory"] == {"total": metrics["memory_total"], "overhead": host["memory_overhead"],
                                   "free": metrics["memory_free"], "free-computed": metrics["memory_free"]}
    cpu = data["host_cpu_info"]
    assert cpu["cpu_count"] == 2 and isinstance(cpu["family"], int) and cpu["flags"].split()[0] == "fpu"
    assert cpu["socket_count"] == "1" and data["host_hostname"] == host["hostname"]
    assert data["host_capabilities"] == host["capabilities"] and data["enabled"] == "true"
    host["cpu_info"]["cpu_count"] = "16"
    metrics["memory_total"] = 64 * 2**30
    host["hostname"] = "renamed"
    changed = host_data(api)
    assert (changed["host_cpu_info"]["cpu_count"], changed["host_memory"]["total"], changed["host_hostname"]) == (
        16, 64 * 2**30, "renamed")


def test_host_data_without_host_uuid_fails_as_the_plugin_does(api):
    with pytest.raises(Failure) as exc:
        plugin(api, "xenhost.py", "host_data", {})
    assert exc.value.description == ["XENAPI_PLUGIN_FAILURE", "host_data", "KeyError", "'host_uuid'"]


def test_host_uptime_is_json_with_uptime_1s_text(api):
    answer = json.loads(plugin(api, "xenhost.py", "host_uptime", {}))
    assert " up " in answer["uptime"] and "load average:" in answer["uptime"]
    assert plugins.uptime_text(now=0, up=3 * 86400 + 3720, load=(0, 0.01, 0.05), users=1).endswith(
        " up 3 days,  1:02,  1 user,  load average: 0.00, 0.01, 0.05\n")
    assert " up 5 min, " in plugins.uptime_text(now=0, up=300, load=(0, 0, 0))


def test_pci_details_list_the_hosts_pci_records_as_lspci_does(api):
    text = plugins.loads(plugin(api, "xenhost.py", "get_pci_device_details", {"params": NO_ARGS}))
    records = [r for r in text.split("\n\n") if r]
    assert len(records) == len(api.store.record("host", api.refs["host"])["PCIs"])
    assert records[0].startswith("Slot:\t00:00.0\nClass:\t0600\nVendor:\t8086\nDevice:\t1237")
    assert "Driver:\te1000" in text and "pciback" not in text


def test_pci_type_of_a_known_and_an_unknown_device(api):
    params = plugins.dumps({"args": ("00:03.0",), "kwargs": {}})
    assert plugins.loads(plugin(api, "xenhost.py", "get_pci_type", {"params": params})) == "type-PCI"
    with pytest.raises(Failure) as exc:
        plugin(api, "xenhost.py", "get_pci_type", {"params": plugins.dumps({"args": ("09:00.0",), "kwargs": {}})})
    assert exc.value.description[:3] == ["XENAPI_PLUGIN_FAILURE", "get_pci_type", "PluginError"]


def test_bandwidth_lists_the_vifs_of_running_guests(api):
    assert plugins.loads(plugin(api, "bandwidth.py", "fetch_all_bandwidth", {"params": NO_ARGS})) == {}
    store, host = api.store, api.refs["host"]
    vm = store.add("VM", {"name_label": "g", "power_state": "Running", "resident_on": host, "domid": 7})
    vif = store.add("VIF", {"VM": vm, "device": "0"})
    store.update("VM", vm, VIFs=[vif])
    assert plugins.loads(plugin(api, "bandwidth.py", "fetch_all_bandwidth", {"params": NO_ARGS})) == {
        "7": {"0": {"bw_in": 0, "bw_out": 0}}}


def test_functions_the_stand_in_does_not_run_fail_cleanly(api):
    with pytest.raises(Failure) as exc:
        plugin(api, "xenhost.py", "host_reboot", {})
    assert exc.value.description[:3] == ["XENAPI_PLUGIN_FAILURE", "host_reboot", "NotImplementedError"]
    with pytest.raises(Failure) as exc:
        plugin(api, "agent.py", "version", {})
    assert exc.value.description[:3] == ["XENAPI_PLUGIN_FAILURE", "version", "NotImplementedError"]
    with pytest.raises(Failure) as exc:
        plugin(api, "bandwidth.py", "nope", {})
    assert exc.value.description == ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "nope"]


def test_a_plugin_xapi_cannot_execute(api):
    (api.plugin_dir / "bandwidth.py").chmod(0o644)
    with pytest.raises(Failure) as exc:
        plugin(api, "bandwidth.py", "fetch_all_bandwidth", {"params": NO_ARGS})
    assert exc.value.description[:3] == ["XENAPI_PLUGIN_FAILURE", "non-zero exit", ""]
