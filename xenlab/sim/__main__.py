"""`python3 -m xenlab.sim --bind ADDR --port N --user root --password-file FILE --plugin-dir DIR
[--management-ip IP] [--pool-size N]`: serve the simulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import json
import sys

from .api import Api
from .server import BANNER, make_server, serve_until_stopped


def parse(argv):
    p = argparse.ArgumentParser(prog="python3 -m xenlab.sim", description=BANNER.strip())
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; the stand-in uses 80)")
    p.add_argument("--user", default="root", help="the one user that may log in (default root)")
    p.add_argument("--password-file", required=True, help="file holding the password (first line)")
    p.add_argument("--plugin-dir", required=True, help="where dom0 plugins are installed (e.g. /etc/xapi.d/plugins)")
    p.add_argument("--management-ip", help="the host's management IP in its records (default: --bind, or 127.0.0.1)")
    p.add_argument("--pool-size", type=int, default=1, help="hosts in the simulated pool (default 1)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)
    if not 1 <= args.pool_size <= 1024:
        p.error("--pool-size must be between 1 and 1024")
    return args


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        with open(args.password_file) as fh:
            password = fh.readline().rstrip("\n")
    except OSError as exc:
        print(f"xenlab-sim: cannot read --password-file {args.password_file}: {exc.strerror}", file=sys.stderr)
        return 2
    if not password:
        print(f"xenlab-sim: --password-file {args.password_file} is empty", file=sys.stderr)
        return 2
    management_ip = args.management_ip or (args.bind if args.bind not in ("0.0.0.0", "") else "127.0.0.1")
    api = Api(args.user, password, args.plugin_dir, management_ip, args.pool_size)
    try:
        server = make_server(api, args.bind, args.port, verbose=args.verbose)
    except OSError as exc:
        print(f"xenlab-sim: cannot listen on {args.bind}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 3
    host, port = server.server_address[:2]
    print(f"{BANNER.strip()} listening on http://{host}:{port}/ "
          f"(management IP {management_ip}, {args.pool_size} host(s), plugins in {args.plugin_dir})", flush=True)
    serve_until_stopped(server)
    # One line of call counts per method, for benchmarks and curious users.
    print(f"xenlab-sim: stopped after {api.total_calls()} XenAPI calls: "
          f"{json.dumps(dict(sorted(api.calls.items())))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
