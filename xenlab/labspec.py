"""The lab spec: the one file the top-level Vagrantfile reads.

The Vagrantfile holds no settings of its own; everything it needs is here,
rendered from the Config: boxes, machine shapes, the provider's knobs, the
provisioning scripts and where `wire` leaves the files the devstack machine
needs. No secret goes in (it is world-readable).

The Vagrantfile finds the spec through $XENLAB_LAB_SPEC (a path, set by
`invoke up`), else $XENLAB_LAB (a lab name), else `.xenlab/active`, the
pointer `plan` writes naming the lab it rendered last.
"""

from __future__ import annotations

import ipaddress
import json

from . import host
from .config import PROJECT_DIR

SPEC_VERSION = 2
ACTIVE_FILE = "active"  # in cfg.workdir: the name of the lab `plan` rendered last

STANDIN = "standin"
# The devstack machine's box when devstack.box is empty: DevStack at train/ussuri
# supports Ubuntu 18.04; the stand-in flavour has a small Debian box of its own.
DEFAULT_DEVSTACK_BOX = "generic/ubuntu1804"
STANDIN_DEVSTACK_BOX = "xenlab/standin-devstack"
DEVSTACK_REPO = "https://opendev.org/openstack/devstack"
# Stable branches are gone: the releases live on as <release>-eol tags.
DEVSTACK_TAGS = {"train": "train-eol", "ussuri": "ussuri-eol"}

# XenServer's dom0 kernel has no virtio drivers (FACTS.md section 6).
NIC_MODEL = "e1000"
DISK_BUS = "sata"
VIRTUALBOX_NIC = "82540EM"

# Where provisioning finds wire's files inside the devstack guest (rsync'd there).
GUEST_STAGING = "/var/lib/xenlab"


def xenserver_box(cfg) -> str:
    return f"xenlab/{cfg.lab.flavour}"


def devstack_box(cfg) -> str:
    if cfg.devstack.box:
        return cfg.devstack.box
    return STANDIN_DEVSTACK_BOX if is_standin(cfg) else DEFAULT_DEVSTACK_BOX


def is_standin(cfg) -> bool:
    return cfg.lab.flavour == STANDIN


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


def libvirt(cfg) -> dict:
    kvm = host.accelerator(cfg.lab.accelerator) == "kvm"
    return {
        "uri": cfg.lab.libvirt_uri,
        # Nested Xen needs the host CPU's virtualisation extensions; TCG has none
        # to pass, and a plain model boots the stand-in's Debian kernel.
        "driver": "kvm" if kvm else "qemu",
        "cpu_mode": "host-passthrough" if kvm else "custom",
        "cpu_model": "" if kvm else "qemu64",
        "nic_model": NIC_MODEL,
        "disk_bus": DISK_BUS,
        "prefix": domain_prefix(cfg),
        "networks": network_names(cfg),
    }


def wire_command(cfg) -> list[str]:
    # The checkout's own xenlab, with the flavour the spec was rendered for, so the
    # trigger wires the same lab even when `plan` was given --flavour.
    return [str(PROJECT_DIR / ".venv" / "bin" / "xenlab"), "wire", "--flavour", cfg.lab.flavour]


def spec(cfg) -> dict:
    s = cfg.public_dict()
    s.pop("credentials")
    net = ipaddress.IPv4Network(cfg.network.cidr)
    lab_dir = cfg.lab_dir
    return {
        "version": SPEC_VERSION,
        "lab": {**s["lab"], "accelerator": host.accelerator(cfg.lab.accelerator), "standin": is_standin(cfg)},
        "iso": s["iso"],
        "xenserver": {
            **s["xenserver"],
            "ip": cfg.network.xenserver_ip,
            "box": xenserver_box(cfg),
            "mac": private_mac(cfg, cfg.network.xenserver_ip),
        },
        "devstack": {
            **s["devstack"],
            "ip": cfg.network.devstack_ip,
            "box": devstack_box(cfg),
            "mac": private_mac(cfg, cfg.network.devstack_ip),
            "repo": DEVSTACK_REPO,
            "tag": DEVSTACK_TAGS[cfg.devstack.release],
        },
        "network": {**s["network"], "netmask": str(net.netmask)},
        "libvirt": libvirt(cfg),
        "virtualbox": {"nic_model": VIRTUALBOX_NIC},
        "paths": {
            "root": str(cfg.root),
            "lab_dir": str(lab_dir),
            "scripts": str(PROJECT_DIR / "vagrant"),
            # Rendered by `wire`; synced into the devstack guest before provisioning.
            "devstack_files": str(lab_dir / "devstack"),
            "ssh_files": str(lab_dir / "ssh"),
            "guest_staging": GUEST_STAGING,
        },
        "wire": wire_command(cfg),
    }


def render(cfg) -> str:
    return json.dumps(spec(cfg), indent=2, sort_keys=True) + "\n"


def render_active(cfg) -> str:
    return cfg.lab.name + "\n"
