"""The lab spec: the one file the top-level Vagrantfile reads.

The Vagrantfile holds no settings of its own; everything it needs is here,
rendered from the Config and the flavour: boxes, machine shapes, the provider's
knobs, the provisioning scripts, where `wire` leaves the files the devstack
machine needs, and the command its triggers run (`xenlab vagrant-hook`, with this
lab's config). No secret goes in (it is world-readable).

The Vagrantfile finds the spec through $XENLAB_LAB_SPEC (a path, set by
`invoke up`), else $XENLAB_LAB (a lab name), else `.xenlab/active`, the
pointer `plan` writes naming the lab it rendered last.
"""

from __future__ import annotations

import ipaddress
import json

from ..core import flavours, kvm
from ..devstack import conf as devstack_conf
from ..core.paths import VAGRANT_SCRIPTS, VENV_BIN

SPEC_VERSION = 3
MACHINES = ("xenserver", "devstack")
DEVSTACK_REPO = "https://opendev.org/openstack/devstack"
# Stable branches are gone: the releases live on as <release>-eol tags.
DEVSTACK_TAGS = {"train": "train-eol", "ussuri": "ussuri-eol"}

# The NIC XCP-ng's docs give for a nested host under KVM (docs.xcp-ng.org, "Nested
# virtualization"); VirtualBox's equivalent Intel PRO/1000.
NIC_MODEL = "e1000"
VIRTUALBOX_NIC = "82540EM"

# Where provisioning finds wire's files inside the devstack guest (rsync'd there).
GUEST_STAGING = "/var/lib/xenlab"
# Where the devstack guest has Nova's compute probe: its install tree (a disk of its
# own, mounted), its script, and the socket its service answers on.
GUEST_PROBE_TREE = f"{GUEST_STAGING}/nova-probe-tree"
GUEST_PROBE_SCRIPTS = f"{GUEST_STAGING}/nova-probe"
GUEST_PROBE_SOCKET = "/run/xenlab-nova-probe.sock"
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
    accel = kvm.accelerator(cfg.lab.accelerator)
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
    }


def hook_command(cfg) -> list[str]:
    """What the Vagrantfile's triggers run: the checkout's xenlab, on this very lab."""
    argv = [str(VENV_BIN / "xenlab"), "vagrant-hook", "--flavour", cfg.lab.flavour]
    if cfg.config_path:
        argv += ["--config", str(cfg.config_path)]
    return argv


def spec(cfg) -> dict:
    flavour = flavours.load(cfg)
    s = cfg.public_dict()
    s.pop("credentials")
    net = ipaddress.IPv4Network(cfg.network.cidr)
    paths = cfg.paths
    return {
        "version": SPEC_VERSION,
        "lab": {**s["lab"], "accelerator": kvm.accelerator(cfg.lab.accelerator), "standin": flavour.standin,
                "up_timeout_s": flavour.up_timeout_s},
        "iso": s["iso"],
        "xenserver": {
            **s["xenserver"],
            "ip": cfg.network.xenserver_ip,
            "box": flavour.box_name,
            "mac": private_mac(cfg, cfg.network.xenserver_ip),
            "hostname": f"{cfg.lab.name}-xenserver",
        },
        "devstack": {
            **s["devstack"],
            "ip": cfg.network.devstack_ip,
            "box": devstack_box(cfg, flavour),
            "mac": private_mac(cfg, cfg.network.devstack_ip),
            "repo": DEVSTACK_REPO,
            "tag": DEVSTACK_TAGS[cfg.devstack.release],
            "image_urls": list(devstack_conf.PLUGIN_IMAGE_URLS),
        },
        "network": {**s["network"], "netmask": str(net.netmask)},
        "libvirt": libvirt(cfg, flavour),
        "virtualbox": {"nic_model": VIRTUALBOX_NIC},
        "paths": {
            "root": str(cfg.root),
            "lab_dir": str(paths.lab_dir),
            "scripts": str(VAGRANT_SCRIPTS),
            # Rendered by `wire`; synced into the devstack guest before provisioning.
            "devstack_files": str(paths.devstack_files),
            "ssh_files": str(paths.ssh_dir),
            "guest_staging": GUEST_STAGING,
        },
        # Synced into the devstack guest when the flavour gives it Nova's compute probe.
        "nova_probe": _nova_probe(flavour),
        "hook": hook_command(cfg),
    }


def _nova_probe(flavour) -> dict | None:
    """The probe's disk, script and service, for the Vagrantfile and the devstack provisioning."""
    if not flavour.nova_probe:
        return None
    import shlex

    from ..devstack import probe

    run = probe.command(GUEST_PROBE_TREE, GUEST_NOVA_CONF, script=f"{GUEST_PROBE_SCRIPTS}/{probe.SCRIPT.name}",
                        serve=GUEST_PROBE_SOCKET)
    return {"volume": probe.volume_name(), "label": probe.IMAGE_LABEL, "scripts": str(probe.SCRIPT.parent),
            "script": probe.SCRIPT.name, "guest_tree": GUEST_PROBE_TREE, "guest_scripts": GUEST_PROBE_SCRIPTS,
            "service": " ".join(shlex.quote(a) for a in run.argv),
            "environment": " ".join(f"{k}={v}" for k, v in run.env.items())}


def render(cfg) -> str:
    return json.dumps(spec(cfg), indent=2, sort_keys=True) + "\n"


def render_active(cfg) -> str:
    return cfg.lab.name + "\n"
