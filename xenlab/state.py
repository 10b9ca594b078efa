"""The lab's state file: which stage finished, when, with which input digest.

Like Molecule's state file, it lets a re-run skip a stage whose inputs did not
change, and lets `invoke lab` resume after the last finished stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


def digest(*parts: str | bytes) -> str:
    """A stable digest of the given parts (length-prefixed, so parts cannot blur)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def digest_files(*paths: Path) -> str:
    """Digest of file names and contents; directories are walked in sorted order."""
    parts: list[str | bytes] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            parts += [str(f.relative_to(path.parent)), f.read_bytes()]
    return digest(*parts)


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    """Write JSON so that a reader never sees half a file, even after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


class State:
    """Per-lab stage records in .xenlab/<lab>/state.json."""

    def __init__(self, lab_dir: Path):
        self.path = lab_dir / STATE_FILE
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
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
        write_json_atomic(self.path, self.data)
