#!/usr/bin/env python3
"""How long each step of an instance's life takes on the stand-in, against goals.

Reads the times from a lab's verify report (the JUnit properties verify's instance
checks record: xenlab/suites/conftest.py instance_step), by default the report of the
lab xenlab.toml (or --config) describes, or from an answer of Nova's compute probe to
`lifecycle` saved to a file (`nova-probe.py --lifecycle` prints one), and prints each
step's seconds, its goal and the ratio, then the whole run's.

    .venv/bin/python benchmarks/instance_lifecycle.py [--config xenlab.toml | --report FILE | --answer FILE]

Goals, for the stand-in under software emulation (TCG), where no guest really runs:
- a real boot may take tempest's compute build_timeout, 300 s (tempest/config.py); with
  no guest to boot, only Nova's driver and the simulator working, spawn (the image's
  download through the glance plugin included) and snapshot (its upload) get a tenth;
- reboots and power operations wait on no guest either: a quarter of Nova's
  shutdown_timeout, 60 s (nova/conf/compute.py), which bounds a clean shutdown;
- destroy the same as a power operation;
- the whole life 120 s, so that verify (14-39 s today, ENVIRONMENT.md) stays within a
  few minutes and far inside its 600 s bound for the probe's answer (stages/verify.py).
A ratio above 1 misses the goal. Figures from a run at host level (the probe and the
simulator on this machine, no TCG) are a floor for a lab's.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xenlab.devstack import instance  # noqa: E402

GOALS_S = {"spawn": 30.0, "reboot-soft": 15.0, "reboot-hard": 15.0, "power-off": 15.0, "power-on": 15.0,
           "snapshot": 30.0, "destroy": 15.0}
TOTAL_GOAL_S = 120.0


def from_report(path: Path) -> tuple[list[tuple[str, float | None, bool]], str]:
    """(step, seconds or None, passed) per instance check in a verify report, and where it ran."""
    steps, on = [], ""
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
        if instance.STEP_PROPERTY not in props:
            continue
        seconds = props.get(instance.SECONDS_PROPERTY)
        passed = case.find("failure") is None and case.find("error") is None
        steps.append((props[instance.STEP_PROPERTY], float(seconds) if seconds else None, passed))
        on = on or props.get(instance.ON_PROPERTY, "")
    return steps, on


def from_answer(path: Path) -> tuple[list[tuple[str, float | None, bool]], str]:
    lc = instance.from_probe(path.read_text())
    return [(s.name, s.seconds, not instance.problems(lc, s.name)) for s in lc.steps], lc.on


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", help="the lab's xenlab.toml (default: ./xenlab.toml): read its verify report")
    p.add_argument("--report", type=Path, help="a verify report (JUnit XML)")
    p.add_argument("--answer", type=Path, help="Nova's probe's answer to `lifecycle` (JSON)")
    args = p.parse_args(argv)
    try:
        if args.answer:
            source = args.answer
            steps, on = from_answer(source)
        else:
            if args.report:
                source = args.report
            else:
                import os

                from xenlab.core import config

                # The report's path is all it needs: no password is generated for it.
                env = {**os.environ, "XENLAB_PASSWORD": os.environ.get("XENLAB_PASSWORD") or "unused-here"}
                source = config.load(args.config, environ=env).paths.report
            steps, on = from_report(source)
    except (OSError, ET.ParseError, ValueError) as exc:
        print(f"instance_lifecycle: cannot read the times: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a config error is a XenlabError with its own one line
        print(f"instance_lifecycle: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    if not steps:
        print(f"instance_lifecycle: {source} holds no instance step (verify's instance checks did not run "
              "there: a lab before them, or a flavour without them)", file=sys.stderr)
        return 1
    print(f"instance lifecycle from {source}")
    print(f"ran on {on or 'an unnamed host'}")
    print(f"{'step':<12} {'seconds':>9} {'goal':>7} {'ratio':>7}  check")
    total = 0.0
    for name, seconds, passed in steps:
        goal = GOALS_S.get(name)
        shown = f"{seconds:9.2f}" if seconds is not None else f"{'-':>9}"
        ratio = f"{seconds / goal:7.2f}" if seconds is not None and goal else f"{'-':>7}"
        print(f"{name:<12} {shown} {goal or '-':>7} {ratio}  {'passed' if passed else 'FAILED'}")
        total += seconds or 0.0
    print(f"{'whole life':<12} {total:9.2f} {TOTAL_GOAL_S:>7} {total / TOTAL_GOAL_S:7.2f}  "
          f"{sum(1 for _, _, ok in steps if ok)}/{len(steps)} checks passed")
    missing = [name for name in instance.STEPS if name not in {s for s, _, _ in steps}]
    if missing:
        print(f"not in this run: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
