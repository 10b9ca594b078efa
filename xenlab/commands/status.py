"""`status`: which stages are done, with which inputs, and (once a lab is up) its machines."""

from __future__ import annotations

import json

from ..core import console
from ..stages import lifecycle
from ..core.state import State


def collect(cfg, machines: bool = True) -> dict:
    st = State(cfg.paths.state)
    order = lifecycle.names() + [name for name in st.stages if name not in lifecycle.names()]
    stages = []
    for name in order:
        record = st.get(name) or {}
        stages.append({
            "stage": name,
            "done": bool(record),
            "finished": record.get("finished"),
            "seconds": record.get("seconds"),
            "by": record.get("by", "xenlab") if record else None,
        })
    info = {"lab": cfg.lab.name, "flavour": cfg.lab.flavour, "lab_dir": str(cfg.paths.lab_dir), "stages": stages}
    if machines:
        from ..machines import machine_state, saves

        info["machines"] = machine_state.describe(cfg)
        info["snapshots"] = saves.describe(cfg)
    return info


def show(cfg, as_json: bool = False) -> dict:
    info = collect(cfg)
    if as_json:
        console.say(json.dumps(info, indent=2, sort_keys=True))
        return info
    console.say(f"lab {info['lab']} (flavour {info['flavour']}) in {info['lab_dir']}")
    width = max(len(s["stage"]) for s in info["stages"]) if info["stages"] else 8
    for s in info["stages"]:
        by = " by vagrant" if s["by"] == "vagrant" else ""
        when = f"done {s['finished']} ({s['seconds']} s){by}" if s["done"] else "not done"
        console.say(f"  {s['stage']:<{width}} {when}")
    for m in info.get("machines", []):
        ssh = f", ssh {m['ssh']}" if m["ssh"] else ""
        note = f" ({m['note']})" if m.get("note") else ""
        console.say(f"  machine {m['machine']:<9} {m['state']:<11} private {m['private_ip']}{ssh} [box {m['box']}]{note}")
    for snap in info.get("snapshots", []):
        console.say(f"  snapshot {snap['name']:<16} taken {snap['taken']} ({snap['size_mib']} MiB)")
    return info
