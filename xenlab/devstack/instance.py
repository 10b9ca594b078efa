"""Can Nova boot an instance on this lab? What each step of an instance's life must show.

Both kinds of lab answer in one shape, a `Lifecycle` of timed `Step`s:

- the stand-in (flavour data `nova_probe`): Nova's own XenAPI driver, in the compute
  probe on the devstack machine, runs spawn -> reboot soft and hard -> power off -> power
  on -> snapshot -> destroy against the stand-in's simulated host and answers one JSON
  document (`from_probe`), with what XenAPI showed after each step;
- real flavours: a server through the OpenStack API after stack.sh (devstack/server.py).

verify's checks (xenlab/suites/test_instance_*.py) carry the same names on both, and
each asks `problems(lifecycle, step)` what is wrong; the JUnit report gets each step's
seconds, and verify's summary a line with all of them (`summary_line`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# The stand-in's steps, in the order the probe runs them (a failing step stops the run;
# destroy is still attempted and reported).
STEPS = ("spawn", "reboot-soft", "reboot-hard", "power-off", "power-on", "snapshot", "destroy")
# XenAPI's power state after each step (vm_power_state: Halted, Paused, Running, Suspended,
# xen-api ocaml/idl/datamodel_vm.ml); a snapshot leaves the instance as it was.
XAPI_POWER_AFTER = {"spawn": "Running", "reboot-soft": "Running", "reboot-hard": "Running",
                    "power-off": "Halted", "power-on": "Running", "snapshot": "Running"}
# What Nova's driver makes of each (nova 21.2.4 nova/virt/xenapi/vm_utils.py XENAPI_POWER_STATE,
# names from nova/objects/fields.py InstancePowerState, indexed as nova/compute/power_state.py).
NOVA_STATE_OF_XAPI = {"Running": "running", "Halted": "shutdown", "Paused": "paused", "Suspended": "suspended",
                      "Crashed": "crashed"}
NOVA_STATES = ("pending", "running", "_unused", "paused", "shutdown", "_unused", "crashed", "suspended")
LEFTOVER_KINDS = ("vms", "vdis", "vbds", "vifs")
ON_STANDIN = "the stand-in's simulated host: xenlab sim, no guest really runs"
# Each instance check's step, seconds and where it ran go into the JUnit report as
# properties of its test case (xenlab/suites/conftest.py); verify's summary reads them back.
STEP_PROPERTY, SECONDS_PROPERTY, ON_PROPERTY = "instance.step", "instance.seconds", "instance.on"


class BadAnswer(ValueError):
    """The lifecycle's answer cannot be read; the message is one line."""


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    ok: bool
    error: str = ""
    facts: dict = field(default_factory=dict)  # what the lab showed after the step


@dataclass(frozen=True)
class Lifecycle:
    on: str  # where it ran, for the summary
    steps: tuple[Step, ...]
    image: dict = field(default_factory=dict)
    leftovers: dict = field(default_factory=dict)
    sr: dict = field(default_factory=dict)
    stand_in: bool = False

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def stopped_at(self) -> Step | None:
        """The first step that failed (before destroy, which is attempted whatever happened)."""
        return next((s for s in self.steps if not s.ok), None)


# ------------------------------------------------------------------ the probe's answer


def one_line(text: object, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _field(doc: dict, key: str, kind, where: str, optional: bool = False):
    if key not in doc:
        if optional:
            return None
        raise BadAnswer(f"{where} has no {key!r}")
    value = doc[key]
    if value is None and optional:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadAnswer(f"{where} {key!r} is {type(value).__name__} {one_line(value, 60)!r}, "
                        f"not {getattr(kind, '__name__', kind)}")
    return value


def _probe_step(raw: object, index: int) -> Step:
    if not isinstance(raw, dict):
        raise BadAnswer(f"step {index + 1} is not an object")
    name = _field(raw, "name", str, f"step {index + 1}")
    if name not in STEPS:
        raise BadAnswer(f"step {index + 1} is {name!r}, not one of {', '.join(STEPS)}")
    where = f"step {name!r}"
    ok = _field(raw, "ok", bool, where)
    xapi = _field(raw, "xapi", dict, where)
    facts = {
        "power_state": _field(xapi, "power_state", str, f"{where} xapi", optional=True),
        **{k: _field(xapi, k, int, f"{where} xapi") for k in ("vbds", "vifs", "vdis")},
        "driver_state": raw.get("driver_state"),
    }
    if name == "snapshot" and ok:
        facts["snapshot_image"] = _field(raw, "snapshot_image", str, where)
        facts["snapshot_bytes"] = _field(raw, "snapshot_bytes", int, where)
    error = "" if ok else one_line(raw.get("error") or "(no error given)")
    return Step(name, _field(raw, "seconds", float, where), ok, error, facts)


def from_probe(text: str) -> Lifecycle:
    """The probe's answer to `lifecycle` (one JSON document); BadAnswer names what is wrong."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise BadAnswer(f"not JSON: {one_line(text, 200)!r}") from None
    if not isinstance(doc, dict):
        raise BadAnswer("not a JSON object")
    if "error" in doc and "steps" not in doc:  # the probe's own failure line
        raise BadAnswer(f"Nova's probe failed: {one_line(doc['error'])}")
    if "steps" not in doc:
        raise BadAnswer("no 'steps': this probe answers no instance lifecycle (an older nova-probe.py?)")
    raw_steps = _field(doc, "steps", list, "the answer")
    steps = tuple(_probe_step(raw, i) for i, raw in enumerate(raw_steps))
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise BadAnswer(f"steps repeat: {', '.join(names)}")
    leftovers = _field(doc, "leftovers", dict, "the answer")
    for kind in LEFTOVER_KINDS:
        _field(leftovers, kind, list, "leftovers")
    sr = _field(doc, "sr", dict, "the answer")
    for key in ("utilisation_before", "utilisation_after"):
        _field(sr, key, int, "sr")
    stand_in = _field(doc, "stand_in", bool, "the answer")
    return Lifecycle(on=ON_STANDIN if stand_in else "a XenAPI host", steps=steps,
                     image=_field(doc, "image", dict, "the answer"), leftovers=leftovers, sr=sr,
                     stand_in=stand_in)


# ------------------------------------------------------------------ what each step must show


def _nova_state(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(NOVA_STATES):
        return NOVA_STATES[value]
    return value.lower() if isinstance(value, str) else None


def not_reached(lc: Lifecycle, name: str) -> str:
    stopped = lc.stopped_at()
    if stopped is not None:
        return f"{name} was not reached: the run stopped at {stopped.name} ({stopped.error})"
    return f"{name} was not reached: the answer ends after {lc.steps[-1].name if lc.steps else 'no step'}"


def ran(lc: Lifecycle, name: str) -> tuple[Step | None, list[str]]:
    """The step when it ran and succeeded; else None and the one line that says why not."""
    step = lc.step(name)
    if step is None:
        return None, [not_reached(lc, name)]
    if not step.ok:
        return None, [f"{step.name} failed after {step.seconds:.1f} s: {step.error}"]
    return step, []


def leftover_problems(lc: Lifecycle) -> list[str]:
    """What the run left behind (every kind of leftover it lists)."""
    left = [f"{len(items)} {kind} ({', '.join(map(str, items[:3]))})" for kind, items in lc.leftovers.items() if items]
    return ["destroy left behind " + ", ".join(left)] if left else []


def _xapi_problems(step: Step) -> list[str]:
    facts, out = step.facts, []
    want = XAPI_POWER_AFTER.get(step.name)
    if want and facts.get("power_state") != want:
        out.append(f"after {step.name} XenAPI shows the VM {facts.get('power_state') or 'gone'}, not {want}")
    nova = _nova_state(facts.get("driver_state"))
    if want and nova != NOVA_STATE_OF_XAPI[want]:
        out.append(f"after {step.name} Nova's driver reports {facts.get('driver_state')!r}, "
                   f"not {NOVA_STATE_OF_XAPI[want]!r} (XenAPI {want})")
    if step.name == "spawn":
        # vmops.spawn makes the root disk from the image and plugs it (nova/virt/xenapi/vmops.py _attach_disks).
        for kind in ("vdis", "vbds"):
            if facts.get(kind, 0) < 1:
                out.append(f"after spawn the VM has {facts.get(kind, 0)} {kind}: no root disk")
    return out


def _snapshot_problems(step: Step) -> list[str]:
    image, size = step.facts.get("snapshot_image"), step.facts.get("snapshot_bytes", 0)
    if not image:
        return ["the snapshot named no image in Glance"]
    if size <= 0:
        return [f"the snapshot's image {image} holds no data in Glance ({size} bytes)"]
    return []


def _destroy_problems(lc: Lifecycle, step: Step) -> list[str]:
    out = leftover_problems(lc)
    before, after = lc.sr.get("utilisation_before"), lc.sr.get("utilisation_after")
    if before != after:
        out.append(f"the SR's utilisation is {after} bytes after destroy, {before} before spawn")
    if step.facts.get("power_state"):
        out.append(f"after destroy XenAPI still shows the VM {step.facts['power_state']}")
    return out


def problems(lc: Lifecycle, name: str) -> list[str]:
    """What is wrong with step `name` of Nova's driver run: [] when it showed what it must."""
    step, why = ran(lc, name)
    if step is None:
        return why
    if name == "destroy":
        return _destroy_problems(lc, step)
    out = _xapi_problems(step)
    if name == "snapshot":
        out += _snapshot_problems(step)
    return out


# ------------------------------------------------------------------ the checks

# Every flavour's check of a step carries its name from here, so that a stand-in and a
# real lab answer the same question in reports that read alike.
CHECK_NAMES = {"spawn": "test_instance_spawn", "reboot-soft": "test_instance_reboot_soft",
               "reboot-hard": "test_instance_reboot_hard", "power-off": "test_instance_power_off",
               "power-on": "test_instance_power_on", "snapshot": "test_instance_snapshot",
               "console-log": "test_instance_console_log", "destroy": "test_instance_destroy_leaves_nothing"}


def check_functions(steps: tuple[str, ...], problems) -> dict[str, object]:
    """A verify suite's check per step (fixtures `lifecycle` and `instance_step`), by its CHECK_NAMES name."""
    def check(step: str):
        def test(lifecycle, instance_step):
            instance_step(lifecycle, step, problems)
        test.__name__ = CHECK_NAMES[step]
        test.__doc__ = f"Step {step} of the instance's life shows what it must."
        return test
    return {CHECK_NAMES[step]: check(step) for step in steps}


# ------------------------------------------------------------------ the summary


@dataclass(frozen=True)
class Timed:
    """One step as the report holds it: its time when it ran, and whether its check passed."""

    step: str
    seconds: float | None
    passed: bool


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"  # a simulated step can take milliseconds


def summary_line(timed: list[Timed], on: str) -> str:
    parts = []
    for t in timed:
        if t.seconds is None:
            parts.append(f"{t.step} not reached")
        elif t.passed:
            parts.append(f"{t.step} {_seconds(t.seconds)}")
        else:
            parts.append(f"{t.step} FAILED ({_seconds(t.seconds)})")
    where = f" (on {on})" if on else ""
    return f"instance lifecycle: {', '.join(parts)}{where}"
