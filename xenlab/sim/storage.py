"""File SRs and their VDIs, as XAPI and sm keep them: every VDI of an ext (or file) SR is
a VHD file <uuid>.vhd in the SR's directory (machine.sr_dir), and the records follow
the files.

- xapi-project/sm libs/sm/drivers/FileSR.py: VDI create (a dynamic VHD rounded up to
  2 MiB, vhdutil.validate_and_round_vhd_size), delete, resize (never shrinking),
  snapshot and clone (_snapshot: the VDI's file becomes a hidden, read-only "base
  copy" and the VDI and its snapshot or clone become empty children of it), scan
  (_loadvdis: a record for every VHD file but hidden leaves, sm_config vhd-parent, a
  parent read-only; virtual_allocation the sum of the visible VDIs' sizes);
  libs/sm/cleanup.py: the garbage collector kicked after deletes and scans removes
  hidden VHDs nothing depends on and coalesces a hidden parent with its only child.
- xapi-project/xen-api ocaml/xapi/xapi_vdi.ml (v26.1.4): create, destroy (VDI_IN_USE
  while a VBD is attached; the VDI's VBDs go with it), snapshot and clone (the new
  VDI takes the name, type, other_config and tags of its source; a snapshot records
  snapshot_of and is_a_snapshot), copy (VDI_READONLY, VDI_TOO_SMALL), resize, and
  check_operation_error for allowed_operations; xapi_vdi_helpers.ml assert_managed
  (VDI_NOT_MANAGED); ocaml/xapi/sm_exec.ml: an sm error is SR_BACKEND_FAILURE_<code>
  ["", description, ""] (codes from sm's XE_SR_ERRORCODES.xml), code 24 is VDI_IN_USE.

The SR's accounting is kept true by the files: physical_utilisation is what the SR's
files take on disk, each VDI's physical_utilisation its file's size.
"""

from __future__ import annotations

import os
import secrets
import time
import xmlrpc.client
from pathlib import Path

from . import vhd
from .failure import Failure
from .registry import RECORD, B, I, M, P, S, message, ref
from .store import NULL_REF, new_uuid

# sm drivers' capabilities that gate VDI operations (xapi_vdi.ml feature_of_op).
_FEATURE_OF_OP = {"snapshot": "VDI_SNAPSHOT", "destroy": "VDI_DELETE", "resize": "VDI_RESIZE",
                  "update": "VDI_UPDATE", "resize_online": "VDI_RESIZE_ONLINE",
                  "generate_config": "VDI_GENERATE_CONFIG", "clone": "VDI_CLONE", "mirror": "VDI_MIRROR",
                  "enable_cbt": "VDI_CONFIG_CBT", "disable_cbt": "VDI_CONFIG_CBT",
                  "data_destroy": "VDI_CONFIG_CBT", "list_changed_blocks": "VDI_CONFIG_CBT",
                  "set_on_boot": "VDI_RESET_ON_BOOT"}
_LIVE_OPS = {"snapshot", "resize_online", "blocked", "clone", "mirror", "enable_cbt", "disable_cbt", "data_destroy"}
# API.vdi_operations__all, less those xapi_vdi.ml update_allowed_operations leaves out.
VDI_OPERATIONS = ("clone", "copy", "resize", "resize_online", "snapshot", "mirror", "destroy", "forget", "update",
                  "force_unlock", "generate_config", "enable_cbt", "disable_cbt", "data_destroy",
                  "list_changed_blocks", "set_on_boot", "blocked")
VDI_TYPES = ("system", "user", "ephemeral", "suspend", "crashdump", "ha_statefile", "metadata", "redo_log", "rrd",
             "pvs_cache", "cbt_metadata")


def backend_failure(code: int, description: str, opterr: str | None = None) -> Failure:
    """sm_exec.ml: an XMLRPC fault from an sm driver, as XAPI passes it on."""
    reason = description + (f" [opterr={opterr}]" if opterr else "")
    return Failure(f"SR_BACKEND_FAILURE_{code}", "", reason, "")


def _now() -> xmlrpc.client.DateTime:
    return xmlrpc.client.DateTime(time.gmtime())


# ------------------------------------------------------------------ where the files are


def sr_dir(api, sr: str) -> Path | None:
    rec = api.store.record("SR", sr)
    return api.machine.sr_dir(rec["uuid"], rec.get("type", ""))


def vdi_path(api, vdi: str) -> Path | None:
    rec = api.store.record("VDI", vdi)
    directory = sr_dir(api, rec["SR"]) if rec.get("SR", NULL_REF) in api.store.classes.get("SR", {}) else None
    return None if directory is None else directory / f"{rec.get('location') or rec['uuid']}.vhd"


SR_MOUNT_BASE = "/var/run/sr-mount"  # sm SR.py MOUNT_BASE; Nova's [xenserver] sr_base_path
# What a dom0 plugin raises for a path that is not there: Python 2's OSError.
Py2OSError = type("OSError", (Exception,), {"__doc__": "Python 2's OSError, named as a dom0 plugin names it"})


def dom0_sr_path(api, sr_path: str) -> Path:
    """The directory a dom0 plugin finds at `sr_path`: <MOUNT_BASE>/<uuid> of a file SR.
    Anything else does not exist for it (tempfile.mkdtemp(dir=sr_path) fails)."""
    name = str(sr_path).rstrip("/")
    if name.startswith(SR_MOUNT_BASE + "/"):
        for sr in api.store.find("SR", uuid=name[len(SR_MOUNT_BASE) + 1:]):
            directory = sr_dir(api, sr)
            if directory is not None:
                return directory
    raise Py2OSError(f"[Errno 2] No such file or directory: '{name}/tmp{secrets.token_hex(3)}'")


def sm_features(api, sr: str) -> dict:
    sr_type = api.store.record("SR", sr).get("type", "")
    for sm in api.store.classes.get("SM", {}).values():
        if sm.get("type") == sr_type:
            return sm.get("features", {})
    return {}


def assert_pbd_plugged(api, sr: str) -> None:
    """sm.ml assert_pbd_is_plugged: SR_NO_PBDS unless a PBD of the SR is attached."""
    if not any(api.store.record("PBD", p).get("currently_attached")
               for p in api.store.find("PBD", SR=sr)):
        raise Failure("SR_NO_PBDS", sr)


def assert_managed(api, vdi: str) -> None:
    if not api.store.record("VDI", vdi).get("managed", True):
        raise Failure("VDI_NOT_MANAGED", vdi)


# ------------------------------------------------------------------ allowed operations


def operation_error(api, vdi: str, op: str) -> list | None:
    """xapi_vdi.ml check_operation_error, for the cases the simulator models."""
    store = api.store
    rec = store.record("VDI", vdi)
    others = [(task, o) for task, o in rec.get("current_operations", {}).items() if o != "copy"]
    if others:
        return ["OTHER_OPERATION_IN_PROGRESS", "VDI", vdi, others[0][1], others[0][0]]
    sr = rec.get("SR", NULL_REF)
    attached = any(p.get("currently_attached") for p in
                   (store.classes.get("PBD", {}).get(r, {}) for r in store.find("PBD", SR=sr)))
    if not attached and op == "resize":
        return ["SR_NO_PBDS", sr]
    active = [store.record("VBD", v) for v in store.find("VBD", VDI=vdi)
              if store.record("VBD", v).get("currently_attached") or store.record("VBD", v).get("reserved")]
    if op in _LIVE_OPS:
        blocked = False
    elif op == "copy":
        blocked = any(v.get("mode") == "RW" for v in active)
    else:
        blocked = bool(active)
    if blocked:
        return ["VDI_IN_USE", vdi, op]
    feature = _FEATURE_OF_OP.get(op)
    if feature and feature not in sm_features(api, sr):
        return ["SR_OPERATION_NOT_SUPPORTED", sr]
    if op == "destroy" and store.record("SR", sr).get("type") == "udev":
        return ["VDI_IS_A_PHYSICAL_DEVICE", vdi]
    if op == "snapshot" and rec.get("sharable"):
        return ["VDI_IS_SHARABLE", vdi]
    if op in ("snapshot", "copy") and rec.get("on_boot") == "reset":
        return ["VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION"]
    return None


def assert_operation_valid(api, vdi: str, op: str) -> None:
    error = operation_error(api, vdi, op)
    if error:
        raise Failure(*error)


def update_allowed_operations(api, vdi: str) -> None:
    if vdi in api.store.classes.get("VDI", {}):
        api.store.update("VDI", vdi, allowed_operations=[op for op in VDI_OPERATIONS
                                                         if operation_error(api, vdi, op) is None])


# ------------------------------------------------------------------ scan and garbage collection


def _scan_files(directory: Path) -> dict[str, vhd.Info]:
    out = {}
    for path in sorted(directory.glob("*.vhd")):
        try:
            out[path.name[:-4]] = vhd.info(path)
        except (OSError, vhd.VhdError, ValueError):
            continue  # sm's scan skips what vhd-util cannot read; a half-written file is not a VDI
    return out


def collect_garbage(directory: Path) -> None:
    """sm cleanup.py, run to completion: hidden VHDs without children go; a hidden parent
    with one child is coalesced with it (a leaf child keeps its name: leaf-coalesce)."""
    for _ in range(64):  # bounded: every pass removes a file or stops
        files = _scan_files(directory)
        children: dict[str, list[str]] = {}
        for name, info in files.items():
            if info.parent_uuid:
                children.setdefault(info.parent_uuid, []).append(name)
        changed = False
        for name, info in files.items():
            if not info.hidden:
                continue
            kids = children.get(name, [])
            if not kids:
                info.path.unlink(missing_ok=True)
                changed = True
                break
            if len(kids) == 1:
                child = files[kids[0]]
                vhd.coalesce(child.path)
                if child.hidden:
                    for grandchild in children.get(child.path.name[:-4], []):
                        vhd.set_parent(files[grandchild].path, info.path)
                    child.path.unlink()
                else:
                    vhd.set_hidden(info.path, False)
                    os.replace(info.path, child.path)
                changed = True
                break
        if not changed:
            return


def _vdi_record(api, sr: str, name: str, info: vhd.Info) -> dict:
    return {"name_label": "base copy" if info.hidden else "", "name_description": "", "SR": sr,
            "virtual_size": info.virtual_size, "physical_utilisation": info.physical_size, "type": "user",
            "sharable": False, "read_only": False, "location": name, "managed": not info.hidden, "missing": False,
            "sm_config": {"vhd-parent": info.parent_uuid} if info.parent_uuid else {}, "other_config": {},
            "xenstore_data": {}, "is_a_snapshot": False, "snapshot_of": NULL_REF, "on_boot": "persist",
            "storage_lock": False, "allow_caching": False, "snapshot_time": xmlrpc.client.DateTime("19700101T00:00:00Z")}


def scan(api, sr: str) -> None:
    """SR.scan of a file SR: garbage collected, then every VHD file a record and no record without
    a file (xapi_sr.ml update_vdis), and the SR's sizes taken again."""
    store = api.store
    rec = store.record("SR", sr)
    directory = sr_dir(api, sr)
    if directory is None:
        return
    collect_garbage(directory)
    files = _scan_files(directory)
    parents = {info.parent_uuid for info in files.values() if info.parent_uuid}
    # FileSR._loadvdis: hidden leaves are left out; a parent is read-only.
    visible = {name: info for name, info in files.items() if not (info.hidden and name not in parents)}
    known = {store.record("VDI", v).get("location"): v for v in list(rec.get("VDIs", []))
             if v in store.classes.get("VDI", {})}
    for location, vdi in known.items():
        if location not in visible:
            forget(api, vdi)
    for name, info in visible.items():
        fields = {"virtual_size": info.virtual_size, "physical_utilisation": info.physical_size,
                  "managed": not info.hidden, "read_only": name in parents or
                  bool(store.classes.get("VDI", {}).get(known.get(name), {}).get("read_only"))}
        sm_config = dict(store.classes.get("VDI", {}).get(known.get(name), {}).get("sm_config", {}))
        sm_config.pop("vhd-parent", None)
        if info.parent_uuid:
            sm_config["vhd-parent"] = info.parent_uuid
        fields["sm_config"] = sm_config
        if name in known:
            store.update("VDI", known[name], **fields)
        else:
            record = _vdi_record(api, sr, name, info)
            record.update(fields)
            introduce(api, sr, record, uuid=name)
    account(api, sr)
    for vdi in store.record("SR", sr).get("VDIs", []):
        update_allowed_operations(api, vdi)


def account(api, sr: str) -> None:
    """The SR's sizes as sm reports them after each change (FileSR._update)."""
    store = api.store
    rec = store.record("SR", sr)
    sizes = api.machine.sr_sizes(rec["uuid"], rec.get("type", ""))
    if sizes is None:
        return
    size, used = sizes
    allocation = sum(store.record("VDI", v).get("virtual_size", 0) for v in rec.get("VDIs", [])
                     if v in store.classes.get("VDI", {}) and store.record("VDI", v).get("managed", True))
    fields = {"physical_utilisation": used, "virtual_allocation": allocation}
    if size is not None:
        fields["physical_size"] = size
    store.update("SR", sr, **fields)


def introduce(api, sr: str, record: dict, uuid: str | None = None) -> str:
    """A VDI record in the SR (and the SR's VDIs field)."""
    store = api.store
    vdi = store.add("VDI", {**record, "SR": sr, "uuid": uuid or new_uuid()})
    store.update("SR", sr, VDIs=store.record("SR", sr).get("VDIs", []) + [vdi])
    parent = record.get("snapshot_of", NULL_REF)
    if parent in store.classes.get("VDI", {}):
        store.update("VDI", parent, snapshots=store.record("VDI", parent).get("snapshots", []) + [vdi])
    return vdi


def forget(api, vdi: str) -> None:
    """The record goes (xapi_vdi.ml forget / db_forget); the SR's and source's lists follow."""
    store = api.store
    rec = store.record("VDI", vdi)
    sr = rec.get("SR", NULL_REF)
    if sr in store.classes.get("SR", {}):
        store.update("SR", sr, VDIs=[v for v in store.record("SR", sr).get("VDIs", []) if v != vdi])
    for other in store.classes.get("VDI", {}).values():
        if vdi in other.get("snapshots", []):
            other["snapshots"] = [v for v in other["snapshots"] if v != vdi]
        if other.get("snapshot_of") == vdi:
            other["snapshot_of"] = NULL_REF
    store.remove("VDI", vdi)


# ------------------------------------------------------------------ messages


@message("VDI.create", P("args", RECORD))
def vdi_create(api, args):
    """xapi_vdi.ml create -> FileVDI.create: a VHD file of the rounded size and its record."""
    store = api.store
    fields = _create_fields(args)
    sr = fields["SR"]
    store.record("SR", sr)
    if fields["type"] == "cbt_metadata":
        raise Failure("VDI_INCOMPATIBLE_TYPE", "", "cbt_metadata")
    assert_pbd_plugged(api, sr)
    directory = sr_dir(api, sr)
    uuid = new_uuid()
    if directory is not None:
        if "VDI_CREATE" not in sm_features(api, sr):
            raise Failure("SR_OPERATION_NOT_SUPPORTED", sr)
        try:
            size = vhd.round_size(fields["virtual_size"])
        except vhd.VhdError:
            raise backend_failure(79, "VDI Invalid size") from None
        info = vhd.create(directory / f"{uuid}.vhd", size)
        fields.update(virtual_size=info.virtual_size, physical_utilisation=info.physical_size)
    vdi = introduce(api, sr, {**fields, "location": uuid, "managed": True, "missing": False,
                              "is_a_snapshot": False, "snapshot_of": NULL_REF, "on_boot": "persist"}, uuid=uuid)
    account(api, sr)
    update_allowed_operations(api, vdi)
    return vdi


_CREATE_REQUIRED = ("name_label", "name_description", "SR", "virtual_size", "type", "sharable", "read_only",
                    "other_config")


def _create_fields(args: dict) -> dict:
    """VDI.create's record (datamodel_vdi.ml): the required fields, typed; the rest defaulted."""
    from . import xapitypes

    for name in _CREATE_REQUIRED:
        if name not in args:
            raise xapitypes.ocaml_failure(f"Field {name} not present in rpc")
    vdi_type = xapitypes.Enum(*VDI_TYPES).check(args["type"])
    return {"name_label": S.check(args["name_label"]), "name_description": S.check(args["name_description"]),
            "SR": S.check(args["SR"]), "virtual_size": I.check(args["virtual_size"]), "type": vdi_type,
            "sharable": B.check(args["sharable"]), "read_only": B.check(args["read_only"]),
            "other_config": M.check(args["other_config"]), "xenstore_data": M.check(args.get("xenstore_data", {})),
            "sm_config": M.check(args.get("sm_config", {})), "tags": xapitypes.STRINGS.check(args.get("tags", []))}


@message("VDI.destroy", ref("VDI"))
def vdi_destroy(api, vdi):
    """xapi_vdi.ml destroy_and_data_destroy_common; FileVDI.delete, then sm's GC."""
    store = api.store
    rec = store.record("VDI", vdi)
    sr = rec["SR"]
    assert_pbd_plugged(api, sr)
    assert_managed(api, vdi)
    assert_operation_valid(api, vdi, "destroy")
    path = vdi_path(api, vdi)
    if path is not None:
        path.unlink(missing_ok=True)
    vbds = store.find("VBD", VDI=vdi)
    forget(api, vdi)
    from . import devices

    for vbd in vbds:
        devices.forget_vbd(api, vbd)
    for vm in store.find("VM", suspend_VDI=vdi):
        store.update("VM", vm, suspend_VDI=NULL_REF)
    directory = sr_dir(api, sr)
    if directory is not None:
        scan(api, sr)
    return ""


def _new_leaf(api, vdi: str, kind: str) -> str:
    """FileVDI._snapshot, SNAPSHOT_DOUBLE: the VDI's file becomes a hidden base copy; the VDI
    and the new one become empty children of it. Returns the new VDI's ref."""
    store = api.store
    rec = store.record("VDI", vdi)
    sr = rec["SR"]
    assert_pbd_plugged(api, sr)
    assert_managed(api, vdi)
    assert_operation_valid(api, vdi, kind)
    directory = sr_dir(api, sr)
    new = new_uuid()
    fields = {k: rec.get(k) for k in ("name_label", "name_description", "type", "sharable", "other_config",
                                      "xenstore_data", "on_boot", "allow_caching", "tags")}
    fields = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
              for k, v in fields.items() if v is not None}
    extra = {"is_a_snapshot": True, "snapshot_of": vdi, "snapshot_time": _now()} if kind == "snapshot" else {}
    if directory is None:
        return introduce(api, sr, {**fields, "virtual_size": rec.get("virtual_size", 0), "read_only": False,
                                   "location": new, "managed": True, "sm_config": {}, **extra}, uuid=new)
    source = directory / f"{rec.get('location') or rec['uuid']}.vhd"
    if not source.exists():
        raise backend_failure(46, "The VDI is not available", f"VDI {rec['uuid']} unavailable {source}")
    if vhd.depth(source) >= vhd.MAX_CHAIN_SIZE:
        raise backend_failure(109, "The snapshot chain is too long")
    base = directory / f"{new_uuid()}.vhd"
    os.link(source, base)  # FileSR._create_new_parent: a hard link where the SR allows it
    tmp = source.with_name(source.name + ".new")
    vhd.create(tmp, 0, parent=base)
    os.replace(tmp, source)
    vhd.create(directory / f"{new}.vhd", 0, parent=base)
    vhd.set_hidden(base)
    scan(api, sr)
    created = store.find("VDI", SR=sr, location=new)[0]
    store.update("VDI", created, **fields, **extra)
    if extra:
        store.update("VDI", vdi, snapshots=store.record("VDI", vdi).get("snapshots", []) + [created])
    update_allowed_operations(api, created)
    return created


@message("VDI.snapshot", ref("VDI", "vdi"), P("driver_params", M, {}))
def vdi_snapshot(api, vdi, driver_params):
    """xapi_vdi.ml snapshot: snapshot_and_clone, then is_a_snapshot and snapshot_of."""
    return _new_leaf(api, vdi, "snapshot")


@message("VDI.clone", ref("VDI", "vdi"), P("driver_params", M, {}))
def vdi_clone(api, vdi, driver_params):
    return _new_leaf(api, vdi, "clone")


@message("VDI.resize", ref("VDI", "vdi"), P("size", I))
def vdi_resize(api, vdi, size):
    """xapi_vdi.ml resize -> FileVDI.resize: larger only, rounded to 2 MiB; virtual_size follows."""
    rec = api.store.record("VDI", vdi)
    assert_pbd_plugged(api, rec["SR"])
    assert_managed(api, vdi)
    assert_operation_valid(api, vdi, "resize")
    path = vdi_path(api, vdi)
    if path is None:
        api.store.update("VDI", vdi, virtual_size=size)
        return ""
    info = vhd.info(path)
    if info.hidden:
        raise backend_failure(46, "The VDI is not available", "hidden VDI")
    if size < info.virtual_size:
        raise backend_failure(79, "VDI Invalid size", "shrinking not allowed")
    if size > info.virtual_size:
        try:
            vhd.resize(path, vhd.round_size(size))
        except vhd.VhdError as exc:
            raise backend_failure(79, "VDI Invalid size", str(exc)) from None
    info = vhd.info(path)
    api.store.update("VDI", vdi, virtual_size=info.virtual_size, physical_utilisation=info.physical_size)
    account(api, rec["SR"])
    return ""


@message("VDI.copy", ref("VDI", "vdi"), ref("SR", "sr"), P("base_vdi", S, NULL_REF), P("into_vdi", S, NULL_REF))
def vdi_copy(api, vdi, sr, base_vdi, into_vdi):
    """xapi_vdi.ml copy: into a new VDI of the source's size in `sr` (or into `into_vdi`): its
    content through the chain, as one VHD (sm_fs_ops.ml copy_vdi)."""
    store = api.store
    src = store.record("VDI", vdi)
    assert_managed(api, vdi)
    assert_operation_valid(api, vdi, "copy")
    if into_vdi in store.classes.get("VDI", {}):
        dst = into_vdi
    else:
        dst = vdi_create(api, {"name_label": src.get("name_label", ""),
                               "name_description": src.get("name_description", ""), "SR": sr,
                               "virtual_size": src.get("virtual_size", 0), "type": src.get("type", "user"),
                               "sharable": src.get("sharable", False), "read_only": False,
                               "other_config": dict(src.get("other_config", {})),
                               "xenstore_data": dict(src.get("xenstore_data", {})), "sm_config": {},
                               "tags": list(src.get("tags", []))})
    dst_rec = store.record("VDI", dst)
    if dst_rec.get("read_only"):
        raise Failure("VDI_READONLY", dst)
    if dst_rec.get("virtual_size", 0) < src.get("virtual_size", 0):
        raise Failure("VDI_TOO_SMALL", dst, src.get("virtual_size", 0))
    src_path, dst_path = vdi_path(api, vdi), vdi_path(api, dst)
    if src_path is not None and dst_path is not None:
        vhd.copy_content(src_path, dst_path)
        info = vhd.info(dst_path)
        store.update("VDI", dst, physical_utilisation=info.physical_size)
        account(api, store.record("VDI", dst)["SR"])
    update_allowed_operations(api, dst)
    return dst
