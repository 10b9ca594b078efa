"""ssh configs for the lab's machines: read, and written with connection sharing.

testinfra ignores --ssh-extra-args, so ControlMaster, ControlPath and
ControlPersist go into the config file itself: one connection per host serves
every check (5x faster on slow guests).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ..core import proc
from ..core.files import digest, write_file
from ..errors import HostError, ToolError

CONTROL_PERSIST = 300
# A restored guest's new tap port passes the bridge's STP listening and learning
# states (2 s each at least: linux net/bridge/br_stp.c), during which the host's
# ARP for the guest fails and ssh ends at once with "No route to host".
ANSWER_TIMEOUT = 90.0
# A shared connection whose guest stopped answering (a machine restored to an
# earlier moment knows nothing of it) is given up after 10 s x 6, not TCP's minutes.
ALIVE = ("  ServerAliveInterval 10", "  ServerAliveCountMax 6")


def multiplexed(ssh_config: str, control_dir: Path) -> str:
    """Add connection sharing to every Host block of an ssh config."""
    extra = [
        "  ControlMaster auto",
        f"  ControlPath {control_dir}/%C",
        f"  ControlPersist {CONTROL_PERSIST}",
        *ALIVE,
    ]
    out: list[str] = []
    for line in ssh_config.splitlines():
        if line.strip().lower().startswith(("controlmaster", "controlpath", "controlpersist",
                                            "serveraliveinterval", "serveralivecountmax")):
            continue
        out.append(line)
        if line.startswith("Host "):
            out.extend(extra)
    return "\n".join(out) + "\n"


def control_dir(cfg) -> Path:
    """Where ssh keeps its shared connections: private, and checked to be ours.

    A Unix socket path must be short, hence /tmp rather than the lab's folder; a
    directory there that another user made (or a symlink) is refused.
    """
    path = Path("/tmp") / f"xenlab-{os.getuid()}-{digest(str(cfg.lab_dir))[:10]}"
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) != 0o700:
        raise HostError(f"{path} (ssh's ControlPath directory) is not a 0700 directory of this user: remove it")
    return path


def write(cfg, text: str, path: Path | None = None) -> Path:
    """`text` with connection sharing, at `path` (the lab's ssh-config by default), 0600."""
    path = path or cfg.paths.ssh_config
    write_file(path, multiplexed(text, control_dir(cfg)), secret=True)
    return path


def hosts(text: str) -> dict[str, dict[str, str]]:
    """Host -> its options, from an ssh config (first value of each option wins, as in ssh)."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        if parts[0] == "Host":
            current = found.setdefault(parts[1], {})
        elif current is not None:
            current.setdefault(parts[0], parts[1].strip('"'))
    return found


def stop_shared(cfg, path: Path | None = None) -> None:
    """End the shared connections of every host in the lab's ssh-config (after a restore
    they lead to guests that never heard of them)."""
    path = path or cfg.paths.ssh_config
    try:
        names = list(hosts(path.read_text()))
    except OSError:
        return
    for name in names:
        try:
            proc.run(["ssh", "-F", str(path), "-O", "exit", name], timeout=15, quiet=True, what="ssh -O exit")
        except ToolError:
            pass  # no master was running: nothing to end


def wait_answering(cfg, timeout: float = ANSWER_TIMEOUT, path: Path | None = None) -> None:
    """Every host in the lab's ssh-config runs `true` over SSH, or one line naming the one that does not."""
    path = path or cfg.paths.ssh_config
    try:
        names = list(hosts(path.read_text()))
    except OSError:
        return
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            try:
                # LogLevel: Vagrant's ssh-config says FATAL, which would leave the error line out.
                proc.run(["ssh", "-F", str(path), "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", name, "true"],
                         timeout=30, quiet=True, what=f"ssh {name}")
                break
            except ToolError as exc:
                if time.monotonic() >= deadline:
                    raise HostError(f"the {name} machine does not answer over SSH {timeout:.0f} s after the "
                                    f"restore ({exc.message}): `invoke status`, or `invoke down` and `invoke lab`") from None
                time.sleep(1)
