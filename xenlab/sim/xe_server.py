"""xe, server side: the command line parsed, run against the simulator, printed and
failed exactly as XAPI's CLI server does it, for the commands the stand-in's dom0
scripts use. Sources (xapi-project/xen-api v26.1.4, ocaml/xapi-cli-server/):

- parsing: cli_frontend.ml parse_commandline / parse_params_2 (`name=value`,
  `--flag` = `flag=true`, `-x value` switches; any parse error is "Syntax error: ");
- commands and their reqd/optn parameters: cli_frontend.ml cmdtable_data, and the
  generated `<class>-list|param-list|param-get|param-set|param-add|param-remove|
  param-clear` (cli_operations.ml make_param_funs, gen_cmds: default columns);
- records: records.ml (see records.py); printing: cli_printer.ml (records padded to
  the longest name + 4, `--minimal` = first field of each record comma-joined with
  `,` and `\\` escaped);
- errors: xapi_cli.ml exception_handler ("Unknown command: X", "Required parameter
  not found: X", each with "For usage run: 'xe help'"; API errors as their
  datamodel doc and `name: value` lines, cli_util.ml server_error; an OCaml Failure
  as INTERNAL_ERROR "message: Failure: ..."), always exit 1.

Like xe, a parameter an ordinary command does not take is ignored; unlike xe,
every ignored parameter is written to the ignored-parameter log (one line:
`<command> <name>`), so a test can assert that a script passed none.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import records as rec_mod
from .failure import Failure
from .records import NID, CliFailedToFindParam, Ctx, RecordFailure, RecordKind

USAGE_HINT = "For usage run: 'xe help'"
# cli_operations.ml stdparams: every command takes these.
STDPARAMS = ("server", "password", "port", "username", "minimal", "force", "multiple", "all",
             "message-priority", "trace")
# cli_frontend.ml switch_map: `-x value` switches the server understands.
SWITCHES = {"--force": "force", "--live": "live", "--internal": "internal", "-u": "username",
            "-pw": "password", "-s": "server", "-h": "server", "-p": "port", "--debug": "debug",
            "--minimal": "minimal", "--all": "all"}

# Datamodel error docs and parameter names (ocaml/idl/datamodel_errors.ml) of the
# errors these commands can meet; cli_util.ml get_server_error prints them.
ERROR_DOCS = {
    "INTERNAL_ERROR": (["message"], "The server failed to handle your request, due to an internal error. "
                       "The given message may give details useful for debugging the problem."),
    "HANDLE_INVALID": (["class", "handle"], "You gave an invalid object reference. The object may have recently "
                       "been deleted. The class parameter gives the type of reference given, and the handle "
                       "parameter echoes the bad value given."),
    "UUID_INVALID": (["type", "uuid"], "The uuid you supplied was invalid."),
    "INVALID_VALUE": (["field", "value"], "The value given is invalid"),
    "FIELD_TYPE_ERROR": (["field"], "The value specified is of the wrong type"),
    "MAP_DUPLICATE_KEY": (["type", "param_name", "uuid", "key"], "You tried to add a key-value pair to a map, but "
                          "that key is already there."),
    "INVALID_IP_ADDRESS_SPECIFIED": (["parameter"], "A required parameter contained an invalid IP address"),
    "PIF_IS_MANAGEMENT_IFACE": (["PIF"], "The operation you requested cannot be performed because the specified "
                                "PIF is the management interface."),
    "PIF_DOES_NOT_ALLOW_UNPLUG": (["PIF"], "The operation you requested cannot be performed because the specified "
                                  "PIF does not allow unplug."),
    "PIF_HAS_NO_NETWORK_CONFIGURATION": (["PIF"], "PIF has no IP configuration (mode currently set to 'none')"),
    "PIF_UNMANAGED": (["PIF"], "The operation you requested cannot be performed because the specified PIF is not "
                      "managed by xapi."),
    "PIF_ALREADY_BONDED": (["PIF"], "This operation cannot be performed because the pif is bonded."),
    "PIF_NOT_PRESENT": (["host", "network"], "This host has no PIF on the given network."),
    "HOST_NAME_INVALID": (["reason"], "The server name is invalid."),
    "HA_IS_ENABLED": ([], "The operation could not be performed because HA is enabled on the Pool"),
    "SR_UNKNOWN_DRIVER": (["driver"], "The SR could not be connected because the driver was not recognised."),
    "SESSION_INVALID": (["handle"], "You gave an invalid session reference. It may have been invalidated by a "
                        "server restart, or timed out. You should get a new session handle, using one of the "
                        "session.login_ calls. This error does not invalidate the current connection. The handle "
                        "parameter echoes the bad value given."),
    "MESSAGE_METHOD_UNKNOWN": (["method"], "You tried to call a method that does not exist. The method name that "
                               "you used is echoed."),
    "VALUE_NOT_SUPPORTED": (["field", "value", "reason"], "You attempted to set a value that is not supported by "
                            "this implementation. The fully-qualified field name and the value that you tried to "
                            "set are returned. Also returned is a developer-only diagnostic reason."),
    "XENAPI_MISSING_PLUGIN": (["name"], "The requested plug-in could not be found."),
    "XENAPI_PLUGIN_FAILURE": (["status", "stdout", "stderr"], "There was a failure communicating with the "
                              "plug-in."),
}


class ParseError(Exception):
    pass


class ParamNotFound(Exception):
    pass


class UnknownCommand(Exception):
    pass


class OcamlFailure(Exception):
    """An OCaml `Failure msg` in the CLI server: printed as INTERNAL_ERROR "message: Failure: msg"."""


@dataclass
class Result:
    stdout: str
    stderr: str
    code: int


@dataclass
class Output:
    """cli_printer.ml make_printer: what the client prints, and where."""

    minimal: bool
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    buffer: list[str] = field(default_factory=list)  # --minimal, in printing order

    @staticmethod
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace(",", "\\,")

    def table(self, rows: list[list[tuple[str, str]]]) -> None:
        if self.minimal:
            if rows and all(rows):
                self.buffer.append(",".join(self.escape(r[0][1]) for r in rows))
            return
        for row in rows:
            width = 4 + max(len(k) for k, _ in row)
            lines = [f"{row[0][0].ljust(width)}: {row[0][1]}"]
            lines += [f"{k.rjust(width)}: {v}" for k, v in row[1:]]
            # multi_line_record's "\n", the printer's "\n", and the client's print_endline
            self.out.append("\n".join(lines) + "\n\n\n")

    def lines(self, items: list[str]) -> None:
        if self.minimal:
            self.buffer.append(",".join(self.escape(i) for i in items))
            return
        self.out.extend(i + "\n" for i in items)

    def direct(self, text: str) -> None:
        """marshal (Command (Print text)): printed whatever --minimal says."""
        self.out.append(text + "\n")

    def flush(self) -> None:
        if self.minimal:
            self.out.append(",".join(reversed(self.buffer)) + "\n")

    def error(self, text: str) -> None:
        self.err.append(text + "\n")


@dataclass
class Command:
    reqd: list[str]
    optn: list[str]
    help: str
    run: Callable  # (ctx, out, params: list[tuple]) -> None
    takes_any: bool = False  # every parameter means something (list filters, param-set fields)

    def ignored(self, params: list[tuple[str, str]]) -> list[str]:
        if self.takes_any:
            return []
        known = set(self.reqd) | {o for o in self.optn if not o.endswith(":")} | set(STDPARAMS)
        prefixes = [o[:-1] for o in self.optn if o.endswith(":")]
        return [k for k, _ in params if k not in known and not any(
            k.startswith(p) and len(k) > len(p) + 1 for p in prefixes)]


# ------------------------------------------------------------------ parsing


def parse_params(args: list[str]) -> list[tuple[str, str]]:
    out = []
    i = 0
    while i < len(args):
        p = args[i]
        if p.startswith("--"):
            out.append((p[2:], "true"))
        elif p.startswith("-"):
            if i + 1 >= len(args):
                raise ParseError(f"Switch {p} requires a parameter\n")
            if p not in SWITCHES:
                raise ParseError(f"Unknown switch: {p}")
            out.append((SWITCHES[p], args[i + 1]))
            i += 1
        else:
            name, _, rest = p.partition("=")
            out.append((name, rest))
        i += 1
    return out


def parse_commandline(argv: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """cli_frontend.ml parse_commandline: every failure becomes ParseError "" (Backtrace.reraise)."""
    try:
        if not argv:
            raise ParseError("no command")
        if "=" in argv[0]:
            raise ParseError("command name is missing")
        return argv[0], parse_params(argv[1:])
    except ParseError:
        raise ParseError("") from None


def assoc(params, name, default=None):
    """List.assoc: the first binding of `name`."""
    for k, v in params:
        if k == name:
            return v
    return default


def read_map_params(name: str, params) -> list[tuple[str, str]]:
    """cli_operations.ml read_map_params: `name:key=value` (any one separator after the name)."""
    n = len(name) + 1
    return [(k[n:], v) for k, v in params if k.startswith(name) and len(k) > n]


def bool_param(params, name: str, default: bool = False) -> bool:
    """cli_operations.ml get_bool_param (Record_util.bool_of_string)."""
    text = assoc(params, name)
    if text is None:
        return default
    lowered = text.lower()
    if lowered in ("true", "t", "yes", "y", "1"):
        return True
    if lowered in ("false", "f", "no", "n", "0"):
        return False
    raise RecordFailure(f"Expected 'true','t','yes','y','1','false','f','no','n','0' got {text}")


def bytes_param(name: str, text: str) -> int:
    """Record_util.bytes_of_string: `%Ld %s`, an integer and an optional KiB/MiB/GiB/TiB suffix."""
    scale = {"": 1, "b": 1, "bytes": 1, "kib": 2**10, "kb": 2**10, "k": 2**10, "mib": 2**20, "mb": 2**20,
             "m": 2**20, "gib": 2**30, "gb": 2**30, "g": 2**30, "tib": 2**40, "tb": 2**40, "t": 2**40}
    m = re.match(r"\s*([+-]?\d+)\s*(\S*)", text)
    if not m or int(m.group(1)) < 0 or m.group(2).lower() not in scale:
        raise RecordFailure(f"Failed to parse field '{name}': expecting an integer (possibly with suffix KiB, "
                            f"MiB, GiB, TiB), got '{text}'")
    return int(m.group(1)) * scale[m.group(2).lower()]


# ------------------------------------------------------------------ generic commands


def _field_type(kind: RecordKind, name: str) -> tuple[str, str]:
    """cli_operations.ml get_field_type: ("normal"|"map"|"set", field name)."""
    if kind.field(name):
        return "normal", name
    if ":" in name:
        real = name.split(":", 1)[0]
        found = kind.field(real)
        if found is None:
            raise OcamlFailure(f"Unknown field '{name}'")
        if found.get_set is not None:
            return "set", real
        if found.get_map is not None:
            return "map", real
        raise OcamlFailure(f"Field '{real}' is not a set or map")
    for kinds in ("map", "set"):
        candidates = sorted((f for f in kind.fields if (f.get_map if kinds == "map" else f.get_set) is not None),
                            key=lambda f: -len(f.name))
        for f in candidates:
            if name.startswith(f.name + "-"):
                return kinds, f.name
    raise OcamlFailure(f"Unknown field '{name}'")


def _filter(ctx: Ctx, kind: RecordKind, refs: list[str], key: str, want: str) -> list[str]:
    """filter_records_on_fields (nothing to filter in an empty list: no field check either)."""
    if not refs:
        return []
    ftype, fname = _field_type(kind, key)
    f = kind.field(fname)
    out = []
    for ref in refs:
        rec = ctx.store.record(kind.cls, ref)
        if ftype == "normal":
            got = rec_mod.value(ctx, kind, f, ref)
            matched = got.lower() == want.lower() if f.case_insensitive else got == want
        elif ftype == "map":
            mkey = key[len(fname) + 1:]
            mapping = f.get_map(ctx, ref, rec)
            matched = mapping.get(mkey) == want
        else:
            if key[len(fname) + 1:] != "contains":
                raise OcamlFailure("Invalid syntax for set filtering (should be set-param:contains=key)")
            matched = want in f.get_set(ctx, ref, rec)
        if matched:
            out.append(ref)
    return out


def _printed(ctx: Ctx, kind: RecordKind, ref: str, fields, expensive_stub: bool):
    row = []
    for f in fields:
        if f.hidden:
            continue
        text = "<expensive field>" if (expensive_stub and f.expensive) else rec_mod.value(ctx, kind, f, ref)
        row.append((f.name + f.suffix(), text))
    return row


def _by_uuid(ctx: Ctx, kind: RecordKind, params) -> str:
    return ctx.call(f"{kind.cls}.get_by_uuid", assoc(params, "uuid"))


def _target(ctx: Ctx, kind: RecordKind, params):
    """The object (uuid=), its field (param-name=) and its record."""
    ref = _by_uuid(ctx, kind, params)
    return ref, rec_mod.field_lookup(kind, assoc(params, "param-name")), ctx.store.record(kind.cls, ref)


def generic_commands(kind: RecordKind) -> dict[str, Command]:
    cls = kind.cls
    visible = [f for f in kind.fields if not f.hidden]

    def do_list(ctx, out, params):
        refs = list(ctx.call(f"{cls}.get_all_records_where", "true"))
        filters = [(k, v) for k, v in params
                   if k not in ("params", *STDPARAMS) and not k.startswith("database:")]
        for k, v in kind.default_filters + filters:
            refs = _filter(ctx, kind, refs, k, v)
        wanted = assoc(params, "params")
        chosen = [] if wanted == "all" else (wanted.split(",") if wanted is not None else kind.default_list)
        fields = kind.fields if not chosen else [f for f in kind.fields if f.name in chosen]
        out.table([_printed(ctx, kind, ref, fields, True) for ref in refs])

    def do_param_list(ctx, out, params):
        ref = _by_uuid(ctx, kind, params)
        out.table([_printed(ctx, kind, ref, kind.fields, False)])

    def do_param_get(ctx, out, params):
        ref, f, rec = _target(ctx, kind, params)
        key = assoc(params, "param-key")
        if key is not None and f.get_map is not None:
            mapping = f.get_map(ctx, ref, rec)
            if key not in mapping:
                raise OcamlFailure(f"Key {key} not found in map")
            out.lines([mapping[key]])
        else:
            out.lines([rec_mod.value(ctx, kind, f, ref)])

    def do_param_set(ctx, out, params):
        ref = _by_uuid(ctx, kind, params)
        for k, v in params:
            if k == "uuid" or k in STDPARAMS:
                continue
            ftype, fname = _field_type(kind, k)
            f = kind.field(fname)
            if ftype == "map":
                if f.add_to_map is None:
                    raise OcamlFailure(f"Map field '{fname}' is read-only.")
                mkey = k[len(fname) + 1:]
                if mkey in f.get_map(ctx, ref, ctx.store.record(cls, ref)):
                    f.remove_from_map(ctx, ref, mkey)
                f.add_to_map(ctx, ref, mkey, v)
            elif ftype == "set":
                raise OcamlFailure("Cannot param-set on set fields")
            elif f.set is not None:
                f.set(ctx, ref, v)
            elif f.add_to_map is not None:
                raise OcamlFailure(f"Field '{k}' is a map or set. use the 'name:key=value' syntax.")
            else:
                raise OcamlFailure(f"Field '{k}' is read-only.")

    def do_param_add(ctx, out, params):
        ref, f, _ = _target(ctx, kind, params)
        if f.add_to_set is not None:
            key = assoc(params, "param-key")
            if key is None:
                raise OcamlFailure("When adding a key to a set, use the syntax: *-param-add param-name=<name> "
                                   "param-key=<key>")
            f.add_to_set(ctx, ref, key)
        elif f.add_to_map is not None:
            for k, v in params:
                if k not in ("uuid", "param-name", "param-key", *STDPARAMS):
                    f.add_to_map(ctx, ref, k, v)
        elif f.get_set is not None or f.get_map is not None:
            raise OcamlFailure("Parameter is read-only")
        else:
            raise OcamlFailure("Can only add to parameters of type Set or Map")

    def do_param_remove(ctx, out, params):
        ref, f, rec = _target(ctx, kind, params)
        key = assoc(params, "param-key")
        if f.get_set is not None and f.remove_from_set is not None:
            if key not in f.get_set(ctx, ref, rec):
                raise OcamlFailure(f"Key {key} is not in the set")
            f.remove_from_set(ctx, ref, key)
        elif f.get_map is not None and f.remove_from_map is not None:
            if key not in f.get_map(ctx, ref, rec):
                raise OcamlFailure(f"Key {key} is not in map")
            f.remove_from_map(ctx, ref, key)
        elif f.get_set is not None or f.get_map is not None:
            raise OcamlFailure("Cannot remove parameters from read-only map")
        else:
            raise OcamlFailure("Can only remove from parameters of type Set or Map")

    def do_param_clear(ctx, out, params):
        ref, f, rec = _target(ctx, kind, params)
        if f.get_set is not None and f.remove_from_set is not None:
            for item in f.get_set(ctx, ref, rec):
                f.remove_from_set(ctx, ref, item)
        elif f.get_map is not None and f.remove_from_map is not None:
            for key in list(f.get_map(ctx, ref, rec)):
                f.remove_from_map(ctx, ref, key)
        elif f.set is not None:
            try:
                f.set(ctx, ref, "")
            except (Failure, RecordFailure):
                raise OcamlFailure("Cannot clear this parameter") from None
        else:
            raise OcamlFailure("Can only clear RW parameters")

    name = kind.name
    all_optn = [f.name for f in visible]
    sets = [f.name + ":contains" for f in visible if f.get_set is not None]
    settable = [f.name for f in visible if f.set] + [f.name + ":" for f in visible if f.add_to_map]
    out = {
        f"{name}-list": Command([], ["params", "database:", *all_optn, *sets],
                                f"Lists all the {name}s, filtering on the optional arguments. To filter on map "
                                "parameters, use the syntax 'map-param:key=value'", do_list, takes_any=True),
        f"{name}-param-list": Command(["uuid"], ["database:"], "Lists all the parameters of the object specified "
                                      "by the uuid.", do_param_list),
        f"{name}-param-get": Command(["uuid", "param-name"], ["param-key", "database:"], "Gets the parameter "
                                     "specified of the object. If the parameter is a map of key=value pairs, use "
                                     "'param-key=<key>' to get the value associated with a particular key.",
                                     do_param_get),
    }
    if settable:
        out[f"{name}-param-set"] = Command(["uuid"], settable, "Sets the parameter specified. If param-value is not "
                                           "given, the parameter is set to a null value. To set a (key,value) pair "
                                           "in a map parameter, use the syntax 'map-param:key=value'.",
                                           do_param_set, takes_any=True)
    if any(f.add_to_set or f.add_to_map for f in visible):
        out[f"{name}-param-add"] = Command(["uuid", "param-name"], ["param-key"], "Adds to a set or map parameter.",
                                           do_param_add, takes_any=True)
        out[f"{name}-param-remove"] = Command(["uuid", "param-name", "param-key"], [], "Removes a member or a "
                                              "key,value pair from a set/map respectively.", do_param_remove)
    if any(f.set or f.get_set or f.get_map for f in visible):
        out[f"{name}-param-clear"] = Command(["uuid", "param-name"], [], "Clears the specified parameter.",
                                             do_param_clear)
    return out


# ------------------------------------------------------------------ other commands (cli_operations.ml)


def pif_scan(ctx, out, params):
    ctx.call("PIF.scan", ctx.call("host.get_by_uuid", assoc(params, "host-uuid")))


def ip_configuration_mode(text: str) -> str:
    """Record_util.ip_configuration_mode_of_string (generated: case-insensitive)."""
    known = {"none": "None", "dhcp": "DHCP", "static": "Static"}
    if text.lower() not in known:
        raise RecordFailure(f"Expected one of 'None', 'DHCP', 'Static', got {text}")
    return known[text.lower()]


def pif_reconfigure_ip(ctx, out, params):
    lowered = [(k.lower(), v) for k, v in params]  # IP and DNS are read case-insensitively
    pif = ctx.call("PIF.get_by_uuid", assoc(params, "uuid"))
    mode = ip_configuration_mode(assoc(params, "mode"))
    ctx.call("PIF.reconfigure_ip", pif, mode, assoc(lowered, "ip", ""), assoc(params, "netmask", ""),
             assoc(params, "gateway", ""), assoc(lowered, "dns", ""))


def pif_plug(ctx, out, params):
    ctx.call("PIF.plug", ctx.call("PIF.get_by_uuid", assoc(params, "uuid")))


def pif_unplug(ctx, out, params):
    ctx.call("PIF.unplug", ctx.call("PIF.get_by_uuid", assoc(params, "uuid")))


def host_management_reconfigure(ctx, out, params):
    ctx.call("host.management_reconfigure", ctx.call("PIF.get_by_uuid", assoc(params, "pif-uuid")))


def host_set_hostname_live(ctx, out, params):
    host = ctx.call("host.get_by_uuid", assoc(params, "host-uuid"))
    ctx.call("host.set_hostname_live", host, assoc(params, "host-name"))


def sr_create(ctx, out, params):
    shared = bool_param(params, "shared")
    if assoc(params, "host-uuid") is not None:
        host = ctx.call("host.get_by_uuid", assoc(params, "host-uuid"))
    else:
        # parse_host_uuid: the master when standalone or shared
        hosts = ctx.call("host.get_all")
        if len(hosts) != 1 and not shared:
            raise OcamlFailure("Required parameter not found: host-uuid")
        pool = ctx.call("pool.get_all")[0]
        host = ctx.call("pool.get_master", pool)
    size = assoc(params, "physical-size")
    physical_size = 0
    if size is not None:
        try:
            physical_size = bytes_param("physical-size", size)
        except RecordFailure:
            physical_size = 0  # sr_create: `try ... with _ -> 0L`
    sr = ctx.call("SR.create", host, dict(read_map_params("device-config", params)), physical_size,
                  assoc(params, "name-label"), "", assoc(params, "type"), assoc(params, "content-type", ""),
                  shared, dict(read_map_params("sm-config", params)))
    out.direct(ctx.call("SR.get_uuid", sr))


def pif_reconfigure_ipv6(ctx, out, params):
    lowered = [(k.lower(), v) for k, v in params]
    pif = ctx.call("PIF.get_by_uuid", assoc(params, "uuid"))
    known = {"none": "None", "dhcp": "DHCP", "static": "Static", "autoconf": "Autoconf"}
    mode = assoc(params, "mode")
    if mode.lower() not in known:
        raise RecordFailure(f"Expected one of 'None', 'DHCP', 'Static', 'Autoconf', got {mode}")
    ctx.call("PIF.reconfigure_ipv6", pif, known[mode.lower()], assoc(params, "IPv6", ""),
             assoc(params, "gateway", ""), assoc(lowered, "dns", ""))


def select_hosts(ctx, params, ignore: list[str]) -> list[str]:
    """cli_operations.ml select_hosts: host=<uuid|hostname|name-label>, then any host field as a filter."""
    kind = rec_mod.HOST
    wanted = assoc(params, "host")
    refs = list(ctx.call("host.get_all_records_where", "true"))
    if wanted is not None:
        refs = [r for r in refs if wanted in (ctx.store.record("host", r).get(k) for k in
                                              ("uuid", "hostname", "name_label"))]
    for k, v in params:
        if k != "host" and k.split(":")[0] not in (*STDPARAMS, *ignore):
            refs = _filter(ctx, kind, refs, k, v)
    return refs


def do_host_op(ctx, params, ignore: list[str], op) -> None:
    hosts = select_hosts(ctx, params, ignore)
    if not hosts:
        raise OcamlFailure("No matching hosts found")
    if len(hosts) > 1 and not bool_param(params, "multiple"):
        raise OcamlFailure("Multiple matching hosts found. --multiple required to complete the operation")
    for host in hosts:
        op(host)


def host_disable(ctx, out, params):
    auto_enable = bool_param(params, "auto-enable", default=True)
    do_host_op(ctx, params, ["auto-enable"], lambda host: ctx.call("host.disable", host, auto_enable))


def host_enable(ctx, out, params):
    def enable(host):
        ctx.call("host.remove_from_other_config", host, "MAINTENANCE_MODE")
        ctx.call("host.enable", host)
    do_host_op(ctx, params, [], enable)


def host_enable_local_storage_caching(ctx, out, params):
    sr = ctx.call("SR.get_by_uuid", assoc(params, "sr-uuid"))
    do_host_op(ctx, params, ["sr-uuid"], lambda host: ctx.call("host.enable_local_storage_caching", host, sr))


EVENT_WAIT_TIMEOUT = 240.0  # the simulator's bound: xe itself waits until interrupted
EVENT_WAIT_POLL = 0.2


def event_wait(ctx, out, params):
    """cli_operations.ml event_wait: until an object of the class matches every `key=value`
    (`key=/=value`: does not match). Polled here, with the simulator unlocked in between."""
    kind = rec_mod.KINDS.get(assoc(params, "class"))
    if kind is None:
        raise OcamlFailure(f"Cli listening for class '{assoc(params, 'class')}' not currently implemented")
    conditions = [(k, v[2:], False) if v.startswith("/=") else (k, v, True)
                  for k, v in params if k not in ("class", *STDPARAMS)]
    deadline = time.monotonic() + EVENT_WAIT_TIMEOUT
    while True:
        ctx._index = None
        for ref in ctx.store.classes.get(kind.cls, {}):
            def matches(key, value, equal):
                f = kind.field(key)
                if f is None:
                    raise OcamlFailure(f"key missing: {key}")
                return (rec_mod.value(ctx, kind, f, ref) == value) == equal
            if all(matches(*c) for c in conditions):
                return
        if time.monotonic() >= deadline:
            raise OcamlFailure(f"event-wait: no {kind.name} matched within {EVENT_WAIT_TIMEOUT:.0f} s "
                               "(the stand-in's bound)")
        ctx.api.lock.release()
        try:
            time.sleep(EVENT_WAIT_POLL)
        finally:
            ctx.api.lock.acquire()


def pool_sync_database(ctx, out, params):
    ctx.call("pool.sync_database")


def pool_enable_tls_verification(ctx, out, params):
    ctx.call("pool.enable_tls_verification")


COMMANDS: dict[str, Command] = {
    "pif-scan": Command(["host-uuid"], [], "Scan for new physical interfaces on a host.", pif_scan),
    "pif-reconfigure-ip": Command(["uuid", "mode"], ["IP", "netmask", "gateway", "DNS"],
                                  "Reconfigure the IP address settings on a PIF.", pif_reconfigure_ip),
    "pif-reconfigure-ipv6": Command(["uuid", "mode"], ["IPv6", "gateway", "DNS"],
                                    "Reconfigure the IPv6 address settings on a PIF.", pif_reconfigure_ipv6),
    "pif-plug": Command(["uuid"], [], "Attempt to bring up a network interface.", pif_plug),
    "pif-unplug": Command(["uuid"], [], "Attempt to bring down a network interface.", pif_unplug),
    "host-management-reconfigure": Command(["pif-uuid"], [], "Reconfigure the management interface of this node.",
                                           host_management_reconfigure),
    "host-set-hostname-live": Command(["host-uuid", "host-name"], [], "Sets the host name to the specified string. "
                                      " Both the API and lower-level system hostname are changed.",
                                      host_set_hostname_live),
    "sr-create": Command(["name-label", "type"], ["host-uuid", "device-config:", "shared", "physical-size",
                                                  "content-type", "sm-config:"],
                         "Create an SR, also a PBD. the device-config parameters can be specified by e.g. "
                         "device-config:foo=baa.", sr_create),
    "host-disable": Command([], ["auto-enable"], "Disable the XE host.", host_disable, takes_any=True),
    "host-enable": Command([], [], "Enable the XE host.", host_enable, takes_any=True),
    "host-enable-local-storage-caching": Command(["sr-uuid"], [], "Enable local storage caching on the specified "
                                                 "host", host_enable_local_storage_caching, takes_any=True),
    "event-wait": Command(["class"], [], "Wait for the event that satisfies the conditions given on the command "
                          "line.", event_wait, takes_any=True),
    "pool-sync-database": Command([], [], "Synchronise the current database across all hosts in the pool.",
                                  pool_sync_database),
    "pool-enable-tls-verification": Command([], [], "Enable TLS certificate verification",
                                            pool_enable_tls_verification),
}
for _kind in rec_mod.KINDS.values():
    COMMANDS.update(generic_commands(_kind))


# ------------------------------------------------------------------ running


def _ref_convert(ctx: Ctx, text: str) -> str:
    """cli_util.ml ref_convert: a reference prints as its uuid and (name)."""
    found = ctx.index().get(text) if ctx else None
    if not found:
        return text
    return found[0] + (f" ({found[1]})" if found[1] is not None else "")


def _server_error(out: Output, ctx: Ctx | None, code: str, params: list[str]) -> None:
    if code not in ERROR_DOCS:
        # newcli.ml: an error the datamodel does not document
        out.error(f"Error code: {code}")
        out.error(f"Error parameters: {', '.join(params)}")
        return
    names, doc = ERROR_DOCS[code]
    out.error(doc)
    values = [_ref_convert(ctx, p) for p in params]
    for i in range(max(len(names), len(values))):
        name = names[i] if i < len(names) else "<extra>"
        out.error(f"{name}: {values[i] if i < len(values) else '<unknown>'}")


def _help(out: Output, params) -> None:
    topics = [k for k, _ in params if k not in ("server", "username", "password", "port", "minimal", "all")]
    if not topics:
        out.lines(["Usage: xe <command> [ <other arguments> ... ]  (xenlab stand-in: "
                   f"{len(COMMANDS)} commands; xe help <command>)"] + sorted(COMMANDS))
        return
    for topic in topics:
        cmd = COMMANDS.get(topic)
        if cmd is None:
            out.lines([f"Unknown command '{topic}'"])
            continue
        out.table([[("command name        ", topic), ("reqd params     ", ", ".join(cmd.reqd)),
                    ("optional params ", ", ".join(cmd.optn)), ("description     ", cmd.help)]])


def _log_ignored(api, command: str, names: list[str]) -> None:
    path = getattr(api, "cli_ignored_log", None)
    if not names or not path:
        return
    with open(Path(path), "a") as fh:
        for name in names:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {command} {name}\n")


def run(api, argv: list[str], client_options: list[str] = (), log_ignored: bool = False) -> Result:
    """Run one xe command line (argv without the program name) as local root."""
    out = Output(minimal=False)
    ctx = None
    with api.lock, contextlib.ExitStack() as stack:
        try:
            command, params = parse_commandline(list(argv))
            minimal = assoc(params, "minimal")
            if minimal not in (None, "true", "false"):
                raise OcamlFailure('Invalid_argument("bool_of_string")')  # exec_command: OCaml bool_of_string
            out.minimal = minimal == "true"
            if command == "help":
                _help(out, params)
                out.flush()
                return Result("".join(out.out), "", 0)
            spec = COMMANDS.get(command)
            if spec is None:
                raise UnknownCommand(command)
            for key in spec.reqd:
                if assoc(params, key) is None:
                    raise ParamNotFound(key)
            if log_ignored:
                _log_ignored(api, command, [f"client:{o}" for o in client_options] + spec.ignored(params))
            session = stack.enter_context(api.local_session("cli"))
            ctx = Ctx(api, session)
            spec.run(ctx, out, params)
            out.flush()
            code = 0
        except ParseError as exc:
            out.error(f"Syntax error: {exc}")
            out.error(USAGE_HINT)
            code = 1
        except UnknownCommand as exc:
            out.error(f"Unknown command: {exc}")
            out.error(USAGE_HINT)
            code = 1
        except ParamNotFound as exc:
            out.error(f"Required parameter not found: {exc}")
            out.error(USAGE_HINT)
            code = 1
        except Failure as exc:
            _server_error(out, ctx, exc.code, exc.description[1:])
            code = 1
        except CliFailedToFindParam as exc:
            _server_error(out, ctx, "Missing parameter", [str(exc)])
            code = 1
        except RecordFailure as exc:
            out.error(f"Error: {exc}")
            code = 1
        except OcamlFailure as exc:
            text = str(exc)
            _server_error(out, ctx, "INTERNAL_ERROR", [text if text.startswith("Invalid_argument") else
                                                       f"Failure: {text}"])
            code = 1
        finally:
            api.persist()
    return Result("".join(out.out), "".join(out.err), code)
