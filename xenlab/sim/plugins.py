"""host.call_plugin: plugins installed in a plugin directory, answered as XAPI and
the real plugin files answer them.

XAPI's side (xapi-project/xen-api ocaml/xapi/xapi_plugins.ml): the plugin must be a
file in the plugin directory (else XENAPI_MISSING_PLUGIN [name]) that XAPI can
execute (else XENAPI_PLUGIN_FAILURE ["non-zero exit", stdout, stderr]); the
plugin's own answer, success or failure, is passed through. The plugin's side
(XenAPIPlugin.dispatch, python3/examples/XenAPIPlugin.py): a function it does not
know fails UNKNOWN_XENAPI_PLUGIN_FUNCTION [fn]; an exception in a function fails
XENAPI_PLUGIN_FAILURE [fn, exception class, message].

The os-xenapi plugins are Python 2 scripts and the stand-in has no Python 2, so
the simulator answers their functions itself, from its records, with the shapes
os-xenapi 0.3.4's files produce (os_xenapi/dom0/etc/xapi.d/plugins/*.py, cited per
function). Serialized functions (utils.register_plugin_calls) take and return
protocol-0 pickles (see xenlab.plugin_pickle); raw ones (xenhost.py's @jsonify
functions) take the args map and return JSON.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..plugin_pickle import dumps, loads
from . import glance, storage, xapitypes
from .dom0 import CommandFailed
from .failure import Failure

__all__ = ["call", "dumps", "loads", "PLUGINS"]

_VERSION = re.compile(r"""^PLUGIN_VERSION\s*=\s*["']([^"']+)["']""", re.MULTILINE)


class PluginError(Exception):
    """dom0_pluginlib.PluginError: what os-xenapi's plugins raise when a command fails."""


class ArgumentError(PluginError):
    """dom0_pluginlib.ArgumentError: a required argument is missing (pluginlib.exists)."""


class XenstoreError(PluginError):
    """xenstore.py XenstoreError: a xenstore-* command failed."""

    def __init__(self, cmd: str, code: int, stderr: str, stdout: str = ""):
        super().__init__(f"cmd: {cmd}; returncode: {code}; stderr: {stderr}; stdout: {stdout}")
        self.stderr = stderr


def _exists(args: dict, key: str):
    """dom0_pluginlib.exists."""
    if key not in args:
        raise ArgumentError(f"Argument {key} is required.")
    return args[key]


@dataclass
class Context:
    """What a simulated plugin function sees: the plugin file, and the simulator (or None)."""

    path: Path
    api: object = None
    host: str = ""


@dataclass
class Plugin:
    raw: dict[str, Callable] = field(default_factory=dict)
    serialized: dict[str, Callable] = field(default_factory=dict)
    # Functions the real file dispatches that the simulator does not run.
    unsimulated: tuple[str, ...] = ()


# ------------------------------------------------------------------ dom0_plugin_version.py


def get_version(ctx: Context) -> str:
    """The installed file's PLUGIN_VERSION: replacing the file changes the answer, as on a host."""
    m = _VERSION.search(ctx.path.read_text(errors="replace"))
    if not m:
        raise PluginError(f"no PLUGIN_VERSION in {ctx.path.name}")
    return m.group(1)


# ------------------------------------------------------------------ xenhost.py

# xenhost.py host_data_pattern, parse_response and cleanup (os-xenapi 0.3.4): the
# plugin turns `xe host-param-list uuid=<host_uuid>` into Nova's host data.
_HOST_DATA_LINE = re.compile(r"\s*(\S+) \([^\)]+\) *: ?(.*)")


def _parse_response(resp: str) -> dict:
    data = {}
    for ln in resp.splitlines():
        m = _HOST_DATA_LINE.match(ln.strip()) if ln else None
        if m:
            data[m.group(1)] = m.group(2)
    return data


def _safe_int(val):
    try:
        return int(val)
    except ValueError:
        return None


def _cleanup(dct: dict) -> dict:
    def strip_kv(ln):
        return [val.strip() for val in ln.split(":", 1)]

    out = {"enabled": dct.get("enabled", "true") == "true"}
    out["host_memory"] = {
        "total": _safe_int(dct.get("memory-total", "")),
        "overhead": _safe_int(dct.get("memory-overhead", "")),
        "free": _safe_int(dct.get("memory-free", "")),
        "free-computed": _safe_int(dct.get("memory-free-computed", "")),
    }
    out["enabled"] = dct.get("enabled", True)
    out["host_uuid"] = dct.get("uuid", None)
    out["host_name-label"] = dct.get("name-label", "")
    out["host_name-description"] = dct.get("name-description", "")
    out["host_hostname"] = dct.get("hostname", "")
    out["host_ip_address"] = dct.get("address", "")
    ocd = {}
    if dct.get("other-config", ""):
        for oc_fld in dct["other-config"].split("; "):
            ock, ocv = strip_kv(oc_fld)
            ocd[ock] = ocv
    out["host_other-config"] = ocd
    out["host_capabilities"] = dct.get("capabilities", "").replace(";", "").split()
    ocp = {}
    if dct.get("cpu_info", ""):
        for cpln in dct["cpu_info"].split("; "):
            cpk, cpv = strip_kv(cpln)
            ocp[cpk] = _safe_int(cpv) if cpk in ("cpu_count", "family", "model", "stepping") else cpv
    out["host_cpu_info"] = ocp
    return out


def _xe(ctx: Context, *argv: str) -> str:
    """`xe ...` run by a plugin in dom0 (utils.run_command: a failure raises PluginError(stderr))."""
    from . import xe_server

    result = xe_server.run(ctx.api, list(argv))
    if result.code:
        raise PluginError(result.stderr)
    return result.stdout


def host_data(ctx: Context, arg_dict: dict) -> str:
    """xenhost.py host_data: json of cleanup(parse(xe host-param-list)), plus /usr/etc/xenhost.conf
    (absent on the stand-in: {})."""
    host_uuid = arg_dict["host_uuid"]
    return json.dumps(_cleanup(_parse_response(_xe(ctx, "host-param-list", f"uuid={host_uuid}"))))


def uptime_text(now: float | None = None, up: float | None = None, load: tuple | None = None,
                users: int = 0) -> str:
    """What uptime(1) prints (procps-ng sprint_uptime), for the machine the simulator runs on."""
    if up is None:
        with open("/proc/uptime") as fh:
            up = float(fh.read().split()[0])
    if load is None:
        load = os.getloadavg()
    clock = time.localtime(now if now is not None else time.time())
    text = f" {clock.tm_hour:02d}:{clock.tm_min:02d}:{clock.tm_sec:02d} up "
    days, minutes = int(up) // 86400, int(up) // 60
    hours, minutes = (minutes // 60) % 24, minutes % 60
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    text += f"{users:2d} user{'' if users == 1 else 's'}, "
    text += " load average: %.2f, %.2f, %.2f" % tuple(load)
    return text + "\n"


def host_uptime(ctx: Context, arg_dict: dict) -> str:
    """xenhost.py host_uptime: @jsonify {"uptime": <output of uptime>}."""
    return json.dumps({"uptime": uptime_text()})


def _host_pcis(ctx: Context) -> list[dict]:
    store = ctx.api.store
    return [store.record("PCI", ref) for ref in store.record("host", ctx.host).get("PCIs", [])
            if ref in store.classes.get("PCI", {})]


def get_pci_device_details(ctx: Context) -> str:
    """xenhost.py get_pci_device_details: `lspci -vmmnk` of the host, here from its PCI records
    (a record whose driver_name is pciback is offered to Nova for passthrough)."""
    out = []
    for pci in _host_pcis(ctx):
        slot = pci.get("pci_id", "")
        lines = [f"Slot:\t{slot[5:] if slot.startswith('0000:') else slot}",
                 f"Class:\t{pci.get('class_id', '')}", f"Vendor:\t{pci.get('vendor_id', '')}",
                 f"Device:\t{pci.get('device_id', '')}"]
        if pci.get("subsystem_vendor_id"):
            lines += [f"SVendor:\t{pci['subsystem_vendor_id']}", f"SDevice:\t{pci.get('subsystem_device_id', '')}"]
        if pci.get("driver_name"):
            lines += [f"Driver:\t{pci['driver_name']}"]
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def get_pci_type(ctx: Context, pci_device: str) -> str:
    """xenhost.py get_pci_type: type-PCI for a device the host has (the simulator models no SR-IOV);
    `ls` of a missing device fails as the plugin's _run_command makes it fail."""
    if pci_device.count(":") == 1:
        pci_device = "0000:" + pci_device
    if not any(p.get("pci_id") == pci_device for p in _host_pcis(ctx)):
        raise PluginError(f"ls: cannot access '/sys/bus/pci/devices/{pci_device}/': No such file or directory\n")
    return "type-PCI"


# ------------------------------------------------------------------ bandwidth.py


def fetch_all_bandwidth(ctx: Context) -> dict:
    """bandwidth.py fetch_all_bandwidth: {domid: {vif number: {bw_in, bw_out}}} of the vifD.N devices
    in /proc/net/dev, here one per VIF of each running guest on the host (no traffic: 0 bytes)."""
    store = ctx.api.store
    out: dict = {}
    for vm in store.classes.get("VM", {}).values():
        if vm.get("is_control_domain") or vm.get("power_state") != "Running" or vm.get("resident_on") != ctx.host:
            continue
        for vif in vm.get("VIFs", []):
            device = store.classes.get("VIF", {}).get(vif, {}).get("device")
            if device is not None:
                out.setdefault(str(vm.get("domid", "")), {})[str(device)] = {"bw_in": 0, "bw_out": 0}
    return out


# ------------------------------------------------------------------ glance.py


def _sr_path(ctx: Context, sr_path: str):
    """The SR directory the caller named, as dom0 sees it (storage.dom0_sr_path)."""
    return storage.dom0_sr_path(ctx.api, sr_path)


def download_vhd2(ctx: Context, image_id, endpoint, uuid_stack, sr_path, extra_headers, api_version=1):
    """glance.py download_vhd2 (os-xenapi 0.3.4): GET the tarball, import its VHD chain (glance.py here)."""
    return glance.download_vhd2(_sr_path(ctx, sr_path), image_id, endpoint, uuid_stack, extra_headers,
                                api_version)


def upload_vhd2(ctx: Context, vdi_uuids, image_id, endpoint, sr_path, extra_headers, properties, api_version=1):
    """glance.py upload_vhd2 (os-xenapi 0.3.4): the VDIs' chain as a tarball, PUT to the image service."""
    glance.upload_vhd2(_sr_path(ctx, sr_path), vdi_uuids, image_id, endpoint, extra_headers, properties,
                       api_version)


# ------------------------------------------------------------------ xenstore.py


def _xenstore(ctx: Context, action, command: str, path: str):
    try:
        return action()
    except CommandFailed as exc:
        raise XenstoreError(f"{command} {path}", exc.code, exc.stderr) from None


def _json_answer(value) -> str:
    """xenstore.py jsonify: a value that is JSON already goes as it is, anything else is dumped."""
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            pass
    return json.dumps(value)


def _domain_path(args: dict) -> str:
    return "/local/domain/%s/%s" % (args["dom_id"], args["path"])


def read_record(ctx: Context, args: dict) -> str:
    """xenstore.py read_record: the value, or "None" for a missing path when ignore_missing_path."""
    dom0 = ctx.api.dom0(ctx.host)
    path = _domain_path(args)
    try:
        return _json_answer(dom0.xs_read(path).strip())
    except CommandFailed as exc:
        if not args.get("ignore_missing_path", False) or dom0.xs_exists(path):
            raise XenstoreError(f"xenstore-read {path}", exc.code, exc.stderr) from None
        return _json_answer("None")


def write_record(ctx: Context, args: dict) -> str:
    """xenstore.py write_record."""
    ctx.api.dom0(ctx.host).xs_write(_domain_path(args), args["value"])
    return _json_answer(args["value"])


def list_records(ctx: Context, args: dict) -> str:
    """xenstore.py list_records: {relative path: value (JSON-decoded where it parses)}, {} when absent."""
    dom0 = ctx.api.dom0(ctx.host)
    base = _domain_path(args).rstrip("/")
    if not dom0.xs_exists(base):
        return _json_answer({})
    out = {}
    for key, value in sorted(dom0.xenstore.items()):
        if key.startswith(base + "/"):
            try:
                out[key[len(base) + 1:]] = json.loads(value)
            except ValueError:
                out[key[len(base) + 1:]] = value
    return _json_answer(out)


def delete_record(ctx: Context, args: dict) -> str:
    """xenstore.py delete_record: a path already gone is no error."""
    dom0 = ctx.api.dom0(ctx.host)
    path = _domain_path(args)
    try:
        dom0.xs_rm(path)
    except CommandFailed as exc:
        if "could not remove path" not in exc.stderr:
            raise XenstoreError(f"xenstore-rm {path}", exc.code, exc.stderr) from None
    return _json_answer("")


# ------------------------------------------------------------------ console.py

MAX_CONSOLE_BYTES = 102400  # console.py
# Python 2's open() of a missing file raises IOError, as the plugin's failure names it.
Py2IOError = type("IOError", (Exception,), {"__doc__": "Python 2's IOError, named as a dom0 plugin names it"})


def get_console_log(ctx: Context, args: dict) -> str:
    """console.py get_console_log: base64 of the zlib of the last 100 KiB of the domain's log
    (/var/log/xen/guest/console.<domid>; here the simulated domain's console)."""
    if "dom_id" not in args:
        raise PluginError("Missing dom_id")
    try:
        dom_id = int(args["dom_id"])
    except ValueError:
        raise PluginError("Invalid dom_id") from None
    consoles = ctx.api.dom0(ctx.host).consoles
    if dom_id not in consoles:
        raise Py2IOError(f"[Errno 2] No such file or directory: '/var/log/xen/guest/console.{dom_id}'")
    data = consoles[dom_id].encode()[-MAX_CONSOLE_BYTES:]
    return base64.b64encode(zlib.compress(data)).decode()


# ------------------------------------------------------------------ xenhost.py network_config, netwrap.py

# xenhost.py ALLOWED_NETWORK_CMDS: each command's arguments and the command line it runs.
NETWORK_COMMANDS = {
    "ovs_add_patch_port": (("bridge_name", "port_name", "peer_port_name"),
                           lambda a: ["ovs-vsctl", "--", "--if-exists", "del-port", a["port_name"], "--", "add-port",
                                      a["bridge_name"], a["port_name"], "--", "set", "interface", a["port_name"],
                                      "type=patch", f"options:peer={a['peer_port_name']}"]),
    "ovs_del_port": (("bridge_name", "port_name"),
                     lambda a: ["ovs-vsctl", "--", "--if-exists", "del-port", a["bridge_name"], a["port_name"]]),
    "ovs_del_br": (("bridge_name",), lambda a: ["ovs-vsctl", "--", "--if-exists", "del-br", a["bridge_name"]]),
    "ovs_set_if_external_id": (("interface", "extneral_id", "value"),
                               lambda a: ["ovs-vsctl", "set", "Interface", a["interface"],
                                          f"external-ids:{a['extneral_id']}={a['value']}"]),
    "ovs_add_port": (("bridge_name", "port_name"),
                     lambda a: ["ovs-vsctl", "--", "--if-exists", "del-port", a["port_name"], "--", "add-port",
                                a["bridge_name"], a["port_name"]]),
    "ovs_create_port": (("bridge", "port", "iface-id", "mac", "status"),
                        lambda a: ["ovs-vsctl", "--", "--if-exists", "del-port", a["port"], "--", "add-port",
                                   a["bridge"], a["port"], "--", "set", "Interface", a["port"],
                                   f"external_ids:iface-id={a['iface-id']}",
                                   f"external_ids:iface-status={a['status']}",
                                   f"external_ids:attached-mac={a['mac']}",
                                   f"external_ids:xs-vif-uuid={a['iface-id']}"]),
    "ip_link_get_dev": (("device_name",), lambda a: ["ip", "link", "show", a["device_name"]]),
    "ip_link_del_dev": (("device_name",), lambda a: ["ip", "link", "delete", a["device_name"]]),
    "ip_link_add_veth_pair": (("dev1_name", "dev2_name"),
                              lambda a: ["ip", "link", "add", a["dev1_name"], "type", "veth", "peer", "name",
                                         a["dev2_name"]]),
    "ip_link_set_dev": (("device_name", "option"), lambda a: ["ip", "link", "set", a["device_name"], a["option"]]),
    "ip_link_set_promisc": (("device_name", "option"),
                            lambda a: ["ip", "link", "set", a["device_name"], "promisc", a["option"]]),
    "brctl_add_br": (("bridge_name",), lambda a: ["brctl", "addbr", a["bridge_name"]]),
    "brctl_del_br": (("bridge_name",), lambda a: ["brctl", "delbr", a["bridge_name"]]),
    "brctl_set_fd": (("bridge_name", "fd"), lambda a: ["brctl", "setfd", a["bridge_name"], a["fd"]]),
    "brctl_set_stp": (("bridge_name", "option"), lambda a: ["brctl", "stp", a["bridge_name"], a["option"]]),
    "brctl_add_if": (("bridge_name", "interface_name"),
                     lambda a: ["brctl", "addif", a["bridge_name"], a["interface_name"]]),
    "brctl_del_if": (("bridge_name", "interface_name"),
                     lambda a: ["brctl", "delif", a["bridge_name"], a["interface_name"]]),
}


def network_config(ctx: Context, args: dict) -> str:
    """xenhost.py network_config: one allowed command on dom0's network; a failure is
    PluginError(its stderr) (xenhost.py _run_command)."""
    cmd = _exists(args, "cmd")
    if not isinstance(cmd, str):
        raise PluginError(f"invalid command '{cmd}'")
    if cmd not in NETWORK_COMMANDS:
        raise PluginError(f"Dom0 execution of '{cmd}' is not permitted")
    names, argv = NETWORK_COMMANDS[cmd]
    cmd_args = _exists(args, "args")
    for name in names:
        _exists(cmd_args, name)
    try:
        return ctx.api.dom0(ctx.host).command(argv(cmd_args))
    except CommandFailed as exc:
        raise PluginError(exc.stderr) from None


NETWRAP_ALLOWED = ("ip", "ipset", "iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore",
                   "sysctl", "ovs-ofctl", "ovs-vsctl", "ovsdb-client", "conntrack")  # netwrap.py ALLOWED_CMDS


def run_command(ctx: Context, args: dict) -> str:
    """netwrap.py run_command: an allowed command's {returncode, out, err} as JSON (a failure is data)."""
    cmd = json.loads(args.get("cmd"))
    if cmd and cmd[0] not in NETWRAP_ALLOWED:
        raise PluginError(f"Dom0 execution of '{cmd[0]}' is not permitted")
    try:
        out, err, code = ctx.api.dom0(ctx.host).command(cmd), "", 0
    except CommandFailed as exc:
        out, err, code = "", exc.stderr, exc.code
    return json.dumps({"returncode": code, "out": out, "err": err})


# (file name) -> what the simulator answers for it. Simulate more by adding entries.
PLUGINS = {
    "dom0_plugin_version.py": Plugin(serialized={"get_version": get_version}),
    "xenhost.py": Plugin(
        raw={"host_data": host_data, "host_uptime": host_uptime},
        serialized={"get_pci_device_details": get_pci_device_details, "get_pci_type": get_pci_type,
                    "network_config": network_config},
        unsimulated=("set_host_enabled", "host_shutdown", "host_reboot", "host_start", "host_join",
                     "get_config", "set_config", "iptables_config", "query_gc")),
    "bandwidth.py": Plugin(serialized={"fetch_all_bandwidth": fetch_all_bandwidth}),
    "glance.py": Plugin(serialized={"download_vhd2": download_vhd2, "upload_vhd2": upload_vhd2}),
    "xenstore.py": Plugin(raw={"read_record": read_record, "write_record": write_record,
                               "list_records": list_records, "delete_record": delete_record}),
    "console.py": Plugin(raw={"get_console_log": get_console_log}),
    "netwrap.py": Plugin(raw={"run_command": run_command}),
}


def _plugin_failure(fn: str, exc: BaseException) -> Failure:
    return Failure("XENAPI_PLUGIN_FAILURE", fn, type(exc).__name__, str(exc))


def call(plugin_dir: Path, plugin: str, fn: str, args, api=None, host: str = "") -> str:
    """Run `plugin`'s `fn` with `args` (a map of string to string), as XAPI would."""
    args = xapitypes.MAP.check(args)
    # xapi_plugins.ml find_plugin: only a name the plugin directory lists.
    try:
        listed = plugin in os.listdir(plugin_dir)
    except OSError:
        listed = False
    if not listed:
        raise Failure("XENAPI_MISSING_PLUGIN", plugin)
    path = Path(plugin_dir) / plugin
    if not path.is_file() or not os.access(path, os.X_OK):
        raise Failure("XENAPI_PLUGIN_FAILURE", "non-zero exit", "", f"{path}: Permission denied")
    known = PLUGINS.get(plugin)
    ctx = Context(path, api, host)
    if known is None or fn in known.unsimulated:
        what = f"{plugin} {fn}" if known else f"plugin {plugin}"
        raise _plugin_failure(fn, NotImplementedError(f"the xenlab stand-in does not simulate {what}"))
    if fn in known.raw:
        try:
            return known.raw[fn](ctx, args)
        except Failure:
            raise
        except Exception as exc:
            raise _plugin_failure(fn, exc) from None
    if fn not in known.serialized:
        raise Failure("UNKNOWN_XENAPI_PLUGIN_FUNCTION", fn)
    # utils._handle_serialization: pickle.loads(params['params']), call, pickle.dumps(result).
    try:
        params = loads(args["params"])
        result = known.serialized[fn](ctx, *params["args"], **params["kwargs"])
    except Failure:
        raise
    except Exception as exc:
        raise _plugin_failure(fn, exc) from None
    return dumps(result)
