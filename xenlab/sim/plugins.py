"""host.call_plugin: plugins that are installed in a plugin directory on disk.

As in XAPI, a plugin is a file in the plugin directory that must exist and be
executable. The os-xenapi plugins are Python 2 scripts and the stand-in guest has
none, so the simulator answers their functions itself, reading what it needs
(e.g. PLUGIN_VERSION) from the installed file: installing, removing or replacing
the file changes the answer, as on a real host.

Arguments and answers travel as os-xenapi exchanges them (see xenlab.plugin_pickle).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..plugin_pickle import dumps, loads
from .store import Failure

_VERSION = re.compile(r"""^PLUGIN_VERSION\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def get_version(path: Path, *args, **kwargs) -> str:
    m = _VERSION.search(path.read_text(errors="replace"))
    if not m:
        raise Failure("XENAPI_PLUGIN_FAILURE", "get_version", "PluginError", f"no PLUGIN_VERSION in {path.name}")
    return m.group(1)


def host_uptime(path: Path, *args, **kwargs) -> str:
    with open("/proc/uptime") as fh:
        return fh.read().split()[0]


# (plugin file, function) -> handler(path, *args, **kwargs). Simulate more of a
# plugin by adding entries here.
HANDLERS = {
    ("dom0_plugin_version.py", "get_version"): get_version,
    ("xenhost.py", "host_uptime"): host_uptime,
}


def call(plugin_dir: Path, plugin: str, fn: str, args) -> str:
    if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
        # XAPI's args are a map of string to string; under Python 3, os-xenapi 0.3.4
        # sends bytes, which XML-RPC turns into base64: a real host refuses those too.
        raise Failure("FIELD_TYPE_ERROR", "args")
    if "/" in plugin or plugin in ("", ".", ".."):
        raise Failure("XENAPI_MISSING_PLUGIN", plugin)
    path = Path(plugin_dir) / plugin
    if not path.is_file():
        raise Failure("XENAPI_MISSING_PLUGIN", plugin)
    if not os.access(path, os.X_OK):
        raise Failure("XENAPI_PLUGIN_FAILURE", "exec", "PermissionError", f"{plugin} is not executable")
    handler = HANDLERS.get((plugin, fn))
    if handler is None:
        raise Failure("XENAPI_PLUGIN_FAILURE", fn, "UnknownMethod", f"{plugin} {fn} is not simulated")
    if "params" not in args:
        return str(handler(path))
    try:
        params = loads(args["params"])
        call_args, call_kwargs = list(params.get("args", ())), dict(params.get("kwargs", {}))
    except Exception as exc:  # a malformed pickle is the caller's fault, not a crash
        raise Failure("XENAPI_PLUGIN_FAILURE", fn, "UnpicklingError", str(exc)) from None
    return dumps(handler(path, *call_args, **call_kwargs))
