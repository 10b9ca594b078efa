"""Wire's files handed to a devstack machine that booted beside the xenserver
machine and waits for them (vagrant/devstack/wait-for-wire.sh)."""

from __future__ import annotations

from ..core import console
from ..core.files import write_file
from ..errors import ToolError
from ..machines import vagrantcli

def announce_pending(cfg) -> None:
    """The devstack machine boots before wire has run: its provisioning is to wait."""
    cfg.paths.wire_failed.unlink(missing_ok=True)
    write_file(cfg.paths.wire_pending, "wire runs on the host once the xenserver machine is up\n", secret=True)


def clear_handoff(cfg) -> None:
    cfg.paths.wire_pending.unlink(missing_ok=True)
    cfg.paths.wire_failed.unlink(missing_ok=True)


def hand_off(cfg, machine: str, failure: str = "") -> None:
    """Sync wire's files (or WIRE-FAILED) into a machine that boots beside this one and waits.

    Twice on success: the files first, then without WIRE-PENDING, so the machine
    never goes on with half of them (each synced folder is its own rsync).
    """
    if not cfg.paths.wire_pending.exists():
        return  # it booted with wire's files already current, and waits for nothing
    if failure:
        write_file(cfg.paths.wire_failed, console.redact(failure) + "\n", secret=True)
        _push(cfg, machine)
        return
    cfg.paths.wire_failed.unlink(missing_ok=True)
    _push(cfg, machine)
    cfg.paths.wire_pending.unlink(missing_ok=True)
    _push(cfg, machine)
    console.say(f"xenlab: wire's files handed to {machine}; its provisioning goes on")


PUSH_RETRY_S = 5.0


def _push(cfg, machine: str) -> None:
    """`vagrant rsync <machine>`, retried (bounded) while the machine is still booting."""
    import time

    deadline = time.monotonic() + cfg.flavour.up_timeout_s
    while True:
        try:
            vagrantcli.client(cfg, "rsync").rsync(machine)
            return
        except ToolError as exc:
            if time.monotonic() + PUSH_RETRY_S > deadline:
                raise ToolError(f"cannot hand wire's files to {machine}: {exc.message}") from None
        time.sleep(PUSH_RETRY_S)
