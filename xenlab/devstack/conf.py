"""What the DevStack machine needs: local.conf and the nova.conf stack.sh would write.

Both are pure functions of the Config; `wire` writes them (0600: they hold the
password) once the host has been checked. The release is data (RELEASES): its git
ref pins and Python.

Why train is the default: Nova's XenAPI driver lives
until Ussuri, but Ussuri is Python 3 only, and under Python 3 os-xenapi 0.3.4's
call_plugin_serialized sends bytes (base64 on the wire) and unpickles a str, so
Nova's start-up plugin check cannot pass. Train is the last release whose Nova
runs on Python 2.7 (USE_PYTHON3=False), where that exchange is the protocol-0
string pickle the dom0 plugins expect.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.shell import quote
from . import nova_src

OS_XENAPI_GIT = "https://opendev.org/x/os-xenapi"


@dataclass(frozen=True)
class Release:
    name: str
    ref: str  # the eol tag: stable/<name> branches are gone
    use_python3: bool
    ubuntu: str  # the Ubuntu LTS its DevStack supports
    note: str


RELEASES = {
    "train": Release("train", "train-eol", False, "18.04",
                     "Nova 20 on Python 2.7: the os-xenapi plugin exchange works as released"),
    "ussuri": Release("ussuri", "ussuri-eol", True, "18.04",
                      "Nova 21 on Python 3: os-xenapi 0.3.4's plugin calls fail at start-up"),
}

# Every project stack.sh clones for this lab, pinned to the release's tag (stackrc
# defaults each *_BRANCH to $TARGET_BRANCH, i.e. the deleted stable/<name> branch).
PINNED = ("REQUIREMENTS", "KEYSTONE", "GLANCE", "NOVA", "NEUTRON", "PLACEMENT", "CINDER", "SWIFT", "HORIZON")

# The images stack.sh uploads to Glance for the xenserver driver. os-xenapi's DevStack
# plugin sets IMAGE_URLS itself in its install phase, after local.conf was read
# (os-xenapi 0.3.4 devstack/plugin.sh, CIRROS_VERSION 0.3.5 from devstack/override-defaults),
# so local.conf cannot change them. DevStack downloads an image only when files/<name>
# is missing (devstack train-eol functions upload_image), and a failed download stops
# stack.sh (set -o errexit): the devstack machine fetches these into files/ before
# stack.sh, so a host that is gone shows at once. Neither file has a sha256 published
# beside it; provisioning prints the digest of what it got.
PLUGIN_IMAGE_URLS = (
    "http://ca.downloads.xensource.com/OpenStack/cirros-0.3.5-x86_64-disk.vhd.tgz",
    "http://download.cirros-cloud.net/0.3.5/cirros-0.3.5-x86_64-uec.tar.gz",
)

# Your own Nova (devstack.nova_src) on DevStack flavours: the checkout, synced into the
# machine here, is what stack.sh clones (NOVA_REPO), at the branch it has checked out.
NOVA_REPO_IN_MACHINE = "/opt/stack/xenlab-nova-src"

# The passwords stack.sh prompts for when they are unset (a lab never waits on stdin).
PROMPTED = ("ADMIN_PASSWORD", "DATABASE_PASSWORD", "RABBIT_PASSWORD", "SERVICE_PASSWORD")


def xenapi_host(cfg) -> str:
    return cfg.wire.host or cfg.network.xenserver_ip


def connection_url(cfg) -> str:
    # Scheme and host only: os-xenapi's setup SSHes to root@<everything after //>,
    # and Nova's client cannot take a port (so XenAPI must be on port 80).
    return f"http://{xenapi_host(cfg)}"


def release(cfg) -> Release:
    return RELEASES[cfg.devstack.release]


def own_nova(cfg) -> tuple[str, str] | None:
    """NOVA_REPO and NOVA_BRANCH for your own Nova, when devstack.nova_src names a checkout on a
    branch and stack.sh runs (where Nova's probe stands for nova-compute, verify syncs it instead)."""
    src = None if cfg.flavour.nova_probe else cfg.nova_src_path
    name = nova_src.branch(src) if src else None
    return (NOVA_REPO_IN_MACHINE, name) if name else None


def render_local_conf(cfg) -> str:
    rel = release(cfg)
    pw = quote(cfg.password.get_secret_value())
    nova = own_nova(cfg)
    lines = [
        f"# DevStack local.conf for xenlab lab {cfg.lab.name!r}, rendered by `xenlab wire`.",
        f"# Release {rel.name} ({rel.ref}, Ubuntu {rel.ubuntu}): {rel.note}.",
        f"# Clone DevStack itself at {rel.ref}. Holds the password: keep it 0600.",
        "[[local|localrc]]",
        *(f"{name}={pw}" for name in PROMPTED),
        f"HOST_IP={cfg.network.devstack_ip}" if not cfg.wire.host else "# HOST_IP: DevStack's own guess",
        f"USE_PYTHON3={rel.use_python3}",
        *(f"{project}_BRANCH={rel.ref}" for project in PINNED if not (nova and project == "NOVA")),
        *([f"NOVA_REPO={nova[0]}", f"NOVA_BRANCH={quote(nova[1])}"] if nova else []),
        "VIRT_DRIVER=xenserver",
        f"XENAPI_CONNECTION_URL={connection_url(cfg)}",
        f"XENAPI_USER={cfg.credentials.xenapi_user}",
        f"XENAPI_PASSWORD={pw}",
        f"DOMZERO_USER={cfg.devstack.user}",
        f"enable_plugin os-xenapi {OS_XENAPI_GIT} {cfg.devstack.os_xenapi_version}",
        # Post-config values are shell-expanded and indented lines are dropped:
        # keep them literal, in column 0, and free of secrets.
        "[[post-config|$NOVA_CONF]]",
        "[xenserver]",
        "independent_compute=True",
        "check_host=False",
        "[DEFAULT]",
        "flat_injected=False",
        "",
    ]
    return "\n".join(lines)


def render_nova_conf(cfg) -> str:
    """The nova.conf options stack.sh's xenserver hypervisor plugin and the
    post-config above would write (used as-is where stack.sh cannot run)."""
    lines = [
        f"# nova.conf options for xenlab lab {cfg.lab.name!r} (what stack.sh would write"
        " for VIRT_DRIVER=xenserver plus the post-config of local.conf).",
        "[DEFAULT]",
        "compute_driver = xenapi.XenAPIDriver",
        "flat_injected = False",
        "",
        "[xenserver]",
        f"connection_url = {connection_url(cfg)}",
        f"connection_username = {cfg.credentials.xenapi_user}",
        # Raw, as DevStack's iniset writes it (a lab password holds no `$`, which oslo.config would substitute).
        f"connection_password = {cfg.password.get_secret_value()}",
        "independent_compute = True",
        "check_host = False",
        "",
    ]
    return "\n".join(lines)
