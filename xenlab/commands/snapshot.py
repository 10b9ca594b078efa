"""`snapshot`, `restore`, and `lab --snapshot`: a verified lab saved, and back in seconds.

A snapshot is only taken of a lab whose every stage is current (verify passed);
restore brings the machines back from it, re-wires only if the host's facts
changed since (XenAPI tells), and verifies again.
"""

from __future__ import annotations

from ..core import console
from ..stages import lifecycle
from ..errors import ConfigError
from ..machines import saves


def _boxes(cfg) -> dict[str, str]:
    """Each machine's box and version, as the machine stages see them now."""
    return {s.machine: "@".join(s.target.box(cfg)) for s in lifecycle.SEQUENCE if s.machine}


def take(cfg, name: str) -> None:
    saves.check_provider(cfg)
    saves.check_name(name)
    stale = [n for n in lifecycle.names() if not lifecycle.is_current(cfg, n)]
    if stale:
        raise ConfigError(f"snapshot: lab {cfg.lab.name!r} is not verified and current ({', '.join(stale)} "
                          "not done or out of date): run `invoke lab` first")
    with console.stage(f"snapshot: saving lab {cfg.lab.name!r} as {name!r}"):
        path = saves.take(cfg, name, _boxes(cfg))
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        console.say(f"    snapshot {name}: {path} ({size / 2**20:.0f} MiB); the machines run on")


def restore(cfg, name: str) -> None:
    from ..stages import wire

    saves.check_provider(cfg)
    meta = saves.read(cfg, name)
    now = _boxes(cfg)
    changed = {m: (meta["boxes"].get(m), box) for m, box in now.items() if meta["boxes"].get(m) != box}
    if changed:
        m, (then, box) = next(iter(changed.items()))
        raise ConfigError(f"snapshot {name!r} was taken on {m} box {then}, the lab's box is now {box}: "
                          "take a new snapshot (`invoke lab`, then `invoke snapshot`)")
    with console.stage(f"restore: lab {cfg.lab.name!r} from snapshot {name!r}"):
        saves.restore(cfg, name)
    if wire.facts_changed(cfg):
        console.say("    the host's facts changed since the snapshot: wiring again")
        lifecycle.run_stage(cfg, "wire", force=True)
    else:
        console.say("    the host's facts are the snapshot's: no need to wire again")
    lifecycle.run_stage(cfg, "verify", force=True)


def delete(cfg, name: str) -> None:
    saves.delete(cfg, name)
    console.say(f"snapshot {name!r} of lab {cfg.lab.name!r} deleted")
