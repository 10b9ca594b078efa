"""The one way xenlab starts a process: output streamed (redacted) to the console
and a 0600 log, every wait bounded, and on a timeout or Ctrl-C the process's
whole group stopped (it runs in a session of its own), nothing else.

Secrets reach tools through the environment (e.g. PKR_VAR_root_password), never
through argv, where any user on the machine could read them in `ps`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import console
from ..errors import ToolError
from .files import open_log

# A tool's failing line: the one a user needs to see first.
ERROR_LINE = re.compile(r"\b(error|errored|failed|failure|fatal|cannot|can't|refused|denied|not found|"
                        r"no such|timed out|unable)\b", re.IGNORECASE)
STOP_GRACE = 10.0


def require(tool: str, hint: str = "run ./bootstrap") -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolError(f"{tool} not found on PATH ({hint})")
    return path


def python() -> str:
    return sys.executable


def failing_line(lines: Sequence[str]) -> str:
    """The last line that reads like an error, else the last non-empty one."""
    text = [line.strip() for line in lines if line.strip()]
    for line in reversed(text):
        if ERROR_LINE.search(line):
            return line
    return text[-1] if text else "(no output)"


def last_paragraph(lines: Sequence[str]) -> str:
    """The last block of non-empty lines, joined: how Vagrant prints its errors."""
    text = [line.strip() for line in lines]
    while text and not text[-1]:
        text.pop()
    start = len(text)
    while start > 0 and text[start - 1]:
        start -= 1
    return " ".join(text[start:]) or "(no output)"


class Process:
    """A started tool: its output pumped by a thread into `lines`, the log and the console."""

    def __init__(self, cmd: Sequence, *, log: Path | None = None, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, quiet: bool = False, what: str | None = None,
                 filter_line: Callable[[str], str | None] | None = None, log_as: str | None = None,
                 replace_env: bool = False, split_stderr: bool = False):
        self.argv = [str(c) for c in cmd]
        self.what = what or Path(self.argv[0]).name
        self.log = log
        self.lines: list[str] = []  # stdout (and stderr, unless split_stderr)
        self.err_lines: list[str] = []
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self._log_fh = open_log(log) if log else None
        if self._log_fh:
            self._log_fh.write(f"\n$ {console.redact(log_as or ' '.join(self.argv))}\n")
            self._log_fh.flush()
        full_env = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
        try:
            self.popen = subprocess.Popen(
                self.argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if split_stderr else subprocess.STDOUT, text=True, errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            self._close_log()
            raise ToolError(f"{self.what}: cannot start {self.argv[0]}: {exc.strerror}") from None
        # Reader threads, so that a tool that hangs silently still meets its timeout.
        self._readers = [threading.Thread(target=self._pump, args=(self.popen.stdout, self.lines, quiet,
                                                                    filter_line), daemon=True)]
        if split_stderr:
            self._readers.append(threading.Thread(target=self._pump, args=(self.popen.stderr, self.err_lines,
                                                                            quiet, filter_line), daemon=True))
        for reader in self._readers:
            reader.start()

    def _pump(self, stream, sink: list[str], quiet: bool, filter_line) -> None:
        for raw in stream:
            line = console.redact(raw.rstrip("\n"))
            if filter_line:
                line = filter_line(line)
                if line is None:
                    continue
            with self._lock:
                sink.append(line)
                if self._log_fh:
                    self._log_fh.write(line + "\n")
                    self._log_fh.flush()
            if not quiet:
                console.say(f"    {line}")

    def _close_log(self) -> None:
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None) -> int | None:
        """The exit code, or None when `timeout` passed (the process group is then stopped)."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        except KeyboardInterrupt:
            self.stop()
            raise
        finally:
            for reader in self._readers:
                reader.join(timeout=10)
            self._close_log()
        return self.popen.returncode

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL after a grace period; done when no process of
        the group is left (Packer can exit before the QEMU it stops)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + STOP_GRACE
            while time.monotonic() < deadline:
                self.popen.poll()  # reaps the leader, which would otherwise keep the group
                try:
                    os.killpg(self.popen.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)


def start(cmd: Sequence, **kwargs) -> Process:
    return Process(cmd, **kwargs)


def run(cmd: Sequence, *, timeout: float | None, summarise: Callable[[list[str]], str] = failing_line,
        **kwargs) -> str:
    """Run a tool to its end within `timeout` seconds; returns its output.

    Raises ToolError naming the tool, its failing line and the log on failure or
    when the time is up (the tool's process group is then stopped).
    """
    proc = Process(cmd, **kwargs)
    code = proc.wait(timeout)
    see = f"; full log: {proc.log}" if proc.log else ""
    if code is None:
        raise ToolError(f"{proc.what} took longer than {timeout:.0f} s and was stopped{see}")
    if code != 0:
        raise ToolError(f"{proc.what} failed (exit {code}): {summarise(proc.lines + proc.err_lines)[:400]}{see}")
    return proc.output


def tool_version(cmd: Sequence[str], timeout: float = 20) -> str | None:
    """First line a tool prints for its version, or None when it is missing or fails."""
    if not shutil.which(cmd[0]):
        return None
    try:
        out = run(cmd, timeout=timeout, quiet=True)
    except ToolError:
        return None
    lines = out.strip().splitlines()
    return lines[0].strip() if lines else None


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
