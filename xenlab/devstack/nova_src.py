"""Your own Nova against the lab (the `devstack.nova_src` setting: a Nova checkout).

Where the devstack machine runs Nova's compute probe (the stand-in), verify syncs the
checkout's `nova/` package into the machine before its checks: rsync over Vagrant's
SSH, the package only (no tests, no bytecode; nothing of the checkout's .git or .tox),
into a directory the probe service puts before its own tree on sys.path
(NOVA_PROBE_NOVA_SRC, rendered by machines/labspec.py); when anything changed, the
service restarts and imports it. So an edit under nova/virt/xenapi/ is what the next
`invoke verify` exercises, and nothing is rebuilt. With the setting removed, verify
removes the copy and Nova is the tree's own again.

Where stack.sh runs, local.conf's NOVA_REPO names the checkout (synced into the machine
by Vagrant) and NOVA_BRANCH the branch it has checked out: what DevStack clones.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ..core import proc
from ..core.files import digest

PACKAGE = "nova"
# Not synced: the package's test suite (the probe tree's Nova has none either) and bytecode.
EXCLUDE = ("/tests/", "__pycache__/", "*.pyc")
SYNC_TIMEOUT = 600  # the first sync of ~1500 files into a TCG guest
SSH_TIMEOUT = 120


@dataclass(frozen=True)
class Target:
    """Where the package goes in a machine, and how to make its importer take it up."""

    ssh_config: Path
    host: str  # the Host entry of ssh_config
    directory: str  # the package goes in <directory>/nova
    restart: str  # shell command that restarts what imports it (e.g. systemctl restart <service>)
    sudo: bool = True  # the SSH user is not root (Vagrant's is `vagrant`)

    def root(self, command: str) -> str:
        return f"sudo {command}" if self.sudo else command


@dataclass(frozen=True)
class Synced:
    changed: int  # files (and directories) created, updated or deleted in the machine
    restarted: bool


def files(src: Path) -> list[Path]:
    """The package's files that are synced, sorted."""
    root = src / PACKAGE
    out = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or rel.parts[0] == "tests" or "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        out.append(path)
    return sorted(out)


def content_digest(src: Path | None) -> str:
    """What the synced package holds (names and contents): verify runs again when it changes."""
    if src is None:
        return ""
    parts: list[str | bytes] = []
    for path in files(src):
        parts += [str(path.relative_to(src)), path.read_bytes()]
    return digest(*parts)


def rsync_argv(src: Path, target: Target) -> list[str]:
    """rsync of `src`/nova/ into the target's directory, listing each change (--itemize-changes)."""
    directory = shlex.quote(target.directory)
    return [
        "rsync", "--recursive", "--links", "--times", "--perms", "--delete", "--delete-excluded",
        "--itemize-changes", *(f"--exclude={pattern}" for pattern in EXCLUDE),
        "-e", f"ssh -F {shlex.quote(str(target.ssh_config))}",
        # The directory belongs to root (the probe runs as root): make it, and write there, as root.
        f"--rsync-path={target.root(f'mkdir -p {directory}')} && {target.root('rsync')}",
        f"{src / PACKAGE}/", f"{target.host}:{target.directory}/{PACKAGE}/",
    ]


def changes(itemized: str) -> int:
    """Lines of rsync's --itemize-changes that changed content ('.' first: attributes only)."""
    return sum(1 for line in itemized.splitlines() if line.strip() and not line.startswith("."))


def _ssh(target: Target, command: str, log: Path | None, what: str) -> str:
    return proc.run(["ssh", "-F", str(target.ssh_config), target.host, command], timeout=SSH_TIMEOUT, quiet=True,
                    log=log, what=what)


def sync(src: Path, target: Target, log: Path | None = None) -> Synced:
    """Bring the machine's copy in line with the checkout; restart its importer when it changed."""
    proc.require("rsync")
    out = proc.run(rsync_argv(src, target), timeout=SYNC_TIMEOUT, quiet=True, log=log,
                   what=f"rsync of your Nova ({src}) into the {target.host} machine")
    changed = changes(out)
    if changed:
        _ssh(target, target.root(target.restart), log, f"restart on {target.host} ({target.restart})")
    return Synced(changed, bool(changed))


def remove(target: Target, log: Path | None = None) -> bool:
    """The setting is gone: remove the machine's copy (restarting its importer); True if there was one."""
    d = shlex.quote(target.directory)
    command = (f"if {target.root(f'test -e {d}')}; then {target.root(f'rm -rf {d}')} && "
               f"{target.root(target.restart)} && echo removed; fi")
    return "removed" in _ssh(target, command, log, f"removing your Nova from the {target.host} machine").split()


# ------------------------------------------------------------------ DevStack flavours


def branch(src: Path) -> str | None:
    """The branch the checkout has checked out, read from its .git/HEAD; None when there is none.

    DevStack clones NOVA_BRANCH by name (`git clone --branch`, devstack functions-common
    git_clone at train-eol): a detached HEAD cannot be what it clones, and a worktree's
    .git (a file naming a directory on this host) means nothing inside the machine.
    """
    try:
        head = (src / ".git" / "HEAD").read_text().strip() if (src / ".git").is_dir() else ""
    except OSError:
        return None
    return head[len("ref: refs/heads/"):] if head.startswith("ref: refs/heads/") else None
