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


# ------------------------------------------------------------------ the lifecycle's plugins (os-xenapi 0.3.4)

import base64  # noqa: E402
import zlib  # noqa: E402

from .conftest import Host  # noqa: E402


def serialized(*args, **kwargs) -> str:
    """What os-xenapi's call_plugin_serialized sends under Python 2.7."""
    return pickle.dumps({"args": args, "kwargs": kwargs}, protocol=0).decode("latin-1")


@pytest.fixture
def lab(tmp_path):
    """A host with a running guest (domid known) and every plugin file installed."""
    for name in ("xenstore.py", "console.py", "xenhost.py", "netwrap.py", "glance.py"):
        (tmp_path / name).write_text("# os-xenapi's file\n")
        (tmp_path / name).chmod(0o755)
    from xenlab.sim.machine import Simulated

    a = Api("root", "pw", tmp_path, machine=Simulated(sr_root=tmp_path / "sr"))
    host = Host(a, a.dispatch("session.login_with_password", ("root", "pw"))["Value"])
    vm = host.vm(xenstore_data={"vm-data/hostname": "guest"})
    host.call("VM.start", vm, False, False)
    return host, int(host.call("VM.get_domid", vm))


def test_xenstore_plugin_reads_writes_lists_and_deletes(lab):
    """xenstore.py read_record/write_record/list_records/delete_record: JSON answers (jsonify); a
    missing path is "None" with ignore_missing_path, else XenstoreError; deleting a gone path is fine."""
    host, domid = lab

    def xs(fn, **args):
        return plugin(host.api, "xenstore.py", fn, {"dom_id": str(domid), **args})
    assert json.loads(xs("read_record", path="vm-data/hostname")) == "guest"
    assert xs("write_record", path="vm-data/networking/fa163e000001", value='{"label": "net"}') == '{"label": "net"}'
    assert json.loads(xs("list_records", path="vm-data/networking")) == {"fa163e000001": {"label": "net"}}
    assert json.loads(xs("read_record", path="vm-data/nope", ignore_missing_path="True")) == "None"
    with pytest.raises(Failure) as exc:
        xs("read_record", path="vm-data/nope")
    assert exc.value.description[:3] == ["XENAPI_PLUGIN_FAILURE", "read_record", "XenstoreError"]
    assert "couldn't read path" in exc.value.description[3]
    assert xs("delete_record", path="vm-data/networking") == '""'
    assert xs("delete_record", path="vm-data/networking") == '""'
    assert json.loads(xs("list_records", path="vm-data/networking")) == {}


def test_console_plugin_returns_the_simulated_console(lab):
    """console.py get_console_log: base64 of zlib of the log's last 100 KiB; a domain with no log
    fails as open() fails; a dom_id that is no number is PluginError "Invalid dom_id"."""
    host, domid = lab
    text = zlib.decompress(base64.b64decode(plugin(host.api, "console.py", "get_console_log",
                                                   {"dom_id": str(domid)}))).decode()
    assert "no guest runs here, this console is simulated" in text and f"domain {domid}" in text
    with pytest.raises(Failure) as exc:
        plugin(host.api, "console.py", "get_console_log", {"dom_id": "999"})
    assert exc.value.description[2:] == ["IOError",
                                         "[Errno 2] No such file or directory: '/var/log/xen/guest/console.999'"]
    with pytest.raises(Failure) as exc:
        plugin(host.api, "console.py", "get_console_log", {"dom_id": "x"})
    assert exc.value.description[2:] == ["PluginError", "Invalid dom_id"]


def test_network_config_runs_novas_dom0_network_commands(lab):
    """xenhost.py network_config (serialized): only ALLOWED_NETWORK_CMDS, each a command in dom0 whose
    failure is PluginError(stderr) (_run_command); netwrap.py run_command answers {returncode, out, err}."""
    host, domid = lab

    def net(cmd, **args):
        return plugins.loads(plugin(host.api, "xenhost.py", "network_config",
                                    {"params": serialized({"cmd": cmd, "args": args})}))
    with pytest.raises(Failure) as exc:
        net("ip_link_get_dev", device_name="qbr1")
    assert exc.value.description[2:] == ["PluginError", 'Device "qbr1" does not exist.\n']
    net("brctl_add_br", bridge_name="qbr1")
    net("ip_link_add_veth_pair", dev1_name="qvb1", dev2_name="qvo1")
    net("brctl_add_if", bridge_name="qbr1", interface_name="qvb1")
    assert "qbr1:" in net("ip_link_get_dev", device_name="qbr1")
    with pytest.raises(Failure) as exc:
        net("ovs_create_port", bridge="br-int", port="qvo1", **{"iface-id": "p", "mac": "m", "status": "active"})
    assert exc.value.description[3] == "ovs-vsctl: no bridge named br-int\n"
    answer = json.loads(plugin(host.api, "netwrap.py", "run_command",
                               {"cmd": json.dumps(["ovs-vsctl", "--may-exist", "add-br", "br-int"])}))
    assert answer == {"returncode": 0, "out": "", "err": ""}
    net("ovs_create_port", bridge="br-int", port="qvo1", **{"iface-id": "p", "mac": "m", "status": "active"})
    assert host.api.dom0(host.host).links["qvo1"].external_ids["external_ids:iface-id"] == "p"
    with pytest.raises(Failure) as exc:
        net("reboot")
    assert exc.value.description[2:] == ["PluginError", "Dom0 execution of 'reboot' is not permitted"]
    with pytest.raises(Failure) as exc:
        net("ip_link_del_dev")
    assert exc.value.description[2:] == ["ArgumentError", "Argument device_name is required."]
    with pytest.raises(Failure) as exc:
        plugin(host.api, "netwrap.py", "run_command", {"cmd": json.dumps(["rm", "-rf", "/"])})
    assert exc.value.description[2:] == ["PluginError", "Dom0 execution of 'rm' is not permitted"]
    failed = json.loads(plugin(host.api, "netwrap.py", "run_command",
                               {"cmd": json.dumps(["ovs-vsctl", "del-br", "br-nope"])}))
    assert failed == {"returncode": 1, "out": "", "err": "ovs-vsctl: no bridge named br-nope\n"}
