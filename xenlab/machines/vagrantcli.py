"""Vagrant, through python-vagrant and xenlab's one process runner.

python-vagrant builds each command line and parses what Vagrant answers (status,
box list, ssh-config); the subclass below makes it run them through `core.proc`,
so every Vagrant call is bounded, streamed, logged 0600 and stopped with its whole
process group when its time is up.

python-vagrant's `env=` replaces the whole environment, so `environment` starts
from os.environ. XENLAB_DRIVEN tells the Vagrantfile's triggers that xenlab itself
runs the lifecycle, so they record nothing and wire nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import vagrant

from ..core import console, proc
from ..core.paths import PROJECT_DIR

ERASE_LINE = "\x1b[K"
_PROGRESS = re.compile(r"^Progress: \d+%")
QUERY_TIMEOUT = 120.0


def environment(cfg) -> dict[str, str]:
    """The whole environment for Vagrant."""
    return {
        **os.environ,
        # Which lab the Vagrantfile reads, whatever .xenlab/active says.
        "XENLAB_LAB_SPEC": str(cfg.paths.spec),
        # Vagrant's data about the machines, in the lab's folder: every lab's machines are
        # called xenserver and devstack, so labs under one root cannot share `.vagrant`
        # (the Vagrantfile makes a plain `vagrant` use the same folder).
        "VAGRANT_DOTFILE_PATH": str(cfg.paths.vagrant_dotfile),
        "LIBVIRT_DEFAULT_URI": cfg.lab.libvirt_uri,
        "XENLAB_DRIVEN": "1",
    }


def _quiet_progress(line: str) -> str | None:
    """A box upload prints thousands of progress lines: keep only the last."""
    line = line.replace(ERASE_LINE, "")
    return line if not _PROGRESS.match(line) or line.startswith("Progress: 100%") else None


def error_message(lines: list[str]) -> str:
    """Vagrant's error: a `--machine-readable` error-exit line, else its last paragraph."""
    for line in lines:
        parts = line.split(",", 4)
        if len(parts) == 5 and parts[2] == "error-exit":
            text = parts[4].replace("%!(VAGRANT_COMMA)", ",").replace("\\n", " ")
            return console.redact(" ".join(text.split()))
    return proc.last_paragraph(lines)


class Client(vagrant.Vagrant):
    """python-vagrant whose commands run through core.proc within `timeout` seconds."""

    def __init__(self, cfg, timeout: float, quiet: bool, log: Path, what: str):
        super().__init__(root=str(PROJECT_DIR), env=environment(cfg))
        self.timeout, self.quiet, self.log_path, self.what = timeout, quiet, log, what

    def _run(self, args, quiet: bool) -> str:
        return proc.run(self._make_vagrant_command(args), cwd=Path(self.root), env=self.env, replace_env=True,
                        timeout=self.timeout, quiet=quiet, log=self.log_path, what=self.what,
                        filter_line=_quiet_progress, split_stderr=quiet, summarise=error_message)

    def _call_vagrant_command(self, args):
        self._run(args, self.quiet)

    def _run_vagrant_command(self, args):
        # Parsed by python-vagrant: stdout only (stderr goes to the log).
        return self._run(args, True)

    def rsync(self, vm_name: str) -> None:
        """`vagrant rsync <machine>`: its rsync synced folders, now (python-vagrant has no call for it)."""
        self._call_vagrant_command(["rsync", vm_name])


def client(cfg, what: str, timeout: float = QUERY_TIMEOUT, quiet: bool = True) -> Client:
    """A Vagrant for one call, logged to .xenlab/<lab>/logs/<first word of what>.log."""
    return Client(cfg, timeout, quiet, cfg.paths.log(what.split()[0]), f"vagrant {what}")


def machine_dir(cfg, machine: str, provider: str) -> Path:
    """Vagrant's data about one machine (its provider id, the box it was made from)."""
    return cfg.paths.vagrant_dotfile / "machines" / machine / provider
