"""What dom0 holds while guests run, none of which outlives the simulator: xenstore
(what xenopsd writes for each domain), the network devices (the bridges XAPI makes for
networks, the vifD.N backends of running VIFs, Linux bridges, veth pairs and Open
vSwitch ports that plugins add), and each domain's console log.

No guest runs on the stand-in: a domain is a domid, its xenstore and a console log
that says so. The plugins (plugins.py) run their commands against this model, with the
output and errors the real tools give.
"""

from __future__ import annotations

from dataclasses import dataclass, field


MAX_CONSOLES = 64  # console logs kept (xenconsoled's files are rotated on a host; these are bounded)


class CommandFailed(Exception):
    """A dom0 command exited non-zero: its stderr (what utils.run_command raises with)."""

    def __init__(self, stderr: str, code: int = 1):
        super().__init__(stderr)
        self.stderr, self.code = stderr, code


@dataclass
class Link:
    name: str
    kind: str  # "bridge" (Linux), "ovs-bridge", "veth", "vif", "ovs-port", "internal"
    up: bool = False
    promisc: bool = False
    master: str = ""  # the bridge this device is a port of
    peer: str = ""  # a veth's other end
    external_ids: dict = field(default_factory=dict)
    index: int = 0


class Dom0:
    """One host's dom0 state."""

    def __init__(self):
        self.xenstore: dict[str, str] = {}
        self.links: dict[str, Link] = {}
        self.consoles: dict[int, str] = {}
        self._next_index = 10

    # ------------------------------------------------------------ xenstore

    def xs_write(self, path: str, value: str) -> None:
        self.xenstore[path.rstrip("/")] = value

    def xs_read(self, path: str) -> str:
        path = path.rstrip("/")
        if path not in self.xenstore:
            if any(k.startswith(path + "/") for k in self.xenstore):
                return ""
            raise CommandFailed(f"xenstore-read: couldn't read path {path}\n")
        return self.xenstore[path]

    def xs_exists(self, path: str) -> bool:
        path = path.rstrip("/")
        return path in self.xenstore or any(k.startswith(path + "/") for k in self.xenstore)

    def xs_rm(self, path: str) -> None:
        path = path.rstrip("/")
        if not self.xs_exists(path):
            raise CommandFailed(f"xenstore-rm: could not remove path {path}\n")
        for key in [k for k in self.xenstore if k == path or k.startswith(path + "/")]:
            del self.xenstore[key]

    def xs_ls(self, path: str) -> str:
        """xenstore-ls output: `name = "value"`, children indented one space per level."""
        path = path.rstrip("/")
        if not self.xs_exists(path):
            raise CommandFailed(f"xenstore-ls: xs_directory ({path}): No such file or directory\n")
        nodes: dict[str, str] = {}
        for key, value in self.xenstore.items():
            if key.startswith(path + "/"):
                parts = key[len(path) + 1:].split("/")
                for depth in range(1, len(parts)):
                    nodes.setdefault("/".join(parts[:depth]), "")
                nodes["/".join(parts)] = value
        lines = []
        for name in sorted(nodes):
            depth = name.count("/")
            lines.append(f"{' ' * depth}{name.rsplit('/', 1)[-1]} = \"{nodes[name]}\"")
        return "\n".join(lines) + ("\n" if lines else "")

    def domain_built(self, domid: int, vm: dict) -> None:
        """xenopsd: the domain's xenstore, its vm-data from VM.xenstore_data, its name."""
        base = f"/local/domain/{domid}"
        self.xs_write(f"{base}/name", vm.get("name_label", ""))
        self.xs_write(f"{base}/domid", str(domid))
        self.xs_write(f"{base}/vm", f"/vm/{vm.get('uuid', '')}")
        for key, value in vm.get("xenstore_data", {}).items():
            self.xs_write(f"{base}/{key}", value)
        for old in sorted(self.consoles)[:-MAX_CONSOLES + 1] if len(self.consoles) >= MAX_CONSOLES else []:
            del self.consoles[old]

    def domain_destroyed(self, domid: int) -> None:
        base = f"/local/domain/{domid}"
        for key in [k for k in self.xenstore if k == base or k.startswith(base + "/")]:
            del self.xenstore[key]
        for name in [n for n, link in self.links.items() if link.kind == "vif" and n.startswith(f"vif{domid}.")]:
            self._remove(name)

    # ------------------------------------------------------------ links

    def _add(self, name: str, kind: str, **kw) -> Link:
        self._next_index += 1
        link = Link(name, kind, index=self._next_index, **kw)
        self.links[name] = link
        return link

    def _remove(self, name: str) -> None:
        link = self.links.pop(name, None)
        if link and link.peer in self.links:
            self.links.pop(link.peer)
        for other in self.links.values():
            if other.master == name:
                other.master = ""

    def ensure_bridge(self, name: str) -> None:
        """The bridge of a network, made when a device first attaches to it (xapi_network.ml attach)."""
        if name and name not in self.links:
            self._add(name, "ovs-bridge", up=True)

    def vif_plugged(self, domid: int, device: str, bridge: str, mac: str) -> None:
        self.ensure_bridge(bridge)
        self._add(f"vif{domid}.{device}", "vif", up=True, master=bridge, external_ids={"attached-mac": mac})

    def vif_unplugged(self, domid: int, device: str) -> None:
        self._remove(f"vif{domid}.{device}")

    def ip(self, argv: list[str]) -> str:
        """`ip link show|add|delete|set` as iproute2 answers them."""
        if argv[:2] == ["link", "show"] and len(argv) == 3:
            link = self._need(argv[2], "ip")
            flags = "BROADCAST,MULTICAST" + (",PROMISC" if link.promisc else "") + (",UP,LOWER_UP" if link.up else "")
            master = f" master {link.master}" if link.master else ""
            return (f"{link.index}: {link.name}: <{flags}> mtu 1500 qdisc noqueue{master} state "
                    f"{'UP' if link.up else 'DOWN'} mode DEFAULT group default qlen 1000\n"
                    f"    link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff\n")
        if argv[:2] == ["link", "add"] and len(argv) == 7 and argv[3:6] == ["type", "veth", "peer"] \
                or argv[:2] == ["link", "add"] and len(argv) == 8 and argv[3:7] == ["type", "veth", "peer", "name"]:
            first, second = argv[2], argv[-1]
            for name in (first, second):
                if name in self.links:
                    raise CommandFailed("RTNETLINK answers: File exists\n", 2)
            self._add(first, "veth", peer=second)
            self._add(second, "veth", peer=first)
            return ""
        if argv[:2] == ["link", "delete"] and len(argv) == 3:
            self._need(argv[2], "ip")
            self._remove(argv[2])
            return ""
        if argv[:2] == ["link", "set"] and len(argv) in (4, 5):
            link = self._need(argv[2], "ip")
            if argv[3] in ("up", "down") and len(argv) == 4:
                link.up = argv[3] == "up"
                return ""
            if argv[3] == "promisc" and len(argv) == 5 and argv[4] in ("on", "off"):
                link.promisc = argv[4] == "on"
                return ""
        raise CommandFailed(f"Command line is not complete. Try option \"help\"\n", 255)

    def _need(self, name: str, tool: str) -> Link:
        if name not in self.links:
            if tool == "ip":
                raise CommandFailed(f"Device \"{name}\" does not exist.\n")
            raise CommandFailed(f"{tool}: {name} does not exist\n")
        return self.links[name]

    def brctl(self, argv: list[str]) -> str:
        """bridge-utils' brctl addbr|delbr|addif|delif|setfd|stp."""
        cmd, args = argv[0], argv[1:]
        if cmd == "addbr" and len(args) == 1:
            if args[0] in self.links:
                raise CommandFailed(f"device {args[0]} already exists; can't create bridge with the same name\n")
            self._add(args[0], "bridge")
            return ""
        if cmd == "delbr" and len(args) == 1:
            link = self.links.get(args[0])
            if link is None or link.kind != "bridge":
                raise CommandFailed(f"bridge {args[0]} doesn't exist; can't delete it\n")
            if link.up:
                raise CommandFailed(f"bridge {args[0]} is still up; can't delete it\n")
            self._remove(args[0])
            return ""
        if cmd in ("addif", "delif") and len(args) == 2:
            bridge = self.links.get(args[0])
            if bridge is None or bridge.kind != "bridge":
                raise CommandFailed(f"bridge {args[0]} does not exist!\n")
            port = self._need(args[1], "brctl")
            if cmd == "addif":
                if port.master:
                    raise CommandFailed(f"device {args[1]} is already a member of a bridge; can't enslave it "
                                        f"to bridge {args[0]}.\n")
                port.master = args[0]
            else:
                if port.master != args[0]:
                    raise CommandFailed(f"device {args[1]} is not a slave of {args[0]}\n")
                port.master = ""
            return ""
        if cmd in ("setfd", "stp") and len(args) == 2:
            self._need(args[0], "brctl")
            return ""
        raise CommandFailed("Usage: brctl [commands]\n")

    def ovs_vsctl(self, argv: list[str]) -> str:
        """ovs-vsctl's commands, `--` separated, with --if-exists / --may-exist."""
        out = []
        for command in _split_commands(argv):
            out.append(self._ovs_one(command))
        return "".join(out)

    def _ovs_one(self, command: list[str]) -> str:
        opts = [c for c in command if c.startswith("--")]
        args = [c for c in command if not c.startswith("--")]
        if not args:
            return ""
        verb, rest = args[0], args[1:]
        if verb == "add-br" and len(rest) == 1:
            if rest[0] in self.links:
                if "--may-exist" in opts:
                    return ""
                raise CommandFailed(f"ovs-vsctl: cannot create a bridge named {rest[0]} because a bridge named "
                                    f"{rest[0]} already exists\n")
            self._add(rest[0], "ovs-bridge", up=True)
            return ""
        if verb == "del-br" and len(rest) == 1:
            link = self.links.get(rest[0])
            if link is None or link.kind != "ovs-bridge":
                if "--if-exists" in opts:
                    return ""
                raise CommandFailed(f"ovs-vsctl: no bridge named {rest[0]}\n")
            for name in [n for n, other in self.links.items() if other.master == rest[0] and other.kind == "ovs-port"]:
                self._remove(name)
            self._remove(rest[0])
            return ""
        if verb == "list-br":
            return "".join(f"{n}\n" for n, link in sorted(self.links.items()) if link.kind == "ovs-bridge")
        if verb == "add-port" and len(rest) >= 2:
            bridge, port = rest[0], rest[1]
            if bridge not in self.links or self.links[bridge].kind != "ovs-bridge":
                raise CommandFailed(f"ovs-vsctl: no bridge named {bridge}\n")
            if port in self.links and self.links[port].master:
                if "--may-exist" in opts:
                    return ""
                raise CommandFailed(f"ovs-vsctl: cannot create a port named {port} because a port named {port} "
                                    f"already exists on bridge {self.links[port].master}\n")
            if port in self.links:
                self.links[port].master = bridge
            else:
                self._add(port, "ovs-port", up=True, master=bridge)
            return ""
        if verb == "del-port" and rest:
            port = rest[-1]
            link = self.links.get(port)
            if link is None or not link.master or (len(rest) == 2 and link.master != rest[0]):
                if "--if-exists" in opts:
                    return ""
                raise CommandFailed(f"ovs-vsctl: no port named {port}\n")
            if link.kind == "ovs-port":
                self._remove(port)
            else:
                link.master = ""
            return ""
        if verb == "set" and len(rest) >= 3 and rest[0].lower() == "interface":
            link = self.links.get(rest[1])
            if link is None:
                raise CommandFailed(f"ovs-vsctl: no row \"{rest[1]}\" in table Interface\n")
            for setting in rest[2:]:
                key, _, value = setting.partition("=")
                link.external_ids[key] = value
            return ""
        raise CommandFailed(f"ovs-vsctl: unknown command '{verb}'; use --help for help\n")

    def command(self, argv: list[str]) -> str:
        """A network command as dom0 runs it (netwrap.py, xenhost.py network_config)."""
        if not argv:
            raise CommandFailed("no command\n")
        tool, rest = argv[0], argv[1:]
        if tool == "ip":
            return self.ip(rest)
        if tool == "brctl":
            return self.brctl(rest)
        if tool == "ovs-vsctl":
            return self.ovs_vsctl(rest)
        raise CommandFailed(f"{tool}: command not found on the xenlab stand-in's dom0\n", 127)


def _split_commands(argv: list[str]) -> list[list[str]]:
    """ovs-vsctl's `--` separated command list (global options before the first)."""
    out, current = [], []
    for word in argv:
        if word == "--":
            if current:
                out.append(current)
            current = []
        else:
            current.append(word)
    if current:
        out.append(current)
    return out
