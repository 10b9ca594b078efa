"""The lab the lifecycle tests and the sim_calls benchmark run Nova's driver in: `python3 -m
xenlab.sim` on port 80 of the lab's xenserver address and an image service serving the lab's
VHD image, both inside a network namespace made for the run, and a nova.conf that names them.

The image service is glance_double.py, a loopback stand-in for Glance's v2 API, until the lab's
own Glance (packaged on its own branch) can serve here: PENDING, switch to it then.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from tests.support import labs
from tests.support.netns import Netns
from tests.support.simproc import PROJECT, SimProcess
from xenlab.devstack import conf
from xenlab.sim import statedb, vhd
from xenlab.sim.seed import seed
from xenlab.sim.store import Store

GLANCE_PORT = 9292


def lab_image(tmp_path: Path) -> Path:
    """The lab's image as the glance plugin expects it: QEMU's vpc of a small disk, tarred."""
    raw, stage = tmp_path / "disk.raw", tmp_path / "image"
    stage.mkdir()
    raw.write_bytes(b"xenlab lifecycle image\n" * 20000)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", str(raw), str(stage / "0.vhd")],
                   check=True, timeout=60)
    tarball = tmp_path / "image.tgz"
    with tarfile.open(tarball, "w:gz") as tar:  # what `tar -zc --directory=<stage> .` writes
        tar.add(stage, arcname=".")
    return tarball


def run_lab(tmp_path, tree, plugins, work, keep=lambda name: True):
    """The simulator (port 80 of the xenserver address, the dom0 plugins `keep` keeps) and the
    image service in a namespace; `work(ns, nova_conf)` runs there."""
    cfg = labs.load(tmp_path / "lab")
    address = cfg.network.xenserver_ip
    nova_conf = tmp_path / "nova.conf"
    nova_conf.write_text(conf.render_nova_conf(cfg) + f"\n[glance]\napi_servers = http://127.0.0.1:{GLANCE_PORT}\n")
    store = Store(schema=True)
    refs = seed(store, address)
    statedb.save(store, tmp_path / "state.db")
    # A disk already in the SR (another VM's): the lifecycle must leave the SR as it found it, not empty.
    existing = tmp_path / "sr" / store.record("SR", refs["sr"])["uuid"] / "0f0f0f0f-1111-4222-8333-444444444444.vhd"
    existing.parent.mkdir(parents=True)
    vhd.create(existing, 16 * 2**20)
    vhd.write_block(existing, 2, b"another VM's data")
    tarball = lab_image(tmp_path)
    with Netns() as ns:
        ns.run(["ip", "addr", "add", f"{address}/24", "dev", "lo"], timeout=30)
        sim = SimProcess(tmp_path, "--state-db", str(tmp_path / "state.db"), "--sr-root", str(tmp_path / "sr"),
                         password=labs.PASSWORD, prefix=ns.argv([]), bind=address, port=80)
        sim.plugin_dir.mkdir(parents=True)
        for name, data in plugins.items():
            if not keep(name):
                continue
            (sim.plugin_dir / name).write_bytes(data)
            (sim.plugin_dir / name).chmod(0o755)
        glance_log = tmp_path / "glance.json"
        glance = subprocess.Popen(
            ns.argv(["/usr/bin/python3", "-m", "tests.integration.devstack.glance_double", "127.0.0.1",
                     str(GLANCE_PORT), "xenlab-image", str(tarball), str(glance_log)]),
            cwd=PROJECT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT)}, stdout=subprocess.PIPE,
            text=True)
        try:
            assert glance.stdout.readline().startswith("serving"), "the image service did not start"
            with sim:
                result = work(ns, nova_conf)
                sim_out = sim.stop()
        finally:
            glance.terminate()
            glance.wait(timeout=30)
    return result, json.loads(glance_log.read_text()), sim_out


