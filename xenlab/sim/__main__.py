"""`python3 -m xenlab.sim`: serve the simulator until SIGTERM/SIGINT. Options: see
the package docstring (xenlab/sim/__init__.py) or `--help`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import options
from .api import Api
from .machine import Simulated, ThisMachine
from .server import BANNER, make_server, make_unix_server, serve_until_stopped
from .statedb import StateError, read_inventory

PROG = "xenlab-sim"
DEFAULT_INVENTORY = "/etc/xensource-inventory"


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, exit 2 (argparse would print the usage first)."""
        self.exit(2, f"{PROG}: {message}\n")


def _checked(check):
    def convert(text):
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = check.__name__
    return convert


def parse(argv):
    p = Parser(prog="python3 -m xenlab.sim", description=BANNER.strip())
    p.add_argument("--bind", default="127.0.0.1", type=_checked(options.ipv4),
                   help="IPv4 address to listen on (default 127.0.0.1; the stand-in uses 0.0.0.0)")
    p.add_argument("--port", type=_checked(options.port), default=8080,
                   help="TCP port (default 8080; the stand-in uses 80)")
    p.add_argument("--user", default="root", help="the one user that may log in over TCP (default root)")
    p.add_argument("--password-file", required=True, help="file holding the password (first line)")
    p.add_argument("--plugin-dir", required=True, help="where dom0 plugins are installed (e.g. /etc/xapi.d/plugins)")
    p.add_argument("--management-ip", type=_checked(options.ipv4),
                   help="the host's management IP in its records (default: --bind, or 127.0.0.1; "
                        "with --state-db: none until a management PIF is configured)")
    p.add_argument("--pool-size", type=_checked(options.pool_size), default=1,
                   help="hosts in the seeded pool (default 1; not with --state-db)")
    p.add_argument("--state-db", type=Path, help="the object store on disk, loaded at start and saved after "
                   "every change (absent: a fresh first-boot database), as XAPI's /var/lib/xcp/state.db")
    p.add_argument("--inventory", type=Path, help=f"with --state-db: INSTALLATION_UUID and CONTROL_DOMAIN_UUID "
                   f"for a fresh database (default {DEFAULT_INVENTORY})")
    p.add_argument("--cli-socket", type=Path, help="serve XenAPI and xe on this Unix socket as local root "
                   "(XAPI's is /var/lib/xcp/xapi)")
    p.add_argument("--cli-ignored-log", type=Path, help="append every parameter an xe command ignored to this file")
    p.add_argument("--init-complete-cookie", type=Path, help="create this file once serving, remove it on stop "
                   "(XAPI's /var/run/xapi_init_complete.cookie)")
    p.add_argument("--guest", action="store_true", help="this machine is the host: scan its NICs, set its "
                   "addresses, hostname and SR directories")
    p.add_argument("--guest-root", type=Path, help="with --guest: act on this directory instead of / and log "
                   "the commands instead of running them (tests)")
    p.add_argument("--sr-root", type=Path, help="without --guest: where file SRs keep their VHD files, one "
                   "directory per SR (default: a temporary directory, removed when the simulator stops)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)
    if args.guest_root and not args.guest:
        p.error("--guest-root needs --guest")
    if args.sr_root and args.guest:
        p.error("--sr-root is for a simulated host; with --guest the SRs are under /var/run/sr-mount")
    if args.state_db and args.pool_size != 1:
        p.error("--pool-size is for the seeded pool, not with --state-db")
    return args


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return 2


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        with open(args.password_file) as fh:
            password = fh.readline().rstrip("\n")
    except OSError as exc:
        return _fail(f"cannot read --password-file {args.password_file}: {exc.strerror}")
    if not password:
        return _fail(f"--password-file {args.password_file} is empty")
    inventory = {}
    if args.state_db:
        path = args.inventory or Path(DEFAULT_INVENTORY)
        try:
            inventory = read_inventory(path)
        except StateError as exc:
            if not args.state_db.exists() or args.inventory:
                return _fail(str(exc))
    if args.state_db:
        management_ip = args.management_ip
    else:
        management_ip = args.management_ip or (args.bind if args.bind != "0.0.0.0" else "127.0.0.1")
    machine = ThisMachine(args.guest_root or Path("/")) if args.guest else Simulated(sr_root=args.sr_root)
    try:
        api = Api(args.user, password, args.plugin_dir, management_ip, args.pool_size, machine=machine,
                  state_db=args.state_db, inventory=inventory)
    except StateError as exc:
        return _fail(str(exc))
    api.cli_ignored_log = args.cli_ignored_log
    try:
        servers = [make_server(api, args.bind, args.port, verbose=args.verbose)]
    except OSError as exc:
        print(f"{PROG}: cannot listen on {args.bind}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 3
    if args.cli_socket:
        try:
            servers.append(make_unix_server(api, args.cli_socket, verbose=args.verbose))
        except OSError as exc:
            servers[0].server_close()
            print(f"{PROG}: cannot listen on {args.cli_socket}: {exc.strerror}", file=sys.stderr)
            return 3
    host, port = servers[0].server_address[:2]
    hosts = len(api.store.classes.get("host", {}))
    print(f"{BANNER.strip()} listening on http://{host}:{port}/ "
          f"(management IP {api.store.record('host', api.refs['host']).get('address') or 'none yet'}, "
          f"{hosts} host(s), plugins in {args.plugin_dir}"
          + (f", xe on {args.cli_socket}" if args.cli_socket else "")
          + (f", state in {args.state_db}" if args.state_db else "") + ")", flush=True)
    if args.init_complete_cookie:
        args.init_complete_cookie.parent.mkdir(parents=True, exist_ok=True)
        args.init_complete_cookie.touch()
    try:
        serve_until_stopped(*servers)
    finally:
        if args.init_complete_cookie:
            args.init_complete_cookie.unlink(missing_ok=True)
        api.persist()
    # One line of call counts per method, for benchmarks and curious users.
    print(f"{PROG}: stopped after {api.total_calls()} XenAPI calls: "
          f"{json.dumps(dict(sorted(api.calls.items())))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
