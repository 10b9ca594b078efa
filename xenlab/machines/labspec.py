"""The lab spec: the one file the top-level Vagrantfile reads.

The Vagrantfile holds no settings and no machine of its own; everything it needs
is here, rendered from the Config and the flavour: the machines (one row each in
TABLE: name, stage, box, shape, provisioning), the provider's knobs, the files a
machine is given before its provisioning, the settings the triggers' hook rebuilds
the Config from (`config`: the hook reads this file and nothing else, but the
password), and the command the triggers run (`xenlab vagrant-hook`). No secret
goes in (it is world-readable).

The Vagrantfile finds the spec through $XENLAB_LAB_SPEC (a path, set by
`invoke up`), else $XENLAB_LAB (a lab name), else `.xenlab/active`, the
pointer `plan` writes naming the lab it rendered last.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from ..errors import ConfigError
from ..devstack import conf as devstack_conf
from ..core.paths import VAGRANT_SCRIPTS, VENV_BIN
from . import libvirthost

SPEC_VERSION = 5


@dataclass(frozen=True)
class Machine:
    """One machine of the lab: what the Vagrantfile defines, the stage that brings it
    up, and how it is provisioned."""

    name: str
    stage: str  # the lifecycle stage that brings it up
    summary: str
    primary: bool = False
    # Runs Xen as a guest: the provider's nested-virtualisation shape, the flavour's
    # disk bus and NIC, and no Vagrant-managed hostname (see the Vagrantfile).
    xen_host: bool = False
    # Machines that boot beside it, unprovisioned, when its stage runs: their boot
    # overlaps this one's and only their provisioning waits.
    boots_with: tuple[str, ...] = ()
    # LabPaths files uploaded into it before its provisioning (wire renders them).
    files: tuple[str, ...] = ()
    # The machine whose stage must be done before the stages that feed this one run
    # (on a plain `vagrant up` its provisioning waits for that machine to be up).
    fed_after: str = ""
    # It is given Nova's compute probe when the flavour says so.
    gets_probe: bool = False


TABLE: tuple[Machine, ...] = (
    Machine("xenserver", "up-xenserver", "bring up the xenserver machine", primary=True, xen_host=True,
            boots_with=("devstack",)),
    Machine("devstack", "up-devstack", "bring up the devstack machine with wire's files",
            files=("local_conf", "nova_conf", "domzero_key", "domzero_pub"), fed_after="xenserver",
            gets_probe=True),
)
MACHINES = tuple(m.name for m in TABLE)


def machine(name: str) -> Machine:
    return next(m for m in TABLE if m.name == name)

DEVSTACK_REPO = "https://opendev.org/openstack/devstack"
# Stable branches are gone: the releases live on as <release>-eol tags.
DEVSTACK_TAGS = {"train": "train-eol", "ussuri": "ussuri-eol"}

# The NIC XCP-ng's docs give for a nested host under KVM (docs.xcp-ng.org, "Nested
# virtualization"); VirtualBox's equivalent Intel PRO/1000.
NIC_MODEL = "e1000"
VIRTUALBOX_NIC = "82540EM"

# Where provisioning finds the files xenlab's provisioner uploads into the devstack guest.
GUEST_STAGING = "/var/lib/xenlab"
# Where the devstack guest has Nova's compute probe: its disk (mounted: the install
# tree and the lab's image), its scripts, and the socket its service answers on.
GUEST_PROBE_DISK = f"{GUEST_STAGING}/probe-disk"
GUEST_PROBE_SCRIPTS = f"{GUEST_STAGING}/nova-probe"
GUEST_PROBE_SOCKET = "/run/xenlab-nova-probe.sock"
GUEST_PROBE_SERVICE = "xenlab-nova-probe.service"
# Your own Nova's package (devstack.nova_src), synced here by verify; the probe imports it
# before its tree's Nova when it is there (NOVA_PROBE_NOVA_SRC in the service's environment).
GUEST_NOVA_SRC = f"{GUEST_STAGING}/nova-src"
# Glance's state there (DevStack's $DATA_DIR/glance), and the record of the lab's image in it.
GUEST_GLANCE_STATE = "/opt/stack/data/glance"
GUEST_GLANCE_RECORD = f"{GUEST_STAGING}/glance-image.json"
# Where vagrant/devstack/provision.sh installs wire's files (verify looks there).
GUEST_LOCAL_CONF = "/opt/stack/devstack/local.conf"
GUEST_NOVA_CONF = "/etc/nova/nova.conf"


def devstack_box(cfg, flavour) -> str:
    return cfg.devstack.box or flavour.devstack_box


def domain_prefix(cfg) -> str:
    """libvirt domain and volume names start with this, so `down` finds its own."""
    return f"xenlab-{cfg.lab.name}-"


def network_names(cfg) -> dict[str, str]:
    return {"private": f"xenlab-{cfg.lab.name}", "management": f"xenlab-{cfg.lab.name}-mgmt"}


def private_mac(cfg, ip: str) -> str:
    """A fixed MAC for a machine's private NIC, so provisioning can find that NIC.

    The last three bytes are the address's last three octets; the first three are
    the locally used QEMU prefix (libvirt) or VirtualBox's (which wants no colons).
    """
    tail = ipaddress.IPv4Address(ip).packed[1:]
    if cfg.lab.provider == "virtualbox":
        return "080027" + tail.hex()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in tail)


def libvirt(cfg, flavour) -> dict:
    accel = libvirthost.accelerator(cfg)
    return {
        "uri": cfg.lab.libvirt_uri,
        # Nested Xen needs the host CPU's virtualisation extensions; TCG has none
        # to pass, and a plain model boots the stand-in's Debian kernel.
        "driver": "kvm" if accel == "kvm" else "qemu",
        "cpu_mode": "host-passthrough" if accel == "kvm" else "custom",
        "cpu_model": "" if accel == "kvm" else "qemu64",
        "nic_model": NIC_MODEL,
        # The bus the box was installed on, and the disk's serial there (see the flavour's).
        "disk_bus": flavour.disk_bus,
        "disk_serial": flavour.disk_serial,
        "prefix": domain_prefix(cfg),
        "networks": network_names(cfg),
        # The management network's range: each lab its own (config.Network.management_network).
        "management_network": str(cfg.network.management_network),
    }


def hook_command() -> list[str]:
    """What the Vagrantfile's triggers run: the checkout's xenlab. The Vagrantfile
    adds `--spec <this file>`, so the hook rebuilds the Config from what Vagrant read."""
    return [str(VENV_BIN / "xenlab"), "vagrant-hook"]


def _upload(source, guest: str, mode: str = "0600") -> dict:
    """A file xenlab's provisioner uploads before the machine's own provisioning."""
    return {"from": str(source), "to": guest, "mode": mode}


def _xenserver(cfg, m: Machine) -> dict:
    xs = cfg.network.xenserver_ip
    mac = private_mac(cfg, xs)
    hostname = f"{cfg.lab.name}-xenserver"
    netmask = str(ipaddress.IPv4Network(cfg.network.cidr).netmask)
    return {
        **cfg.public_dict()["xenserver"],
        "ip": xs, "mac": mac, "box": cfg.flavour.box_name, "hostname": hostname,
        # No Vagrant hostname: its RedHat capability would run `service network restart`
        # in dom0 (hashicorp/vagrant plugins/guests/redhat/cap/change_host_name.rb);
        # management-ip.sh names the host through xe.
        "vagrant_hostname": "",
        "disks": [],
        "files": [],
        "synced": [],
        # Every flavour, the stand-in too: the address and the name go through xe.
        "provision": [{"name": "management-ip", "path": str(VAGRANT_SCRIPTS / "xenserver" / "management-ip.sh"),
                       "args": [mac, xs, netmask, hostname], "env": {}}],
    }


def _devstack(cfg, m: Machine) -> dict:
    ds = cfg.network.devstack_ip
    mac = private_mac(cfg, ds)
    netmask = str(ipaddress.IPv4Network(cfg.network.cidr).netmask)
    probe = _nova_probe(cfg, cfg.flavour)
    paths = cfg.paths
    guest = {"local_conf": f"{GUEST_STAGING}/devstack/local.conf", "nova_conf": f"{GUEST_STAGING}/devstack/nova.conf",
             "domzero_key": f"{GUEST_STAGING}/ssh/domzero", "domzero_pub": f"{GUEST_STAGING}/ssh/domzero.pub"}
    files = [_upload(getattr(paths, name), guest[name]) for name in m.files]
    if probe:  # the probe's scripts (and Glance's launcher), from the checkout's vagrant/devstack/
        files += [_upload(f"{probe['scripts']}/{name}", f"{GUEST_PROBE_SCRIPTS}/{name}", mode="0644")
                  for name in probe["synced"]]
    return {
        **cfg.public_dict()["devstack"],
        "ip": ds, "mac": mac, "box": devstack_box(cfg, cfg.flavour), "vagrant_hostname": "devstack",
        "repo": DEVSTACK_REPO, "tag": DEVSTACK_TAGS[cfg.devstack.release],
        "image_urls": list(devstack_conf.PLUGIN_IMAGE_URLS),
        # Nova's compute probe: its install tree on a disk of its own, built on the host
        # (which has PyPI) and put in the pool by the hook before this machine comes up.
        # Shareable: every lab's devstack machine on one libvirt host attaches the same volume
        # (mounted read-only in it); QEMU's image locking refuses a second writer otherwise.
        "disks": [{"volume": probe["volume"], "bus": "virtio", "shareable": True}] if probe else [],
        "files": files,
        # Your own Nova where stack.sh runs: the checkout, synced in for local.conf's NOVA_REPO.
        "synced": [nova_repo] if (nova_repo := _nova_repo(cfg, cfg.flavour)) else [],
        "provision": [
            {"name": "private-ip", "path": str(VAGRANT_SCRIPTS / "common" / "static-ip.sh"), "args": [mac, ds, netmask],
             "env": {}},
            {"name": "devstack", "path": str(VAGRANT_SCRIPTS / "devstack" / "provision.sh"), "args": [],
             "env": {
                 "XENLAB_STAGING": GUEST_STAGING,
                 "XENLAB_USER": cfg.devstack.user,
                 "XENLAB_DEVSTACK_REPO": DEVSTACK_REPO,
                 "XENLAB_DEVSTACK_TAG": DEVSTACK_TAGS[cfg.devstack.release],
                 "XENLAB_STANDIN": "yes" if cfg.flavour.standin else "no",
                 "XENLAB_XENSERVER_IP": cfg.network.xenserver_ip,
                 "XENLAB_IMAGE_URLS": " ".join(devstack_conf.PLUGIN_IMAGE_URLS),
                 # Nova's probe and Glance (the stand-in): see _nova_probe.
                 **(probe["provision_env"] if probe else {}),
             }},
        ],
    }


_RENDER = {"xenserver": _xenserver, "devstack": _devstack}


def _machine(cfg, m: Machine) -> dict:
    return {**_RENDER[m.name](cfg, m), "stage": m.stage, "primary": m.primary, "xen_host": m.xen_host,
            "fed_after": m.fed_after, "prepares": m.gets_probe and cfg.flavour.nova_probe}


def spec(cfg) -> dict:
    flavour = cfg.flavour
    s = cfg.public_dict()
    net = ipaddress.IPv4Network(cfg.network.cidr)
    paths = cfg.paths
    return {
        "version": SPEC_VERSION,
        # What the triggers' hook rebuilds the Config from (core.config.from_spec).
        "config": {"settings": s, "root": str(cfg.root),
                   "config_path": str(cfg.config_path) if cfg.config_path else None},
        "lab": {**s["lab"], "accelerator": libvirthost.accelerator(cfg), "standin": flavour.standin,
                "up_timeout_s": flavour.up_timeout_s},
        "iso": s["iso"],
        "machines": list(MACHINES),
        **{m.name: _machine(cfg, m) for m in TABLE},
        "network": {**s["network"], "netmask": str(net.netmask)},
        "libvirt": libvirt(cfg, flavour),
        "virtualbox": {"nic_model": VIRTUALBOX_NIC},
        "paths": {"root": str(cfg.root), "lab_dir": str(paths.lab_dir), "guest_staging": GUEST_STAGING,
                  "vagrant_dotfile": str(paths.vagrant_dotfile)},
        "nova_probe": _nova_probe(cfg, flavour),
        "hook": hook_command(),
    }


def _unit_command(run) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in run.argv)


def _unit_env(run) -> str:
    return " ".join(f"{k}={v}" for k, v in run.env.items())


def _nova_probe(cfg, flavour) -> dict | None:
    """The probe's disk, scripts and service (and Glance's, which runs from the same
    tree), for the Vagrantfile and the devstack provisioning (`provision_env`)."""
    if not flavour.nova_probe:
        return None
    from ..devstack import probe

    tree = f"{GUEST_PROBE_DISK}/{probe.DISK_TREE}"
    run = probe.command(tree, GUEST_NOVA_CONF, script=f"{GUEST_PROBE_SCRIPTS}/{probe.SCRIPT.name}",
                        serve=GUEST_PROBE_SOCKET)
    # The probe imports your own Nova (devstack.nova_src) from where verify syncs it, if there.
    environment = _unit_env(run) + f" NOVA_PROBE_NOVA_SRC={GUEST_NOVA_SRC}"
    section = {"volume": probe.volume_name(), "label": probe.IMAGE_LABEL, "scripts": str(probe.SCRIPT.parent),
               "synced": [probe.SCRIPT.name], "guest_disk": GUEST_PROBE_DISK, "guest_tree": tree,
               "guest_scripts": GUEST_PROBE_SCRIPTS, "service": _unit_command(run), "environment": environment,
               "glance": _glance(cfg, flavour, tree)}
    env = {"XENLAB_PROBE_LABEL": probe.IMAGE_LABEL, "XENLAB_PROBE_MOUNT": GUEST_PROBE_DISK,
           "XENLAB_PROBE_SERVICE": section["service"], "XENLAB_PROBE_ENV": section["environment"]}
    if section["glance"]:
        section["synced"].append(section["glance"].pop("script"))
        env.update(section["glance"].pop("provision_env"))
    section["provision_env"] = env
    return section


def _glance(cfg, flavour, tree: str) -> dict | None:
    """Glance on the devstack machine's private address, and the lab's image in it."""
    if not flavour.glance_service:
        return None
    from ..devstack import glance, probe, vhd

    script = f"{GUEST_PROBE_SCRIPTS}/{glance.SCRIPT.name}"
    url = glance.endpoint(cfg.network.devstack_ip)
    image = f"{GUEST_PROBE_DISK}/{probe.DISK_IMAGES}/{vhd.FILE_NAME}"
    cmds = glance.commands(tree, GUEST_GLANCE_STATE, cfg.network.devstack_ip, script=script)
    upload = glance.upload_command(tree, url, image, GUEST_GLANCE_RECORD, script=script)
    return {"url": url, "service": glance.SERVICE, "state_dir": GUEST_GLANCE_STATE, "image": image,
            "image_name": vhd.image_name(), "record": GUEST_GLANCE_RECORD, "script": glance.SCRIPT.name,
            "provision_env": {"XENLAB_GLANCE_UNIT": glance.SERVICE, "XENLAB_GLANCE_STATE": GUEST_GLANCE_STATE,
                              "XENLAB_GLANCE_SCRIPT": script,
                              "XENLAB_GLANCE_DB_SYNC": _unit_command(cmds.db_sync),
                              "XENLAB_GLANCE_API": _unit_command(cmds.api), "XENLAB_GLANCE_ENV": _unit_env(cmds.api),
                              "XENLAB_GLANCE_UPLOAD": _unit_command(upload)}}


def _nova_repo(cfg, flavour) -> dict | None:
    """Your own Nova where stack.sh runs: the checkout Vagrant syncs into the machine for NOVA_REPO.

    (Where the devstack machine runs Nova's probe instead, verify syncs the package: devstack/nova_src.py.)
    """
    src = cfg.nova_src_path
    if src is None or flavour.nova_probe:
        return None
    if devstack_conf.own_nova(cfg) is None:
        raise ConfigError(f"config error: devstack.nova_src: {src} has no branch checked out in its own .git "
                          "(a detached HEAD, or a worktree): DevStack clones NOVA_BRANCH by name; check out a branch")
    return {"host": str(src), "guest": devstack_conf.NOVA_REPO_IN_MACHINE, "exclude": [".tox/"]}


def render(cfg) -> str:
    return json.dumps(spec(cfg), indent=2, sort_keys=True) + "\n"


def render_active(cfg) -> str:
    return cfg.lab.name + "\n"
