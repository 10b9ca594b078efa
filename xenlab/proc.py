"""Running external tools: streamed output, a full log, secrets kept out of both.

Secrets reach tools through the environment (e.g. PKR_VAR_root_password), never
through argv, where any user on the machine could read them in `ps`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Mapping, Sequence

from . import console
from .errors import ToolError


def require(tool: str, hint: str = "run ./bootstrap") -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolError(f"{tool} not found on PATH ({hint})")
    return path


def tool_version(cmd: Sequence[str], timeout: float = 20) -> str | None:
    """First line a tool prints for its version, or None when it is missing or fails."""
    if not shutil.which(cmd[0]):
        return None
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (done.stdout or done.stderr).strip().splitlines()
    return out[0].strip() if done.returncode == 0 and out else None


def run(
    cmd: Sequence[str],
    *,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    quiet: bool = False,
    what: str | None = None,
) -> str:
    """Run a tool, streaming its output (redacted) to the console and a log file.

    Returns the output. Raises ToolError naming the tool and the log on failure
    or when `timeout` seconds pass (the tool's process group is killed).
    """
    what = what or Path(cmd[0]).name
    full_env = {**os.environ, **(env or {})}
    log_fh = None
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_fh = log.open("a")
        log_fh.write(f"\n$ {console.redact(' '.join(map(str, cmd)))}\n")
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolError(f"{what}: cannot start {cmd[0]}: {exc.strerror}") from None
    # A reader thread, so that a tool that hangs silently still hits the timeout.
    reader = threading.Thread(target=pump_lines, args=(proc.stdout, lines, log_fh, quiet), daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
        reader.join(timeout=10)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        _kill_group(proc)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ToolError(f"{what} took longer than {timeout:.0f} s and was stopped{_see(log)}") from None
    finally:
        if log_fh:
            reader.join(timeout=5)
            log_fh.close()
    if proc.returncode != 0:
        last = next((line for line in reversed(lines) if line.strip()), "")
        raise ToolError(f"{what} failed (exit {proc.returncode}): {last[:300]}{_see(log)}")
    return "\n".join(lines)


def pump_lines(stream, sink: list[str], log_fh=None, quiet: bool = False, keep=None) -> None:
    """Read a tool's output line by line: redact, keep, log and show each line.

    `keep(line)` may drop noise (e.g. progress bars) before it is kept or shown.
    """
    for raw in stream:
        line = console.redact(raw.rstrip("\n"))
        if keep and not keep(line):
            continue
        sink.append(line)
        if log_fh:
            log_fh.write(line + "\n")
            log_fh.flush()
        if not quiet:
            print(f"    {line}", flush=True)


def pid_alive(pid: int) -> bool:
    """Is the process running (a zombie, exited but not yet reaped, is not)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _see(log: Path | None) -> str:
    return f"; full log: {log}" if log else ""


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def python() -> str:
    return sys.executable
