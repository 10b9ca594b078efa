"""The lab's state file: which stage finished, when, with which input digest.

Like Molecule's state file, it lets a re-run skip a stage whose inputs did not
change, and lets `invoke lab` resume after the last finished stage. It holds no
secret (digests of secrets are keyed, see `files.keyed_digest`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .files import write_json


class State:
    """Per-lab stage records in .xenlab/<lab>/state.json (`LabPaths.state`)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}
        if not isinstance(self.data, dict) or not isinstance(self.data.get("stages", {}), dict):
            self.data = {}
        self.data.setdefault("stages", {})

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        return self.data["stages"]

    def get(self, stage: str) -> dict[str, Any] | None:
        return self.stages.get(stage)

    def is_current(self, stage: str, inputs: str) -> bool:
        record = self.get(stage)
        return bool(record) and record.get("digest") == inputs

    def record(self, stage: str, inputs: str, seconds: float, **extra: Any) -> None:
        self.stages[stage] = {
            "digest": inputs,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(seconds, 1),
            **extra,
        }
        self.save()

    def forget(self, *stages: str) -> None:
        for stage in stages:
            self.stages.pop(stage, None)
        self.save()

    def save(self) -> None:
        write_json(self.path, self.data)
