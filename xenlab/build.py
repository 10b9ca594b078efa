"""`build`: the lab's box, made by Packer, incremental and atomic.

A XenServer/XCP-ng flavour installs from its ISO with an answerfile; the stand-in
flavour provisions the cached Debian base image as a stand-in host (XenAPI simulator
on port 80, root SSH) and also packs that base image as the devstack-role box.

Incremental: the input digest covers the templates, scripts, flavour file, variable
values, ISO checksum, Packer's version and the password (only its digest is kept,
mixed into the rest), plus for the stand-in the base image recipe and the
simulator's files. Same digest and the box present: nothing to do.
Atomic: Packer builds in a temporary directory beside the boxes; the box moves into
place only when everything succeeded, so an interrupted build leaves the previous
box (or none) and the next run starts clean.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import answerfile, baseimage, boxes, console, flavours, iso, packer, proc
from .config import PROJECT_DIR
from .errors import ToolError
from .plan import write_file
from .state import digest, write_json_atomic

SIM_DIR = PROJECT_DIR / "xenlab" / "sim"
DEVSTACK_FLAVOUR = "standin-devstack"
# A real install under KVM takes ~6 min; TCG or slow disks need far more.
TIMEOUT_XENSERVER = 4 * 3600
TIMEOUT_STANDIN = 3600


def _tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _digest_tree(*roots: Path) -> str:
    parts: list[str | bytes] = []
    for root in roots:
        files = _tree_files(root) if root.is_dir() else [root]
        for f in files:
            parts += [str(f.relative_to(root.parent)), f.read_bytes()]
    return digest(*parts)


def _iso_part(cfg, flavour) -> str:
    if flavour.standin:
        return "no-iso"
    chosen = iso.resolve(cfg, flavour)
    return f"{chosen.url}|{chosen.checksum}"


def inputs(cfg) -> str:
    flavour = flavours.load(cfg)
    parts = [
        _digest_tree(*packer.template_files(), packer.SCRIPTS_DIR, packer.BOX_DIR,
                     answerfile.TEMPLATE_DIR, flavour.path),
        packer.render_vars(cfg),
        _iso_part(cfg, flavour),
        packer.version_text(),
        digest("password", cfg.password.get_secret_value()),
        cfg.lab.provider,
    ]
    if flavour.standin:
        parts += [baseimage.inputs(), _digest_tree(SIM_DIR) if SIM_DIR.is_dir() else "no-sim"]
    return digest(*parts)


def _boxes(cfg, flavour) -> list[str]:
    """Box flavours this build makes: the stand-in also makes the devstack box."""
    return [flavour.name, DEVSTACK_FLAVOUR] if flavour.standin else [flavour.name]


def provider(cfg, flavour) -> str:
    return "virtualbox" if cfg.lab.provider == "virtualbox" and not flavour.standin else boxes.PROVIDER_LIBVIRT


def present(cfg) -> bool:
    return _current(cfg, flavours.load(cfg), None)


def _current(cfg, flavour, want: str | None) -> bool:
    """Every box of this build on disk and registered (and, given `want`, from those inputs)."""
    for name in _boxes(cfg, flavour):
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
    """xenlab/__init__.py (empty) + xenlab/sim/: all the guest needs to run `-m xenlab.sim`."""
    if not (SIM_DIR / "__main__.py").is_file():
        raise ToolError(f"the XenAPI simulator package is missing ({SIM_DIR}): the stand-in cannot be built")
    payload = tmp / "payload"
    pkg = payload / "xenlab"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Only the XenAPI simulator is installed here (stand-in host)."""\n')
    shutil.copytree(SIM_DIR, pkg / "sim", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return payload


def run(cfg, force: bool = False) -> None:
    flavour = flavours.load(cfg)
    log_dir = cfg.lab_dir / "logs"
    log = log_dir / f"build-{flavour.name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    what = "stand-in (NOT XenServer: Debian + xenlab's XenAPI simulator)" if flavour.standin else flavour.product
    console.say(f"    flavour {flavour.name}: {what}")
    # The ISO first: a wrong file is refused before anything starts.
    chosen = None if flavour.standin else iso.resolve(cfg, flavour)
    want = inputs(cfg)
    if not force and _current(cfg, flavour, want):
        console.say(f"    box {flavour.box_name} is already built from these inputs (another lab made it): reusing")
        return
    packer.init(log)
    boxes.box_dir(cfg).mkdir(parents=True, exist_ok=True)
    _clean_stale(cfg)
    var_file = cfg.lab_dir / packer.VAR_FILE
    write_file(var_file, packer.render_vars(cfg).encode(), secret=False)
    with _terminate_as_interrupt():
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{flavour.name}-{os.getpid()}-", dir=boxes.box_dir(cfg)))
        try:
            _build_in(cfg, flavour, chosen, tmp, var_file, want, log)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    console.say(f"    full log: {log}")


def _build_in(cfg, flavour, chosen, tmp: Path, var_file: Path, want: str, log: Path) -> None:
    prov = provider(cfg, flavour)
    box_tmp = tmp / f"{flavour.name}.{prov}.box"
    extra = {"output_directory": str(tmp / "output"), "box_output": str(box_tmp)}
    if flavour.standin:
        base = baseimage.ensure(log)
        extra |= {
            "base_image": str(base),
            "base_image_checksum": f"sha256:{iso.file_digest(base, 'sha256', cfg.workdir)}",
            "ssh_private_key_file": str(packer.vagrant_key()),
            "sim_payload": str(_stage_sim(tmp)),
        }
    else:
        http = tmp / "http"
        http.mkdir(mode=0o700)
        answerfile.write(cfg, flavour, http)
        extra |= {"http_directory": str(http), "iso_url": chosen.url, "iso_checksum": chosen.checksum}
    packer.validate(cfg, flavour, var_file, extra, log)
    timeout = TIMEOUT_STANDIN if flavour.standin else TIMEOUT_XENSERVER
    packer.build(cfg, flavour, var_file, extra, log, timeout)
    if not box_tmp.is_file():
        raise ToolError(f"packer finished but wrote no box at {box_tmp}; see {log}")

    made = [(flavour, box_tmp)]
    if flavour.standin:
        devstack_box = tmp / f"{DEVSTACK_FLAVOUR}.{prov}.box"
        boxes.pack_libvirt(base, packer.BOX_DIR / "Vagrantfile.standin", devstack_box, baseimage.DISK_GB)
        made.append((flavours.Flavour(DEVSTACK_FLAVOUR, "standin-devstack",
                                      "xenlab stand-in devstack machine (plain Debian 12 base image)",
                                      "", "", "", flavour.path), devstack_box))
    version = boxes.new_version()
    for fl, built in made:
        _install(cfg, fl, built, prov, version, want, log)


def _install(cfg, flavour, built: Path, prov: str, version: str, want: str, log: Path) -> None:
    """Move a finished box into place, record its manifest, register it with Vagrant."""
    final = boxes.box_file(cfg, flavour.name, prov)
    # The stand-in's disk holds the lab password (root's and the simulator's): owner only.
    os.chmod(built, 0o600)
    checksum = boxes.sha256(built)
    os.replace(built, final)
    manifest = {
        "box": flavour.box_name,
        "flavour": flavour.name,
        "product": flavour.product,
        "standin": flavour.kind != "xenserver",
        "provider": prov,
        "version": version,
        "file": final.name,
        "sha256": checksum,
        "size_bytes": final.stat().st_size,
        "input_digest": want,
        "packer_version": packer.version_text(),
        "base_image": baseimage.image_path().name if flavour.kind != "xenserver" else None,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    boxes.register(cfg, flavour.box_name, final, version, prov, checksum, log)
    write_json_atomic(boxes.manifest_file(cfg, flavour.name), manifest)
    console.say(f"    box {flavour.box_name} {version}: {final} ({final.stat().st_size / 2**20:.0f} MiB)")
