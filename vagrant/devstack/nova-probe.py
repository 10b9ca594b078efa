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
each connection on the Unix socket SOCKET reads one optional line: none (or
`refresh`) runs the resource refresh again (as nova-compute's periodic task does)
and answers with the report, or {"error": <that one line>}; `lifecycle` runs an
instance's lifecycle (below) and answers with its document. Under software
emulation Nova's imports take a good half minute; a service pays them once, so a
check of the lab asks it in a second.

The lifecycle (--lifecycle once, or `lifecycle` on the socket): an instance made as
nova-compute makes one (an Instance object, the image's metadata from Glance, a
network_info with one VIF, allocations), then spawn, reboot soft, reboot hard, power
off, power on, snapshot (the image record made in Glance first, as nova-api does;
the driver uploads through the glance.py plugin) and destroy, each through the real
driver. After each step it reads what XenAPI shows of the instance (its VM's power
state, VBDs, VIFs, VDIs); after destroy, what is left of it and the SR's
physical_utilisation. A failing step ends the run; destroy is still attempted. One
JSON document:
  {"stand_in": bool, "image": {"id", "name"},
   "steps": [{"name", "seconds", "ok", "error" (only when not ok), "driver_state",
              "xapi": {"power_state", "vbds", "vifs", "vdis"},
              "snapshot_image", "snapshot_bytes" (snapshot only)}],
   "leftovers": {"vms", "vdis", "vbds", "vifs"},
   "sr": {"utilisation_before", "utilisation_after"},
   "calls": {step: {XenAPI method: count}}}
What the probe does besides the driver, as the services around nova-compute would:
br-int in dom0 through netwrap.py (neutron's Open vSwitch agent makes it), the
snapshot's image record (nova-api), and, when this run's spawn put the image into
the SR's image cache, that one cache entry removed after destroy with Nova's own
vm_utils.destroy_vdi (as its destroy_cached_images, which
tools/xenserver/destroy_cached_images.py runs, removes an unused entry), so the SR ends
where it began.

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
import contextlib
import json
import os
import select
import site
import sys
import tempfile
import time
import types
import uuid

CHANGE = ("os_xenapi.client.session.XenAPISession.call_plugin_serialized replaced: os-xenapi 0.3.4 sends the "
          "pickle as bytes (XML-RPC base64, refused by XAPI's string map) and unpickles the string answer "
          "(TypeError) under Python 3; the replacement sends a protocol-0 pickle as an XML-RPC string and reads "
          "the answer as latin-1 bytes, as the method did under Python 2.7. An Ussuri nova-compute on a real host "
          "needs the same.")
STEPS = ("XenAPIDriver", "init_host", "get_available_resource", "update_provider_tree", "get_available_nodes",
         "list_instances")
PROVIDER_UUID = "00000000-0000-4000-8000-000000000001"
LIFECYCLE = ("spawn", "reboot-soft", "reboot-hard", "power-off", "power-on", "snapshot", "destroy")
STAND_IN_BRAND = "xenlab-standin"  # the product_brand xenlab's simulator reports (xenlab/sim/__init__.py BRAND)
REQUEST_WAIT = 1.0  # seconds a connection may take to send its one line (none: a refresh)
# The lifecycle's instance: a flavor small enough for any lab host, one disk, one NIC.
FLAVOR = {"flavorid": "xenlab-lifecycle", "name": "xenlab.lifecycle", "memory_mb": 256, "vcpus": 1,
          "root_gb": 1, "ephemeral_gb": 0, "swap": 0}
PROJECT, USER = "xenlab-probe-project", "xenlab-probe-user"
# The lab's Glance runs without Keystone (noauth); Nova's image client still sends a token.
NOAUTH_TOKEN = "xenlab-noauth"


def parse(argv):
    p = argparse.ArgumentParser(prog="nova-probe", description=__doc__.splitlines()[0])
    p.add_argument("--tree", required=True, help="the pip --target tree with Nova and os-xenapi")
    p.add_argument("--config-file", required=True, help="nova.conf with [xenserver] connection_*")
    p.add_argument("--refreshes", type=int, default=0, help="more get_available_resource calls, counted")
    p.add_argument("--serve", metavar="SOCKET", help="stay, and answer each connection on this Unix socket")
    p.add_argument("--lifecycle", action="store_true", help="run an instance's lifecycle once and print it")
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


def read_request(conn):
    """The connection's one line: "lifecycle" or "refresh"; nothing within REQUEST_WAIT (or an
    empty line, or the client closing its side) is a refresh, as clients that send nothing expect."""
    data = b""
    deadline = time.monotonic() + REQUEST_WAIT
    while b"\n" not in data and len(data) < 64:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([conn], [], [], left)[0]:
            break
        try:
            chunk = conn.recv(64)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("ascii", "replace").strip() or "refresh"


def serve(listener, handlers, started_failure):
    """Answer each connection with what its line asks for (or the failure line), until stopped."""
    while True:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(30)
            request = read_request(conn)
            try:
                if started_failure:
                    answer = {"error": started_failure}
                elif request in handlers:
                    answer = handlers[request]()
                else:
                    answer = {"error": f"nova-probe: unknown request {request[:40]!r} (ask refresh or lifecycle)"}
            except Failed as exc:
                answer = {"error": str(exc)}
            try:
                conn.sendall(json.dumps(answer, default=str).encode() + b"\n")
            except OSError:
                pass  # the client went away: nothing to tell


def load_nova(tree, config_file):
    """Nova's tree on sys.path, eventlet's patches, the given nova.conf and nothing else, the
    counted XenAPI client, os-xenapi's plugin call as under Python 2.7: what main and the
    lifecycle need, as a namespace."""
    tree = os.path.abspath(tree)
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
    nova_config.parse_args(["nova-compute", "--config-file", config_file], default_config_files=[],
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
    if not conf.xenserver.ovs_integration_bridge:
        # What stack.sh writes: os-xenapi's devstack/plugin.sh config_nova_compute sets it to
        # $OVS_BRIDGE, DevStack's br-int (lib/neutron_plugins/ovs_base).
        conf.set_override("ovs_integration_bridge", "br-int", group="xenserver")
    logging.setup(conf, "nova")
    objects.register_all()
    objects.base.NovaObject.indirection_api = ProbeConductor(objects)

    class ProbeVirtAPI(virtapi.VirtAPI):
        """nova-compute's VirtAPI without a compute manager: no neutron sends events here."""

        @contextlib.contextmanager
        def wait_for_instance_event(self, instance, event_names, deadline=300, error_callback=None):
            if event_names:
                raise NotImplementedError(f"nova-probe has no instance events ({event_names})")
            yield

        def exit_wait_early(self, events):
            raise NotImplementedError("nova-probe has no instance events")

        def update_compute_provider_status(self, *a, **k):
            raise NotImplementedError("nova-probe has no placement")

    return types.SimpleNamespace(conf=conf, calls=calls, objects=objects, provider_tree=provider_tree,
                                 driver_class=xenapi_driver.XenAPIDriver, virtapi=ProbeVirtAPI,
                                 started=started, imported=time.monotonic() - started)


def main(argv):
    args = parse(argv)
    listener = listen(args.serve) if args.serve else None
    nova = load_nova(args.tree, args.config_file)
    conf, calls, objects, provider_tree = nova.conf, nova.calls, nova.objects, nova.provider_tree
    started, imported = nova.started, nova.imported

    def step(name, fn, *fargs):
        calls.step = name
        try:
            return fn(*fargs)
        except BaseException as exc:  # SystemExit included: the driver's constructor may raise it
            raise Failed(failure_line(name, exc, calls)) from None

    def start():
        drv = step("XenAPIDriver", nova.driver_class, nova.virtapi())
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

    def lifecycle(drv):
        try:
            return run_lifecycle(drv, calls, nova)
        except Failed:
            raise
        except Exception as exc:  # the lab around the driver (Glance, the SR) failed before the steps
            raise Failed(failure_line(calls.step, exc, calls)) from None

    if listener is not None:
        try:
            drv, failure = start(), None
        except Failed as exc:
            drv, failure = None, str(exc)
        serve(listener, {"refresh": lambda: refresh(drv), "lifecycle": lambda: lifecycle(drv)}, failure)
    try:
        drv = start()
        report = lifecycle(drv) if args.lifecycle else refresh(drv, args.refreshes)
    except Failed as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    print(json.dumps(report, indent=2, default=str))
    return 0 if not args.lifecycle or all(step["ok"] for step in report["steps"]) else 1


class ProbeConductor:
    """nova-conductor for the probe's objects, with no database: nova-compute sends its object
    calls to the conductor (NovaObject.indirection_api); here an Instance.save keeps the changes
    in memory and the lists the XenAPI driver asks for (an instance's virtual interfaces and
    block device mappings) are the empty lists an instance with no volumes and no tagged
    interfaces has."""

    def __init__(self, objects):
        self.objects = objects

    def object_action(self, context, objinst, objmethod, args, kwargs):
        if objmethod == "save":
            return {}, None
        raise NotImplementedError(f"nova-probe's conductor has no {objinst.obj_name()}.{objmethod}")

    def object_class_action_versions(self, context, objname, objmethod, object_versions, args, kwargs):
        if objmethod == "get_by_instance_uuid" and objname in ("VirtualInterfaceList", "BlockDeviceMappingList"):
            return getattr(self.objects, objname)(objects=[])
        raise NotImplementedError(f"nova-probe's conductor has no {objname}.{objmethod}")

    def object_backport_versions(self, context, objinst, object_versions):
        return objinst


def run_lifecycle(drv, calls, nova):
    """spawn -> reboot soft -> reboot hard -> power off -> power on -> snapshot -> destroy."""
    from nova import context as nova_context
    from nova.compute import power_state
    from nova.compute import utils as compute_utils
    from nova.image import glance
    from nova.virt.xenapi import vm_utils

    session = drv._session
    for name in LIFECYCLE + ("lifecycle-setup", "lifecycle-observe"):
        calls.counts.pop(name, None)
    ctx = nova_context.RequestContext(user_id=USER, project_id=PROJECT, is_admin=True, auth_token=NOAUTH_TOKEN)
    image_api = glance.API()

    def xapi(method, *args):
        return session.call_xenapi(method, *args)

    calls.step = "lifecycle-setup"
    image = pick_image(image_api, ctx)
    instance, image_meta, network_info, allocations, port = new_instance(nova, ctx, image, "xenlab-lifecycle")
    # neutron's Open vSwitch agent makes the integration bridge in dom0 through netwrap.py.
    session.call_plugin("netwrap.py", "run_command",
                        {"cmd": json.dumps(["ovs-vsctl", "--may-exist", "add-br",
                                            nova.conf.xenserver.ovs_integration_bridge])})
    sr = vm_utils.safe_find_sr(session)
    xapi("SR.scan", sr)
    before = int(xapi("SR.get_physical_utilisation", sr))
    cached_before = set(vm_utils._find_cached_images(session, sr))
    brand = getattr(session, "product_brand", "") or ""
    snapshot = {}

    def snapshot_step():
        meta = compute_utils.create_image(ctx, instance, f"{instance.display_name}-snapshot", "snapshot",
                                          image_api)
        drv.snapshot(ctx, instance, meta["id"], lambda task_state, expected_state=None: None)
        uploaded = image_api.get(ctx, meta["id"])
        if uploaded.get("status") != "active" or not uploaded.get("size"):
            raise RuntimeError(f"image {meta['id']} is {uploaded.get('status')} with {uploaded.get('size')} "
                               f"bytes after the upload")
        snapshot.update(snapshot_image=meta["id"], snapshot_bytes=int(uploaded["size"]))

    def spawn_step():
        drv.spawn(ctx, instance, image_meta, [], None, allocations, network_info, block_device_info())
        # What `nova console-log` asks of the driver: the simulated console says what it is.
        drv.get_console_output(ctx, instance)

    def destroy_step():
        drv.destroy(ctx, instance, network_info, block_device_info())
        # The image cache entry this run's spawn made (none when the image was cached already, or
        # cache_images is none) goes as Nova's destroy_cached_images would take it: vm_utils.destroy_vdi.
        for image_id, cached in vm_utils._find_cached_images(session, sr).items():
            if image_id not in cached_before:
                vm_utils.destroy_vdi(session, cached["vdi_ref"])

    actions = {
        "spawn": spawn_step,
        "reboot-soft": lambda: drv.reboot(ctx, instance, network_info, "SOFT"),
        "reboot-hard": lambda: drv.reboot(ctx, instance, network_info, "HARD"),
        "power-off": lambda: drv.power_off(instance),
        "power-on": lambda: drv.power_on(ctx, instance, network_info),
        "snapshot": snapshot_step,
        "destroy": destroy_step,
    }
    steps, failed = [], False
    for name in LIFECYCLE:
        if failed and name != "destroy":
            continue
        calls.step = name
        began = time.monotonic()
        entry = collections.OrderedDict(name=name)
        try:
            actions[name]()
            entry["ok"] = True
        except BaseException as exc:  # a failure of the driver or of the lab, reported in one line
            entry["ok"] = False
            entry["error"] = failure_line(name, exc, calls).split(" failed: ", 1)[-1]
            failed = True
        entry["seconds"] = round(time.monotonic() - began, 3)
        calls.step = "lifecycle-observe"
        entry["driver_state"] = driver_state(drv, instance, power_state)
        entry["xapi"] = observe(xapi, instance)
        if name == "snapshot" and snapshot:
            entry.update(snapshot)
        steps.append(entry)
    calls.step = "lifecycle-observe"
    xapi("SR.scan", sr)
    after = int(xapi("SR.get_physical_utilisation", sr))
    report = collections.OrderedDict([
        ("stand_in", brand == STAND_IN_BRAND),
        ("image", {"id": image["id"], "name": image.get("name") or ""}),
        ("steps", steps),
        ("leftovers", leftovers(xapi, instance, port)),
        ("sr", {"utilisation_before": before, "utilisation_after": after}),
        ("calls", {name: dict(calls.counts.get(name, {})) for name in LIFECYCLE if name in calls.counts}),
    ])
    return report


def new_instance(nova, ctx, image, name):
    """An instance as nova-compute has it when it calls spawn: the Instance (its flavor, the image's
    system metadata), the image's metadata, a network_info of one active OVS port, allocations."""
    from nova import utils as nova_utils
    from nova.network import model as network_model

    objects = nova.objects
    flavor = objects.Flavor(id=1, extra_specs={}, vcpu_weight=None, rxtx_factor=1.0, is_public=True,
                            disabled=False, **FLAVOR)
    port = str(uuid.uuid4())
    instance = objects.Instance(
        context=ctx, id=int.from_bytes(os.urandom(3), "big"), uuid=str(uuid.uuid4()), hostname=name,
        display_name=name, project_id=PROJECT, user_id=USER, image_ref=image["id"],
        flavor=flavor, memory_mb=flavor.memory_mb, vcpus=flavor.vcpus, root_gb=flavor.root_gb,
        ephemeral_gb=0, os_type=None, kernel_id="", ramdisk_id="", auto_disk_config=False, vm_mode=None,
        metadata={}, system_metadata=nova_utils.get_system_metadata_from_image(image, flavor),
        key_data=None, config_drive="", vm_state="building", task_state="spawning", power_state=0,
        host=nova.conf.host, node=None, pci_devices=objects.PciDeviceList(objects=[]),
        device_metadata=None, info_cache=None)
    instance.obj_reset_changes()
    network_info = network_model.NetworkInfo([network_model.VIF(
        id=port, address="fa:16:3e:%02x:%02x:%02x" % tuple(os.urandom(3)), type="ovs", active=True,
        ovs_interfaceid=port, devname=("tap" + port)[:14], vnic_type="normal", details={},
        network=network_model.Network(id=str(uuid.uuid4()), bridge="br-int", label=name,
                                      subnets=[network_model.Subnet(
                                          cidr="192.0.2.0/24", dns=[], routes=[],
                                          gateway=network_model.IP(address="192.0.2.1", type="gateway"),
                                          ips=[network_model.FixedIP(address="192.0.2.10")])]))])
    allocations = {PROVIDER_UUID: {"resources": {"VCPU": flavor.vcpus, "MEMORY_MB": flavor.memory_mb,
                                                 "DISK_GB": flavor.root_gb}}}
    return instance, objects.ImageMeta.from_dict(image), network_info, allocations, port


def block_device_info():
    """What nova-compute's _get_instance_block_device_info gives a driver for an instance with no
    volumes (nova/virt/driver.py get_block_device_info's shape)."""
    return {"root_device_name": None, "ephemerals": [], "block_device_mapping": [], "swap": None}


def pick_image(image_api, ctx):
    """The lab's image: the oldest active VHD (ovf container) that is not a snapshot."""
    images = [i for i in image_api.get_all(ctx) if i.get("status") == "active" and i.get("disk_format") == "vhd"
              and i.get("container_format") == "ovf"
              and i.get("properties", {}).get("image_type") != "snapshot"]
    if not images:
        raise Failed("nova-probe: lifecycle failed: Glance has no active VHD image (disk_format vhd, "
                     "container_format ovf) to boot")
    images.sort(key=lambda i: (str(i.get("created_at") or ""), i.get("name") or ""))
    return images[0]


def driver_state(drv, instance, power_state):
    """Nova's power state name from get_info; None once the driver finds no instance."""
    try:
        return power_state.STATE_MAP[drv.get_info(instance).state]
    except Exception:
        return None


def observe(xapi, instance):
    """What XenAPI shows of the instance: its VM's power state and its VBDs, VIFs and VDIs."""
    vms = xapi("VM.get_by_name_label", instance.name)
    if not vms:
        return {"power_state": None, "vbds": 0, "vifs": 0, "vdis": 0}
    rec = xapi("VM.get_record", vms[0])
    vdis = set()
    for vbd in rec["VBDs"]:
        vdi = xapi("VBD.get_VDI", vbd)
        if vdi != "OpaqueRef:NULL":
            vdis.add(vdi)
    return {"power_state": rec["power_state"], "vbds": len(rec["VBDs"]), "vifs": len(rec["VIFs"]),
            "vdis": len(vdis)}


def leftovers(xapi, instance, port):
    """Anything of the instance XenAPI still holds (uuids): its VM, the VDIs Nova tagged with it,
    VBDs of either, VIFs of its port."""
    vms = {ref for ref, rec in xapi("VM.get_all_records").items()
           if rec["name_label"] == instance.name or rec["other_config"].get("nova_uuid") == instance.uuid}
    vdis = {ref: rec for ref, rec in xapi("VDI.get_all_records").items()
            if rec["other_config"].get("nova_instance_uuid") == instance.uuid}
    vbds = [rec["uuid"] for rec in xapi("VBD.get_all_records").values() if rec["VM"] in vms or rec["VDI"] in vdis]
    vifs = [rec["uuid"] for rec in xapi("VIF.get_all_records").values()
            if rec["VM"] in vms or rec["other_config"].get("neutron-port-id") == port]
    return {"vms": sorted(xapi("VM.get_uuid", v) for v in vms), "vdis": sorted(r["uuid"] for r in vdis.values()),
            "vbds": sorted(vbds), "vifs": sorted(vifs)}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
