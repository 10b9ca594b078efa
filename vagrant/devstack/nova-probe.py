"""Nova's compute probe: Nova 21.2.4's real XenAPI driver against the lab's XenAPI,
reporting the hypervisor as nova-compute would register it. No database, no
message bus, no service: only the driver calls nova-compute makes at start-up and
in its resource refresh.

    /usr/bin/python3 -S nova-probe.py --tree TREE --config-file nova.conf [--refreshes N] [--serve SOCKET]

TREE is the `pip install --target` tree xenlab builds on the host
(xenlab/devstack/probe.py); nothing else on the machine is imported. Runs
XenAPIDriver(...), init_host, get_available_resource, update_provider_tree,
get_available_nodes, list_instances (then N more get_available_resource), and
prints one JSON document: the hypervisor as Nova's ComputeNode holds it (vcpus,
memory_mb, local_gb, hypervisor_type, hypervisor_version, hypervisor_hostname),
the nodes, the instances, the placement inventory, the XenAPI calls of each step,
and what the probe changed in os-xenapi. On failure it prints one line naming the
step, the XenAPI call or plugin that failed and the field Nova could not read, and
exits 1 (2: bad arguments).

With --serve it stays, as nova-compute does: it starts the driver once, then for
each connection on the Unix socket SOCKET runs the resource refresh again (as
nova-compute's periodic task does) and answers with the report, or
{"error": <that one line>}. Under software emulation Nova's imports take a good
half minute; a service pays them once, so a check of the lab asks it in a second.

What it changes, and why: os-xenapi 0.3.4's XenAPISession.call_plugin_serialized
cannot work under Python 3 (it sends the pickle as bytes, which XML-RPC turns into
base64 that XAPI's map(string, string) arguments refuse, and unpickles the string
answer, a TypeError), and no later release exists. The probe replaces that one
method with what it did under Python 2.7: a protocol-0 pickle sent as an XML-RPC
string, the string answer read back as latin-1 bytes. An Ussuri (Python 3 only)
nova-compute against a real host needs the same change.
"""

import argparse
import collections
import json
import os
import site
import sys
import tempfile
import time

CHANGE = ("os_xenapi.client.session.XenAPISession.call_plugin_serialized replaced: os-xenapi 0.3.4 sends the "
          "pickle as bytes (XML-RPC base64, refused by XAPI's string map) and unpickles the string answer "
          "(TypeError) under Python 3; the replacement sends a protocol-0 pickle as an XML-RPC string and reads "
          "the answer as latin-1 bytes, as the method did under Python 2.7. An Ussuri nova-compute on a real host "
          "needs the same.")
STEPS = ("XenAPIDriver", "init_host", "get_available_resource", "update_provider_tree", "get_available_nodes",
         "list_instances")
PROVIDER_UUID = "00000000-0000-4000-8000-000000000001"


def parse(argv):
    p = argparse.ArgumentParser(prog="nova-probe", description=__doc__.splitlines()[0])
    p.add_argument("--tree", required=True, help="the pip --target tree with Nova and os-xenapi")
    p.add_argument("--config-file", required=True, help="nova.conf with [xenserver] connection_*")
    p.add_argument("--refreshes", type=int, default=0, help="more get_available_resource calls, counted")
    p.add_argument("--serve", metavar="SOCKET", help="stay, and answer each connection on this Unix socket")
    args = p.parse_args(argv)
    for path, what in ((args.tree, "--tree"), (args.config_file, "--config-file")):
        if not os.path.exists(path):
            p.exit(2, f"nova-probe: {what} {path} does not exist\n")
    if not 0 <= args.refreshes <= 100:
        p.exit(2, "nova-probe: --refreshes must be from 0 to 100\n")
    return args


class Calls:
    """XenAPI calls as the client sends them, per step; the failures among them."""

    def __init__(self):
        self.step = "setup"
        self.counts = collections.OrderedDict()
        self.failures = []  # (step, call, details)

    def count(self, call):
        self.counts.setdefault(self.step, collections.Counter())[call] += 1

    def wrap(self, session_class, failure_class):
        request, login = session_class.xenapi_request, session_class._login
        calls = self

        def name(method, params):
            if method == "host.call_plugin" and len(params) >= 3:
                return f"host.call_plugin {params[1]} {params[2]}"
            return method

        def counted_request(self, method, params):
            calls.count(name(method, params))
            try:
                return request(self, method, params)
            except failure_class as exc:
                calls.failures.append((calls.step, name(method, params), [str(d) for d in exc.details]))
                raise

        def counted_login(self, method, params):
            calls.count("session." + method)
            return login(self, method, params)

        session_class.xenapi_request = counted_request
        session_class._login = counted_login


def python2_call_plugin_serialized(self, plugin, fn, *args, **kwargs):
    import pickle

    blob = pickle.dumps(dict(args=args, kwargs=kwargs), protocol=0).decode("latin-1")
    answer = self.call_plugin(plugin, fn, {"params": blob})
    if isinstance(answer, str):
        answer = answer.encode("latin-1")
    return pickle.loads(answer, encoding="latin-1")


def failure_line(step, exc, calls):
    """One line: the step, the XenAPI call or plugin that failed, and the field Nova wanted."""
    failed = [f for f in calls.failures if f[0] == step]
    parts = [f"nova-probe: {step} failed:"]
    if failed:
        _, call, details = failed[0]
        parts.append(f"XenAPI {call} -> {' '.join(details)[:300]};")
    if isinstance(exc, KeyError):
        parts.append(f"Nova found no field {exc.args[0]!r} in the answer")
        last = list(calls.counts.get(step, {}))
        if last and not failed:
            parts.append(f"of {last[-1]}")
    else:
        parts.append(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    return " ".join(parts)


class Failed(Exception):
    """A step failed; its one line says which call and field."""


def listen(path):
    """The service's socket, bound before the long imports: early clients wait in its backlog."""
    import socket

    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)  # root's only: the report is the lab's
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(8)
    return sock


def serve(listener, refresh, started_failure):
    """Answer each connection with a fresh report (or the failure line), until stopped."""
    while True:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(30)
            try:
                answer = {"error": started_failure} if started_failure else refresh()
            except Failed as exc:
                answer = {"error": str(exc)}
            try:
                conn.sendall(json.dumps(answer, default=str).encode() + b"\n")
            except OSError:
                pass  # the client went away: nothing to tell


def main(argv):
    args = parse(argv)
    listener = listen(args.serve) if args.serve else None
    tree = os.path.abspath(args.tree)
    # addsitedir, not sys.path: the tree's .pth files (setuptools' distutils shim) must run.
    site.addsitedir(tree)
    sys.path.remove(tree)
    sys.path.insert(0, tree)
    # Your own Nova (xenlab's devstack.nova_src): the nova/ package verify syncs into this
    # directory is imported before the tree's; the rest still comes from the tree.
    own_nova = os.environ.get("NOVA_PROBE_NOVA_SRC", "")
    if own_nova and os.path.isfile(os.path.join(own_nova, "nova", "__init__.py")):
        sys.path.insert(0, own_nova)
    started = time.monotonic()
    import nova.monkey_patch  # noqa: F401  nova-compute patches with eventlet before anything else

    import oslo_messaging
    from nova import config as nova_config
    from nova import objects
    from nova import rpc as nova_rpc
    from nova.compute import provider_tree
    from nova.virt import virtapi
    from nova.virt.xenapi import driver as xenapi_driver
    from os_xenapi.client import XenAPI as osx_xenapi
    from os_xenapi.client import session as osx_session
    from oslo_log import log as logging

    import nova.conf

    conf = nova.conf.CONF
    calls = Calls()
    calls.wrap(osx_xenapi.Session, osx_xenapi.Failure)
    osx_session.XenAPISession.call_plugin_serialized = python2_call_plugin_serialized
    # Only the given nova.conf: not /etc/nova/nova.conf, which stack.sh may have written.
    nova_config.parse_args(["nova-compute", "--config-file", args.config_file], default_config_files=[],
                           configure_db=False, init_rpc=False)
    state = tempfile.mkdtemp(prefix="nova-probe-")
    conf.set_override("state_path", state)
    conf.set_override("lock_path", state, group="oslo_concurrency")
    # The driver builds RPC clients it never calls here; oslo.messaging's in-memory
    # transport lets it, whatever transport_url says: nothing leaves the process.
    oslo_messaging.TransportURL.parse(conf, "fake:/")
    conf.set_override("transport_url", "fake:/")
    nova_rpc.init(conf)
    conf.set_override("use_stderr", True)  # stdout is for the report
    logging.setup(conf, "nova")
    objects.register_all()
    imported = time.monotonic() - started

    class ProbeVirtAPI(virtapi.VirtAPI):
        """nova-compute's VirtAPI without a compute manager: none of these calls use it."""

        def wait_for_instance_event(self, *a, **k):
            raise NotImplementedError("nova-probe has no instance events")

        def exit_wait_early(self, events):
            raise NotImplementedError("nova-probe has no instance events")

        def update_compute_provider_status(self, *a, **k):
            raise NotImplementedError("nova-probe has no placement")

    def step(name, fn, *fargs):
        calls.step = name
        try:
            return fn(*fargs)
        except BaseException as exc:  # SystemExit included: the driver's constructor may raise it
            raise Failed(failure_line(name, exc, calls)) from None

    def start():
        drv = step("XenAPIDriver", xenapi_driver.XenAPIDriver, ProbeVirtAPI())
        step("init_host", drv.init_host, conf.host)
        return drv

    def refresh(drv, refreshes=0):
        """One resource refresh, as nova-compute's periodic task makes it; the report."""
        began = time.monotonic()
        for name in [n for n in calls.counts if n not in ("XenAPIDriver", "init_host")]:
            del calls.counts[name]
        resources = step("get_available_resource", drv.get_available_resource, "")
        nodename = resources["hypervisor_hostname"]  # the driver's one node (get_available_nodes)

        def update_provider_tree():
            tree_ = provider_tree.ProviderTree()
            tree_.new_root(nodename, PROVIDER_UUID)
            drv.update_provider_tree(tree_, nodename)
            return tree_.data(nodename).inventory

        inventory = step("update_provider_tree", update_provider_tree)
        nodes = step("get_available_nodes", drv.get_available_nodes)
        instances = step("list_instances", drv.list_instances)
        for i in range(refreshes):
            step(f"refresh_{i + 1}", drv.get_available_resource, nodename)
        node = objects.ComputeNode(**{k: resources[k] for k in (
            "vcpus", "memory_mb", "local_gb", "hypervisor_type", "hypervisor_version", "hypervisor_hostname")})
        return collections.OrderedDict([
            ("hypervisor", collections.OrderedDict(
                (k, getattr(node, k)) for k in ("vcpus", "memory_mb", "local_gb", "hypervisor_type",
                                                "hypervisor_version", "hypervisor_hostname"))),
            ("used", {"vcpus_used": resources["vcpus_used"], "memory_mb_used": int(resources["memory_mb_used"]),
                      "local_gb_used": int(resources["local_gb_used"])}),
            ("nodes", nodes),
            ("instances", instances),
            ("inventory", inventory),
            ("changes", [CHANGE]),
            ("xenapi_calls", {s: dict(c) for s, c in calls.counts.items()}),
            ("seconds", {"imports": round(imported, 3), "refresh": round(time.monotonic() - began, 3),
                         "total": round(time.monotonic() - started, 3)}),
        ])

    if listener is not None:
        try:
            drv, failure = start(), None
        except Failed as exc:
            drv, failure = None, str(exc)
        serve(listener, lambda: refresh(drv), failure)
    try:
        report = refresh(start(), args.refreshes)
    except Failed as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
