"""`build`: the lab's boxes, made by Packer, incremental and atomic.

A XenServer/XCP-ng flavour installs from its ISO with an answerfile; a flavour
built from xenlab's base image (the stand-in) provisions that image as a stand-in
host (XenAPI simulator on port 80, root SSH) and packs the image itself as its
companion devstack box.

Incremental: the input digest covers the templates, scripts, flavour file, variable
values, ISO checksum, Packer's version and the password (keyed, see
files.keyed_digest), plus for the stand-in the base image recipe and the
simulator's files. Same digest and the boxes present: nothing to do.
Atomic: Packer builds in a temporary directory beside the boxes; the boxes move into
place only when everything succeeded, so an interrupted build leaves the previous
boxes (or none) and the next run starts clean.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..core import console, proc
from ..core.files import digest, digest_tree, file_digest, keyed_digest, write_file, write_json
from ..core.paths import PACKAGE_DIR, SIM_DIR
from ..errors import ToolError
from ..images import answerfile, baseimage, boxes, iso, packer

# What the stand-in guest needs to run `python3 -m xenlab.sim` (standard library only).
SIM_PAYLOAD = (SIM_DIR, PACKAGE_DIR / "plugin_pickle.py")


def _iso_part(cfg, flavour) -> str:
    if flavour.standin:
        return "no-iso"
    chosen = iso.resolve(cfg, flavour)
    return f"{chosen.url}|{chosen.checksum}"


def inputs(cfg) -> str:
    flavour = cfg.flavour
    parts = [
        digest_tree(*packer.template_files(), packer.SCRIPTS_DIR, packer.BOX_DIR, answerfile.TEMPLATE_DIR,
                    flavour.path),
        packer.render_vars(cfg),
        _iso_part(cfg, flavour),
        packer.version_text(),
        # Keyed by the boxes' own key, not the lab's: every lab under this root shares the
        # boxes, so another lab with the same inputs (password included) reuses them.
        keyed_digest(cfg.paths.boxes_digest_key, "password", cfg.password.get_secret_value()),
        cfg.lab.provider,
    ]
    if flavour.standin:
        parts += [baseimage.inputs(), digest_tree(*SIM_PAYLOAD)]
    return digest(*parts)


def box_names(flavour) -> list[str]:
    """Boxes this build makes: the flavour's own and its companions."""
    return [flavour.name, *flavour.companion_boxes]


def provider(cfg, flavour) -> str:
    return "virtualbox" if cfg.lab.provider == "virtualbox" and not flavour.standin else boxes.PROVIDER_LIBVIRT


def present(cfg) -> bool:
    return _current(cfg, cfg.flavour, None)


def _current(cfg, flavour, want: str | None) -> bool:
    """Every box of this build on disk and registered (and, given `want`, from those inputs)."""
    for name in box_names(flavour):
        manifest = boxes.read_manifest(cfg, name)
        if not manifest or (want and manifest.get("input_digest") != want):
            return False
        if not boxes.box_file(cfg, name, manifest["provider"]).is_file():
            return False
        if not boxes.registered(manifest["box"], manifest["version"], manifest["provider"]):
            return False
    return True


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM unwinds like Ctrl-C: Packer's process group is stopped, temp files go."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _clean_stale(cfg) -> None:
    """Temp dirs of builds that were killed outright (SIGKILL, power loss)."""
    for stale in box_tmp_dirs(cfg):
        pid = stale.name.split("-")[-2] if stale.name.count("-") >= 3 else ""
        if pid.isdigit() and proc.pid_alive(int(pid)):
            continue
        console.say(f"    removing {stale.name}, left by an interrupted build")
        shutil.rmtree(stale, ignore_errors=True)


def box_tmp_dirs(cfg) -> list[Path]:
    return sorted(boxes.box_dir(cfg).glob(".build-*"))


def _stage_sim(tmp: Path) -> Path:
    """An empty xenlab/__init__.py plus SIM_PAYLOAD: all the guest needs to run `-m xenlab.sim`."""
    if not (SIM_DIR / "__main__.py").is_file():
        raise ToolError(f"the XenAPI simulator package is missing ({SIM_DIR}): the stand-in cannot be built")
    payload = tmp / "payload"
    pkg = payload / "xenlab"
    pkg.mkdir(parents=True)
    write_file(pkg / "__init__.py", '"""Only the XenAPI simulator is installed here (stand-in host)."""\n')
    for part in SIM_PAYLOAD:
        if part.is_dir():
            shutil.copytree(part, pkg / part.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(part, pkg / part.name)
    return payload


def run(cfg, force: bool = False) -> None:
    flavour = cfg.flavour
    log = cfg.paths.log(f"build-{flavour.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    console.say(f"    flavour {flavour.name}: {flavour.describe()}")
    # The ISO first: a wrong file is refused before anything starts.
    chosen = None if flavour.standin else iso.resolve(cfg, flavour)
    want = inputs(cfg)
    if not force and _current(cfg, flavour, want):
        console.say(f"    box {flavour.box_name} is already built from these inputs (another lab made it): reusing")
        return
    packer.init(log)
    boxes.box_dir(cfg).mkdir(parents=True, exist_ok=True)
    _clean_stale(cfg)
    write_file(cfg.paths.packer_vars, packer.render_vars(cfg))
    with _terminate_as_interrupt():
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{flavour.name}-{os.getpid()}-", dir=boxes.box_dir(cfg)))
        try:
            _build_in(cfg, flavour, chosen, tmp, want, log)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    console.say(f"    full log: {log}")


def _build_in(cfg, flavour, chosen, tmp: Path, want: str, log: Path) -> None:
    prov = provider(cfg, flavour)
    box_tmp = tmp / f"{flavour.name}.{prov}.box"
    extra = {"output_directory": str(tmp / "output"), "box_output": str(box_tmp)}
    if flavour.standin:
        base = baseimage.ensure(log)
        extra |= {
            "base_image": str(base),
            "base_image_checksum": f"sha256:{file_digest(base, 'sha256', cfg.paths.iso_digests)}",
            "ssh_private_key_file": str(packer.vagrant_key()),
            "sim_payload": str(_stage_sim(tmp)),
        }
    else:
        http = tmp / "http"
        http.mkdir(mode=0o700)
        answerfile.write(cfg, flavour, http)
        extra |= {"http_directory": str(http), "iso_url": chosen.url, "iso_checksum": chosen.checksum}
    packer.validate(cfg, flavour, extra, log)
    packer.build(cfg, flavour, extra, log, flavour.build_timeout_s)
    if not box_tmp.is_file():
        raise ToolError(f"packer finished but wrote no box at {box_tmp}; see {log}")

    made = [(flavour.name, flavour.describe(), box_tmp)]
    for companion in flavour.companion_boxes:
        # A companion is the base image packed as it is (the devstack machine's box).
        packed = tmp / f"{companion}.{prov}.box"
        boxes.pack_libvirt(base, packer.BOX_DIR / "Vagrantfile.standin", packed, baseimage.DISK_GB)
        made.append((companion, f"xenlab {companion} machine (plain Debian 12 base image)", packed))
    version = boxes.new_version()
    for name, product, built in made:
        _install(cfg, flavour, name, product, built, prov, version, want, log)


def _install(cfg, flavour, name: str, product: str, built: Path, prov: str, version: str, want: str,
             log: Path) -> None:
    """Move a finished box into place, record its manifest, register it with Vagrant."""
    final = boxes.box_file(cfg, name, prov)
    box = f"xenlab/{name}"
    # The stand-in's disk holds the lab password (root's and the simulator's): owner only.
    os.chmod(built, 0o600)
    checksum = boxes.sha256(built)
    os.replace(built, final)
    manifest = {
        "box": box,
        "flavour": flavour.name,
        "product": product,
        "standin": flavour.standin,
        "provider": prov,
        "version": version,
        "file": final.name,
        "sha256": checksum,
        "size_bytes": final.stat().st_size,
        "input_digest": want,
        "packer_version": packer.version_text(),
        "base_image": baseimage.image_path().name if flavour.standin else None,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    boxes.register(cfg, box, final, version, prov, checksum, log)
    write_json(boxes.manifest_file(cfg, name), manifest)
    console.say(f"    box {box} {version}: {final} ({final.stat().st_size / 2**20:.0f} MiB)")
