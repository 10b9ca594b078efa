"""Real flavours: can Nova boot a server on this lab? Asked through the OpenStack API.

After stack.sh, verify boots a server on the devstack host with the image and flavor
DevStack made, reads its console log, deletes it and waits until it is gone, as the
`stack` user with DevStack's openrc. Two remote commands: one finds the image, flavor
and network (`discovery_script`, whose output `choose` reads), one runs the server's
life (`lifecycle_script`, read by `lifecycle`). Each OpenStack call in them is bounded
by `timeout` and leaves one record: its name, exit code, start and end times, its
stdout and the tail of its stderr. The result is an instance.Lifecycle, so the checks
carry the stand-in's names (test_instance_spawn, ..., test_instance_destroy_leaves_nothing).
"""

from __future__ import annotations

import json
import shlex
import uuid
from dataclasses import dataclass

from .instance import BadAnswer, Lifecycle, Step, leftover_problems, one_line, ran

OPENRC = "/opt/stack/devstack/openrc"  # DevStack's; `openrc <user> <project>`
STEPS = ("spawn", "console-log", "destroy")
# Bounds, in seconds. tempest's compute build_timeout defaults to 300 s (tempest/config.py);
# a nested host under KVM gets twice that to reach ACTIVE.
BUILD_TIMEOUT = 600
DELETE_TIMEOUT = 300
CALL_TIMEOUT = 120
# The project network DevStack makes (devstack stackrc PRIVATE_NETWORK_NAME, train-eol).
PRIVATE_NETWORK = "private"
# Independent compute boots VHD images only (nova/virt/xenapi/driver.py; os-xenapi's
# DevStack plugin uploads cirros as --disk-format vhd --container-format ovf).
DISK_FORMAT = "vhd"
# Compute API microversion 2.37 is the first that takes `--nic none` (no network).
NO_NETWORK_MICROVERSION = "2.37"
RECORD = "@cmd "
STDERR = "@stderr"

# One record per call: "@cmd <name> <rc> <start> <end>", its stdout, "@stderr", its stderr's tail.
RUN = r"""
LAST=
run() {
  local name=$1 limit=$2 err rc t0 t1; shift 2
  err=$(mktemp)
  t0=$(date +%s.%N)
  LAST=$(timeout "$limit" "$@" 2>"$err"); rc=$?
  t1=$(date +%s.%N)
  printf '@cmd %s %s %s %s\n%s\n@stderr\n%s\n' "$name" "$rc" "$t0" "$t1" "$LAST" "$(tail -c 1500 "$err")"
  rm -f "$err"
}
"""


@dataclass(frozen=True)
class Record:
    name: str
    rc: int
    seconds: float
    out: str
    err: str

    def why(self) -> str:
        """One line: what the call said when it failed (timeout's 124 named)."""
        if self.rc == 124:
            return f"no answer within its bound ({self.seconds:.0f} s)"
        text = one_line(self.err) or one_line(self.out) or f"exit {self.rc}"
        return f"{text} (exit {self.rc})"

    def json(self):
        """The call's JSON output; OSC's --wait writes progress lines before it."""
        start = min((i for i in (self.out.find("["), self.out.find("{")) if i >= 0), default=-1)
        if start < 0:
            raise BadAnswer(f"{self.name} printed no JSON: {one_line(self.out, 200)!r}")
        try:
            return json.loads(self.out[start:])
        except ValueError:
            raise BadAnswer(f"{self.name} printed unreadable JSON: {one_line(self.out, 200)!r}") from None


def remote(user: str, script: str) -> str:
    """The script as one shell command run by `user` with DevStack's admin credentials."""
    body = f"source {OPENRC} admin admin >/dev/null 2>&1 || echo '{RECORD}openrc 1 0 0'\n{RUN}\n{script}"
    return f"sudo -u {shlex.quote(user)} -H bash -c {shlex.quote(body)}"


def _call(name: str, limit: int, *argv: str) -> str:
    return f"run {name} {limit} " + " ".join(shlex.quote(a) for a in argv)


def _head(line: str) -> tuple[str, int, float] | None:
    """(name, exit code, seconds) of a record's first line, else None."""
    parts = line[len(RECORD):].split() if line.startswith(RECORD) else []
    try:
        name, rc, t0, t1 = parts
        return name, int(rc), round(max(0.0, float(t1) - float(t0)), 3)
    except ValueError:
        return None


def records(output: str) -> dict[str, Record]:
    """The records in a script's output, by name (a record's lines run to the next record)."""
    heads: list[tuple[str, int, float]] = []
    bodies: list[list[str]] = []
    for line in output.splitlines():
        head = _head(line)
        if head:
            heads.append(head)
            bodies.append([])
        elif bodies:
            bodies[-1].append(line)
    found = {}
    for (name, rc, seconds), body in zip(heads, bodies):
        cut = body.index(STDERR) if STDERR in body else len(body)
        found[name] = Record(name, rc, seconds, "\n".join(body[:cut]).strip(), "\n".join(body[cut + 1:]).strip())
    return found


# ------------------------------------------------------------------ what to boot


@dataclass(frozen=True)
class Choice:
    image: dict  # {"id", "name"}
    flavor: dict  # {"id", "name"}
    network: dict | None  # {"id", "name"}, or None: no network (--nic none)


def discovery_script() -> str:
    return "\n".join([
        _call("images", CALL_TIMEOUT, "openstack", "image", "list", "--long", "-f", "json"),
        _call("flavors", CALL_TIMEOUT, "openstack", "flavor", "list", "-f", "json"),
        _call("networks", CALL_TIMEOUT, "openstack", "network", "list", "--internal", "-f", "json"),
    ])


def _listed(found: dict[str, Record], name: str) -> list[dict]:
    rec = found.get(name)
    if rec is None:
        raise BadAnswer(f"`openstack {name[:-1]} list` did not run on the devstack host")
    if rec.rc != 0:
        raise BadAnswer(f"`openstack {name[:-1]} list` failed: {rec.why()}")
    rows = rec.json()
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BadAnswer(f"`openstack {name[:-1]} list` printed no list of rows")
    return rows


def choose_image(rows: list[dict]) -> dict:
    """DevStack's VHD image (the smallest active one: earlier snapshots may be there too)."""
    fit = [r for r in rows if str(r.get("Status", "")).lower() == "active"
           and str(r.get("Disk Format", "")).lower() == DISK_FORMAT]
    if not fit:
        seen = ", ".join(f"{r.get('Name')} ({r.get('Disk Format')}, {r.get('Status')})" for r in rows) or "none"
        raise BadAnswer(f"Glance has no active {DISK_FORMAT} image to boot (XenAPI boots VHD images only); "
                        f"images: {seen}")
    best = min(fit, key=lambda r: (int(r.get("Size") or 0), str(r.get("Name"))))
    return {"id": best["ID"], "name": best.get("Name", ""), "bytes": int(best.get("Size") or 0)}


def choose_flavor(rows: list[dict], image_bytes: int) -> dict:
    """The smallest public flavor whose disk holds the image (DevStack's cirros256 on a fresh stack)."""
    gib = 2**30
    need_gb = max(1, -(-image_bytes // gib))
    fit = [r for r in rows if r.get("Is Public", True) and int(r.get("Disk") or 0) >= need_gb]
    if not fit:
        raise BadAnswer(f"Nova has no public flavor with a disk of {need_gb} GB or more: flavors "
                        + (", ".join(str(r.get("Name")) for r in rows) or "none"))
    best = min(fit, key=lambda r: (int(r.get("RAM") or 0), int(r.get("Disk") or 0), int(r.get("VCPUs") or 0),
                                   str(r.get("Name"))))
    return {"id": str(best["ID"]), "name": best.get("Name", "")}


def choose_network(rows: list[dict]) -> dict | None:
    """DevStack's private network; else the only internal one with a subnet; None when there is none."""
    usable = [r for r in rows if r.get("Subnets")]
    named = [r for r in usable if r.get("Name") == PRIVATE_NETWORK]
    pick = named or sorted(usable, key=lambda r: str(r.get("Name")))
    return {"id": pick[0]["ID"], "name": pick[0].get("Name", "")} if pick else None


def choose(found: dict[str, Record]) -> Choice:
    image = choose_image(_listed(found, "images"))
    return Choice(image=image, flavor=choose_flavor(_listed(found, "flavors"), image["bytes"]),
                  network=choose_network(_listed(found, "networks")))


# ------------------------------------------------------------------ the server's life


def server_name() -> str:
    """A fresh name per run: a server an earlier run could not delete is not taken for this one."""
    return f"xenlab-verify-{uuid.uuid4().hex[:10]}"


def lifecycle_script(choice: Choice, name: str) -> str:
    create = ["openstack"]
    if choice.network is None:
        create += ["--os-compute-api-version", NO_NETWORK_MICROVERSION]
    create += ["server", "create", "--image", choice.image["id"], "--flavor", choice.flavor["id"]]
    create += ["--nic", "none"] if choice.network is None else ["--network", choice.network["id"]]
    create += ["--wait", "-f", "json", name]
    lines = [
        _call("create", BUILD_TIMEOUT, *create),
        _call("show", CALL_TIMEOUT, "openstack", "server", "show", "-f", "json", name),
        # The server's id, for its ports after the delete (python3: every Ubuntu has it).
        "ID=$(printf '%s' \"$LAST\" | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])' "
        "2>/dev/null)",
        # dom0 logs guest consoles once DevStack's cron has run rotate_xen_guest_logs.sh, which sets
        # /local/logconsole/@ (devstack lib/nova_plugins/hypervisor-xenserver, train-eol; os-xenapi console.py).
        _call("console", CALL_TIMEOUT, "openstack", "console", "log", "show", "--lines", "40", name),
        _call("delete", DELETE_TIMEOUT, "openstack", "server", "delete", "--wait", name),
        _call("servers", CALL_TIMEOUT, "openstack", "server", "list", "--name", f"^{name}$", "-f", "json"),
        'if [ -n "$ID" ]; then ' + _call("ports", CALL_TIMEOUT, "openstack", "port", "list", "--device-id")
        + ' "$ID" -f json; fi',
    ]
    return "\n".join(lines)


def _spawn(found: dict[str, Record], choice: Choice) -> tuple[Step, dict]:
    create, show = found.get("create"), found.get("show")
    if create is None:
        return Step("spawn", 0.0, False, "`openstack server create` did not run"), {}
    server = {}
    if show is not None and show.rc == 0:
        try:
            server = show.json()
        except BadAnswer:
            pass
    server = server if isinstance(server, dict) else {}
    facts = {"status": server.get("status"), "power_state": server.get("OS-EXT-STS:power_state"),
             "host": server.get("OS-EXT-SRV-ATTR:hypervisor_hostname"), "id": server.get("id"),
             "image": choice.image["name"], "flavor": choice.flavor["name"],
             "network": choice.network["name"] if choice.network else None}
    fault = server.get("fault")
    error = ""
    if create.rc != 0:
        error = create.why()
    else:
        try:
            create.json()
        except BadAnswer:
            error = f"`openstack server create --wait` said {one_line(create.out, 200)!r}"
    if error and isinstance(fault, dict) and fault.get("message"):
        error += f"; Nova's fault: {one_line(fault['message'], 200)}"
    return Step("spawn", create.seconds, not error, error, facts), server


def lifecycle(found: dict[str, Record], choice: Choice, name: str) -> Lifecycle:
    """The server's life from the lifecycle script's records."""
    spawn, server = _spawn(found, choice)
    steps = [spawn]
    console = found.get("console")
    if spawn.ok and console is not None:
        text = console.out
        steps.append(Step("console-log", console.seconds, console.rc == 0,
                          "" if console.rc == 0 else console.why(),
                          {"lines": len([ln for ln in text.splitlines() if ln.strip()]),
                           "tail": one_line(text.strip().splitlines()[-1] if text.strip() else "", 120)}))
    delete = found.get("delete")
    leftovers: dict[str, list] = {}
    if delete is not None:
        existed = bool(server)
        errors = [delete.why()] if delete.rc != 0 and existed else []
        # What is left: the server by its name, and (when it had an id) its ports.
        for kind, column, listing in (("servers", "Name", found.get("servers")), ("ports", "ID", found.get("ports"))):
            if listing is None and kind == "ports":
                leftovers[kind] = []  # the server never had an id: no port of it to look for
            elif listing is None:
                errors.append(f"`openstack {kind[:-1]} list` did not run after the delete")
            elif listing.rc != 0:
                errors.append(f"`openstack {kind[:-1]} list` after the delete failed: {listing.why()}")
            else:
                leftovers[kind] = [r.get(column) for r in listing.json() if isinstance(r, dict)]
        steps.append(Step("destroy", delete.seconds, not errors, "; ".join(errors), {"existed": existed}))
    host = spawn.facts.get("host")
    on = f"{host}, through the OpenStack API" if host else "the lab, through the OpenStack API"
    return Lifecycle(on=on, steps=tuple(steps), image=choice.image, leftovers=leftovers)


# ------------------------------------------------------------------ what each step must show


def problems(lc: Lifecycle, name: str) -> list[str]:
    """What is wrong with step `name` of the server's life: [] when it showed what it must."""
    step, why = ran(lc, name)
    if step is None:
        return why
    out = []
    if name == "spawn":
        if step.facts.get("status") != "ACTIVE":
            out.append(f"the server is {step.facts.get('status') or 'gone'} after create, not ACTIVE")
        # OSC shows Nova's power state by name (openstackclient/compute/v2/server.py power_states).
        if step.facts.get("power_state") != "Running":
            out.append(f"Nova shows the server's power state {step.facts.get('power_state')!r}, not 'Running'")
    elif name == "console-log" and not step.facts.get("lines"):
        out.append("the server's console log is empty (nothing from the guest through Nova's get_console_output)")
    elif name == "destroy":
        out += leftover_problems(lc)
    return out
