"""Vagrant boxes: where xenlab keeps them, how they are packed and registered.

Boxes are shared by every lab under one root (`.xenlab/boxes/`), each with a
manifest (flavour, product, versions, input digest). Registration uses a local box
catalog so that Vagrant records a real version (`vagrant box add <catalog.json>`),
not the 0 a bare .box file gets.
"""

from __future__ import annotations

import json
import os
import tarfile
import time
from pathlib import Path

from ..core import console, proc
from ..core.files import file_digest, write_file, write_json
from ..errors import XenlabError

PROVIDER_LIBVIRT = "libvirt"


def box_dir(cfg) -> Path:
    return cfg.paths.boxes


def box_file(cfg, flavour_name: str, provider: str) -> Path:
    return box_dir(cfg) / f"{flavour_name}.{provider}.box"


def manifest_file(cfg, flavour_name: str) -> Path:
    return box_dir(cfg) / f"{flavour_name}.manifest.json"


def read_manifest(cfg, flavour_name: str) -> dict:
    try:
        return json.loads(manifest_file(cfg, flavour_name).read_text())
    except (OSError, ValueError):
        return {}


def new_version() -> str:
    """Sortable by Vagrant: 0.<date>.<time> of the build (UTC)."""
    return time.strftime("0.%Y%m%d.", time.gmtime()) + str(int(time.strftime("%H%M%S", time.gmtime())))


def sha256(path: Path) -> str:
    return file_digest(path, "sha256")


def pack_libvirt(image: Path, vagrantfile: Path, out: Path, virtual_size_gb: int) -> Path:
    """A vagrant-libvirt box is a tar of box.img, metadata.json and a Vagrantfile."""
    metadata = json.dumps({"provider": PROVIDER_LIBVIRT, "format": "qcow2", "virtual_size": virtual_size_gb})
    meta_path = out.with_name(out.name + ".metadata.json")
    write_file(meta_path, metadata + "\n")
    try:
        # Uncompressed: the qcow2 inside is compressed already.
        with tarfile.open(out, "w") as tar:
            tar.add(meta_path, arcname="metadata.json")
            tar.add(vagrantfile, arcname="Vagrantfile")
            tar.add(image, arcname="box.img")
    finally:
        meta_path.unlink(missing_ok=True)
    return out


def vagrant_home() -> Path:
    # Vagrant's own setting: where `vagrant box add` puts boxes.
    return Path(os.environ.get("VAGRANT_HOME") or Path.home() / ".vagrant.d")


def registered(name: str, version: str, provider: str) -> bool:
    """Is this box version known to Vagrant? A directory check: no Ruby start-up."""
    return (vagrant_home() / "boxes" / name.replace("/", "-VAGRANTSLASH-") / version / provider).is_dir()


# Box commands need no Vagrantfile, but Vagrant loads the nearest one it finds,
# and the checkout's reads a lab spec that may not be rendered yet: point it at a
# file name that exists nowhere, so none is loaded.
BOX_COMMAND_ENV = {"VAGRANT_VAGRANTFILE": "no-Vagrantfile-for-box-commands"}


def register(cfg, name: str, box: Path, version: str, provider: str, digest: str, log: Path) -> None:
    """`vagrant box add` this version, then drop the older versions of the same box."""
    catalog = box.with_name(box.name + ".catalog.json")
    write_json(catalog, {
        "name": name,
        "description": f"xenlab box {name}",
        "versions": [{
            "version": version,
            "providers": [{"name": provider, "url": box.resolve().as_uri(),
                           "checksum_type": "sha256", "checksum": digest}],
        }],
    })
    try:
        proc.run(["vagrant", "box", "add", "--force", "--provider", provider, str(catalog)],
                 log=log, timeout=900, what="vagrant box add", quiet=True, env=BOX_COMMAND_ENV)
    finally:
        catalog.unlink(missing_ok=True)
    console.say(f"    registered {name} version {version} ({provider}) with Vagrant")
    versions = vagrant_home() / "boxes" / name.replace("/", "-VAGRANTSLASH-")
    for old in sorted(p.name for p in versions.iterdir() if (p / provider).is_dir() and p.name != version):
        try:
            proc.run(["vagrant", "box", "remove", "--force", "--box-version", old, "--provider", provider, name],
                     log=log, timeout=300, what="vagrant box remove", quiet=True, env=BOX_COMMAND_ENV)
        except XenlabError as exc:
            console.warn(f"could not remove old box {name} {old}: {exc.message}")
