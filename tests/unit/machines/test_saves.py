"""Snapshots' own rules: names, providers, and only a verified lab is saved."""

import re
from pathlib import Path

import pytest

from tests.support import labs
from xenlab.commands import snapshot
from xenlab.errors import ConfigError, HostError, ToolError, UnsupportedHost
from xenlab.machines import labspec, saves as snapshots


@pytest.mark.parametrize("name", ["default", "ci", "before-upgrade", "v1.2_x"])
def test_good_names(name):
    assert snapshots.check_name(name) == name


@pytest.mark.parametrize("name", ["", "Bad Name", "../escape", "x" * 40, "-dash", "a/b"])
def test_bad_names_are_refused(name):
    with pytest.raises(ConfigError, match="snapshot name"):
        snapshots.check_name(name)


def test_snapshots_need_libvirt_here_or_on_a_remote_host(tmp_path):
    cfg = labs.load(tmp_path / "lab")
    snapshots.check_provider(cfg)  # the default: qemu:///system
    remote = cfg.model_copy(update={"settings": cfg.settings.model_copy(update={
        "lab": cfg.lab.model_copy(update={"libvirt_uri": "qemu+ssh://you@big-host/system"})})})
    snapshots.check_provider(remote)  # libvirt's remote API: save, restore and volumes there
    vb = cfg.model_copy(update={"settings": cfg.settings.model_copy(update={
        "lab": cfg.lab.model_copy(update={"provider": "virtualbox"})})})
    with pytest.raises(UnsupportedHost, match="need the libvirt provider") as err:
        snapshots.check_provider(vb)
    assert err.value.exit_code == 6


def test_a_lab_that_is_not_verified_is_not_saved(tmp_path):
    cfg = labs.load(tmp_path)
    with pytest.raises(ConfigError, match="is not verified and current .*run `invoke lab` first"):
        snapshot.take(cfg, "ci")
    assert snapshots.names(cfg) == []


def test_restoring_a_missing_snapshot_names_the_ones_there_are(tmp_path):
    cfg = labs.load(tmp_path)
    (cfg.paths.snapshots / "ci").mkdir(parents=True)
    (cfg.paths.snapshots / "ci" / "snapshot.json").write_text("{}")
    with pytest.raises(ConfigError, match="no snapshot 'nope' of lab 't' \\(snapshots: ci"):
        snapshots.read(cfg, "nope")


def test_a_restore_points_ssh_at_the_snapshots_machines_not_the_last_ones(tmp_path, monkeypatch):
    """A warm `up` after the snapshot left its own addresses in the lab's ssh-config."""
    from xenlab.core.files import write_file
    from xenlab.machines import sshconfig

    cfg = labs.load(tmp_path)
    ended = []
    monkeypatch.setattr(sshconfig, "stop_shared", lambda c, path=None: ended.append(
        sorted(h["HostName"] for h in sshconfig.hosts(c.paths.ssh_config.read_text()).values())))
    sshconfig.write(cfg, "Host xenserver\n  HostName 192.168.121.218\nHost devstack\n  HostName 192.168.121.28\n")
    write_file(cfg.paths.vagrant_ssh_config,
               "Host xenserver\n  HostName 192.168.121.40\nHost devstack\n  HostName 192.168.121.41\n", secret=True)
    snapshots.ssh_config_back(cfg)
    hosts = sshconfig.hosts(cfg.paths.ssh_config.read_text())
    assert {h: v["HostName"] for h, v in hosts.items()} == {"xenserver": "192.168.121.40",
                                                           "devstack": "192.168.121.41"}
    assert hosts["xenserver"]["ControlMaster"] == "auto"  # still multiplexed
    # Shared connections to both the old and the restored addresses are ended.
    assert ended == [["192.168.121.218", "192.168.121.28"], ["192.168.121.40", "192.168.121.41"]]


# ------------------------------------------------------------------ take and restore, on a fake libvirt


class FakeHost:
    """The libvirt host: pools of volumes (qcow2 overlays know what they are built on),
    domains with their disks, networks with their lease files; virsh answers as libvirt does."""

    IMAGES = "/var/lib/libvirt/images"

    def __init__(self, prefix: str):
        box = f"{self.IMAGES}/box_vagrant_box_image_0_box.img"
        self.pools = {"default": {"path": self.IMAGES, "active": True, "vols": {
            "box_vagrant_box_image_0_box.img": {"capacity": 8 << 30, "backing": "", "data": "box"},
            f"{prefix}xenserver.img": {"capacity": 8 << 30, "backing": box, "data": "xs-1"},
            f"{prefix}devstack.img": {"capacity": 8 << 30, "backing": box, "data": "ds-1"},
            "xenlab-nova-probe-1.img": {"capacity": 1 << 20, "backing": "", "data": "probe"}}}}
        self.domains = {
            "u-xs": {"state": "running", "disks": [f"{self.IMAGES}/{prefix}xenserver.img"], "memory": "xs-1"},
            "u-ds": {"state": "running", "disks": [f"{self.IMAGES}/{prefix}devstack.img",
                                                  f"{self.IMAGES}/xenlab-nova-probe-1.img"], "memory": "ds-1"}}
        self.files: dict[str, str] = {}  # files on the host: save files, lease files
        self.calls: list[tuple] = []
        self.restored_xml: list[str] = []

    def vol_by_path(self, path):
        for pool in self.pools.values():
            for name, vol in pool["vols"].items():
                if f"{pool['path']}/{name}" == path:
                    return pool, name, vol
        raise ToolError(f"virsh failed: Storage volume not found: no storage vol with matching path '{path}'")

    def content(self, path):
        """What a disk reads: its own data over what it is built on."""
        _, _, vol = self.vol_by_path(path)
        return vol["data"] if vol["data"] else self.content(vol["backing"])

    def __call__(self, cfg, *args, timeout=None):
        self.calls.append(args)
        cmd, rest = args[0], args[1:]
        if cmd == "pool-list":
            return "\n".join(n for n, p in self.pools.items() if "--all" in rest or p["active"])
        if cmd == "pool-dumpxml":
            return f"<pool><target><path>{self.pools[rest[0]]['path']}</path></target></pool>"
        if cmd == "pool-define-as":
            self.pools[rest[0]] = {"path": rest[3], "active": False, "vols": {}}
            return ""
        if cmd == "pool-start":
            self.pools[rest[0]]["active"] = True
            return ""
        if cmd in ("pool-build", "pool-refresh"):
            if cmd == "pool-refresh":  # files in a pool's directory become its volumes
                pool = self.pools[rest[0]]
                for path in self.files:
                    if path.startswith(pool["path"] + "/") and path.endswith(".save"):
                        pool["vols"].setdefault(path.rsplit("/", 1)[1], {"capacity": 1, "backing": "", "data": "mem"})
            return ""
        if cmd in ("pool-destroy", "pool-delete", "pool-undefine"):
            if cmd == "pool-undefine":
                del self.pools[rest[0]]
            return ""
        if cmd == "vol-list":
            return "\n".join(f"{n} {self.pools[rest[0]]['path']}/{n}" for n in self.pools[rest[0]]["vols"])
        if cmd == "vol-path":
            return f"{self.pools[rest[2]]['path']}/{rest[0]}\n"
        if cmd == "vol-dumpxml":
            path = rest[0] if rest[0].startswith("/") else f"{self.pools[rest[2]]['path']}/{rest[0]}"
            _, _, vol = self.vol_by_path(path)
            on = f"<backingStore><path>{vol['backing']}</path></backingStore>" if vol["backing"] else ""
            return (f"<volume><capacity unit='bytes'>{vol['capacity']}</capacity><target><path>{path}</path>"
                    f"<format type='qcow2'/></target>{on}</volume>")
        if cmd == "vol-info":
            return "Name: x\nAllocation:     1048576\n"
        if cmd == "vol-create-from":  # qemu-img convert: a whole copy of what the disk reads
            name = re.search(r"<name>([^<]+)", Path(rest[1]).read_text()).group(1)
            self.pools[rest[0]]["vols"][name] = {"capacity": 8 << 30, "backing": "", "data": self.content(rest[2])}
            return ""
        if cmd == "vol-create":
            xml = Path(rest[1]).read_text()
            name, backing = re.search(r"<name>([^<]+)", xml).group(1), re.search(r"<backingStore><path>([^<]+)", xml)
            self.pools[rest[0]]["vols"][name] = {"capacity": 8 << 30, "backing": backing.group(1) if backing else "",
                                                 "data": ""}
            return ""
        if cmd == "vol-delete":
            if rest[0].startswith("/"):
                pool, name, _ = self.vol_by_path(rest[0])
            else:
                pool, name = self.pools[rest[2]], rest[0]
            del pool["vols"][name]
            return ""
        if cmd == "domblklist":
            return "\n".join(f"file disk vd{chr(97 + i)} {d}" for i, d in enumerate(self.domains[rest[0]]["disks"]))
        if cmd == "domstate":
            return self.domains[rest[0]]["state"] + "\n"
        if cmd == "dumpxml":
            return f"<domain><uuid>{rest[-1]}</uuid></domain>"
        if cmd == "list":
            return "\n".join(self.domains)
        if cmd == "destroy":
            self.domains[rest[0]]["state"] = "shut off"
            return ""
        if cmd == "save":  # the guest's memory, written on the host; the guest stops
            dom = self.domains[rest[0]]
            self.files[rest[1]] = f"{rest[0]}:{dom['memory']}:{','.join(self.content(d) for d in dom['disks'])}"
            dom["state"] = "shut off"
            return ""
        if cmd == "restore":
            uuid_, memory, _ = self.files[rest[0]].split(":")
            self.domains[uuid_].update(state="running", memory=memory)
            if "--xml" in rest:
                self.restored_xml.append(Path(rest[rest.index("--xml") + 1]).read_text())
            return ""
        if cmd == "save-image-dumpxml":  # the chain the disk had when it was saved
            return ("<domain><devices><disk type='file'><source file='/d.img'/><backingStore type='file'>"
                    "<source file='/box.img'/><backingStore/></backingStore></disk></devices></domain>")
        if cmd == "net-dumpxml":
            return f"<network><name>{rest[-1]}</name><bridge name='virbr-{rest[-1]}'/></network>"
        if cmd == "net-list":
            return "\n".join(labspec.network_names(cfg).values())
        raise AssertionError(args)

    def each(self, cfg, calls, timeout=None):
        for call in calls:
            self(cfg, *call)


@pytest.fixture
def host(tmp_path, monkeypatch):
    from xenlab.core.files import write_file
    from xenlab.machines import libvirt, libvirthost, labspec as spec_mod, sshconfig
    from xenlab.machines.vagrantcli import machine_dir

    cfg = labs.load(tmp_path, extra='libvirt_uri = "qemu+ssh://you@big-host/system"\n')
    fake = FakeHost(spec_mod.domain_prefix(cfg))
    monkeypatch.setattr(libvirt, "virsh", fake)
    monkeypatch.setattr(libvirt, "virsh_each", fake.each)
    monkeypatch.setattr(libvirthost, "read_file", lambda c, path: fake.files.get(path))
    monkeypatch.setattr(libvirthost, "write_file", lambda c, path, text: fake.files.__setitem__(path, text))
    monkeypatch.setattr(sshconfig, "wait_answering", lambda c: None)
    monkeypatch.setattr(sshconfig, "stop_shared", lambda c, path=None: None)
    for m, uuid_ in (("xenserver", "u-xs"), ("devstack", "u-ds")):
        write_file(machine_dir(cfg, m, "libvirt") / "id", uuid_)
    fake.files["/var/lib/libvirt/dnsmasq/virbr-xenlab-t-mgmt.status"] = '[{"ip-address": "192.168.121.40"}]\n'
    return cfg, fake


def test_a_snapshot_keeps_memory_and_disk_copies_on_the_libvirt_host(host):
    cfg, fake = host
    snapshots.take(cfg, "ci", {"xenserver": "xenlab/standin@1"})
    meta = snapshots.read(cfg, "ci")
    store = "/var/lib/libvirt/xenlab-snapshots/" + snapshots.pool_name(cfg)
    assert meta["pool_dir"] == store and fake.pools[snapshots.pool_name(cfg)]["path"] == store
    # Memory saved on the host (virsh save writes where libvirtd runs), the machines running on.
    assert sorted(p for p in fake.files if p.endswith(".save")) == sorted(
        f"{store}/{meta['machines'][m]['save']}" for m in ("xenserver", "devstack"))
    assert {d["state"] for d in fake.domains.values()} == {"running"}
    # Each machine's own disk copied there whole; Nova's probe disk, shared by every lab, is not.
    disks = {m: [d["path"].rsplit("/", 1)[1] for d in info["disks"]] for m, info in meta["machines"].items()}
    assert disks == {"xenserver": ["xenlab-t-xenserver.img"], "devstack": ["xenlab-t-devstack.img"]}
    copies = fake.pools[snapshots.pool_name(cfg)]["vols"]
    assert copies[meta["machines"]["xenserver"]["disks"][0]["volume"]]["data"] == "xs-1"
    # The management network's leases, read from libvirt's file on the host; sizes recorded.
    assert (snapshots.folder(cfg, "ci") / "net-management.status").read_text() == '[{"ip-address": "192.168.121.40"}]\n'
    assert snapshots.describe(cfg)[0]["size_mib"] >= 4  # four volumes of 1 MiB, and the folder


def test_a_restore_resumes_the_saved_memory_on_disks_built_on_the_copies(host):
    cfg, fake = host
    snapshots.take(cfg, "ci", {})
    # The lab changes after the snapshot: a disk written, the memory moved on.
    fake.pools["default"]["vols"]["xenlab-t-xenserver.img"]["data"] = "xs-2"
    fake.domains["u-xs"]["memory"] = "xs-2"
    snapshots.restore(cfg, "ci")
    meta = snapshots.read(cfg, "ci")
    xs = fake.pools["default"]["vols"]["xenlab-t-xenserver.img"]
    assert xs["backing"] == f"{meta['pool_dir']}/{meta['machines']['xenserver']['disks'][0]['volume']}"
    assert fake.content("/var/lib/libvirt/images/xenlab-t-xenserver.img") == "xs-1"
    assert fake.domains["u-xs"] == {"state": "running", "disks": ["/var/lib/libvirt/images/xenlab-t-xenserver.img"],
                                    "memory": "xs-1"}
    assert "xenlab-nova-probe-1.img" in fake.pools["default"]["vols"]  # never touched
    # Resumed with the chain libvirt reads from the disk, not the one the save recorded (on the box's image).
    assert len(fake.restored_xml) == 2
    assert all("backingStore" not in x and '<source file="/d.img" />' in x for x in fake.restored_xml)


def test_a_replaced_snapshot_s_copies_stay_while_a_machine_is_built_on_them(host):
    cfg, fake = host
    pool = lambda: sorted(v for v in fake.pools[snapshots.pool_name(cfg)]["vols"] if v.endswith(".qcow2"))
    snapshots.take(cfg, "ci", {})
    first = pool()
    snapshots.restore(cfg, "ci")  # the machines are now built on the first copies
    snapshots.take(cfg, "ci", {})  # replaced: its new copies are whole, the old ones still in use
    assert set(first) < set(pool()) and len(pool()) == 4
    snapshots.restore(cfg, "ci")  # now built on the new copies: the first are no one's, and go
    assert not set(first) & set(pool()) and len(pool()) == 2
    snapshots.delete(cfg, "ci")  # the machines still stand on them: kept until nothing does
    assert len(pool()) == 2
    snapshots.delete_all(cfg)  # `down --purge`, once the machines are gone: the pool with them
    assert snapshots.pool_name(cfg) not in fake.pools and snapshots.names(cfg) == []


def test_a_snapshot_whose_copies_are_gone_is_refused_in_one_line(host):
    cfg, fake = host
    snapshots.take(cfg, "ci", {})
    fake.pools[snapshots.pool_name(cfg)]["vols"].clear()
    with pytest.raises(HostError, match=r"snapshot 'ci' needs .*, which is no longer in libvirt's pool "
                                        r"xenlab-t-snapshots-\w+ on you@big-host: take a new snapshot"):
        snapshots.restore(cfg, "ci")
