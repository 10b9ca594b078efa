"""The lab the lifecycle tests and the sim_calls benchmark run Nova's driver in: a network
namespace made for the run, holding the lab's xenserver address; the real Glance 20.2.0 from
the probe's tree inside it (xenlab/devstack/glance.py, as the devstack machine runs it) with
the lab's own image (xenlab/devstack/vhd.py) uploaded as provisioning uploads it; and, for
each run, `python3 -m xenlab.sim` on port 80 of that address and a nova.conf that names them.

    with LifecycleLab(tmp_path, tree) as lab:          # the namespace, Glance, the image: once
        result, sim_out, served = lab.run(tmp_path / "run", plugins, work)

The tree (and the image) are built first, in the root namespace: PyPI is only reachable there.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.support import labs
from tests.support.netns import Netns
from tests.support.simproc import SimProcess
from xenlab.devstack import conf, glance, vhd
from xenlab.sim import statedb
from xenlab.sim import vhd as sim_vhd
from xenlab.sim.seed import seed
from xenlab.sim.store import Store


@dataclass(frozen=True)
class Served:
    """What Glance shows of one run: the requests it answered during it, its images before and after."""
    requests: list[glance.Request]
    before: dict[str, dict]
    after: dict[str, dict]

    @property
    def new_images(self) -> dict[str, dict]:
        return {k: v for k, v in self.after.items() if k not in self.before}


class LifecycleLab:
    def __init__(self, tmp_path: Path, tree: Path):
        self.tmp = Path(tmp_path)
        self.tree = tree
        self.cfg = labs.load(self.tmp / "lab")
        self.address = self.cfg.network.xenserver_ip
        self.stack = ExitStack()
        self.image_file = vhd.ensure()

    def __enter__(self) -> LifecycleLab:
        with ExitStack() as stack:
            self.ns = stack.enter_context(Netns())
            self.ns.run(["ip", "addr", "add", f"{self.address}/24", "dev", "lo"], timeout=30)
            self.glance = stack.enter_context(glance.LoopbackGlance(self.tmp / "glance", tree=self.tree,
                                                                    port=glance.PORT, prefix=self.ns.argv([])))
            self.image = self.glance.upload(self.image_file)
            self.stack = stack.pop_all()
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()

    def images(self) -> dict[str, dict]:
        """Glance's images, through its v2 API, by id."""
        listed = json.loads(self.glance.get("/v2/images?limit=1000"))["images"]
        return {image["id"]: image for image in listed}

    def run(self, tmp: Path, plugins: dict[str, bytes], work, keep=lambda name: True):
        """The simulator (port 80 of the xenserver address, the dom0 plugins `keep` keeps, a fresh
        state and SR) in the namespace; `work(ns, nova_conf)` runs there. Returns work's result,
        what the simulator printed when it stopped, and what Glance served meanwhile."""
        tmp.mkdir(parents=True, exist_ok=True)
        nova_conf = tmp / "nova.conf"
        nova_conf.write_text(conf.render_nova_conf(self.cfg) + f"\n[glance]\napi_servers = {self.glance.endpoint}\n")
        store = Store(schema=True)
        refs = seed(store, self.address)
        statedb.save(store, tmp / "state.db")
        # A disk already in the SR (another VM's): the lifecycle must leave the SR as it found it, not empty.
        existing = tmp / "sr" / store.record("SR", refs["sr"])["uuid"] / "0f0f0f0f-1111-4222-8333-444444444444.vhd"
        existing.parent.mkdir(parents=True)
        sim_vhd.create(existing, 16 * 2**20)
        sim_vhd.write_block(existing, 2, b"another VM's data")
        sim = SimProcess(tmp, "--state-db", str(tmp / "state.db"), "--sr-root", str(tmp / "sr"),
                         password=labs.PASSWORD, prefix=self.ns.argv([]), bind=self.address, port=80)
        sim.plugin_dir.mkdir(parents=True)
        for name, data in plugins.items():
            if keep(name):
                (sim.plugin_dir / name).write_bytes(data)
                (sim.plugin_dir / name).chmod(0o755)
        before = self.images()
        since = self.glance.mark()
        with sim:
            result = work(self.ns, nova_conf)
            sim_out = sim.stop()
        self.glance.mark()
        served = self.glance.requests(since)
        return result, sim_out, Served(served, before, self.images())
