"""The lab spec: the one file the top-level Vagrantfile reads.

The Vagrantfile holds no settings of its own; everything it needs is here,
rendered from the Config. No secret goes in (it is world-readable).
"""

from __future__ import annotations

import json

from . import host

SPEC_VERSION = 1


def spec(cfg) -> dict:
    s = cfg.public_dict()
    s.pop("credentials")
    return {
        "version": SPEC_VERSION,
        "lab": {**s["lab"], "accelerator": host.accelerator(cfg.lab.accelerator)},
        "iso": s["iso"],
        "xenserver": {**s["xenserver"], "ip": cfg.network.xenserver_ip},
        "devstack": {**s["devstack"], "ip": cfg.network.devstack_ip},
        "network": s["network"],
    }


def render(cfg) -> str:
    return json.dumps(spec(cfg), indent=2, sort_keys=True) + "\n"
