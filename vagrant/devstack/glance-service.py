"""Glance 20.2.0 (Ussuri) from xenlab's install tree: the stand-in devstack machine's
image service, standing where DevStack's g-api would (stack.sh cannot run there).

    /usr/bin/python3 -S glance-service.py --tree TREE db-sync --state-dir DIR --bind HOST --port PORT
    /usr/bin/python3 -S glance-service.py --tree TREE api     --state-dir DIR --bind HOST --port PORT
    /usr/bin/python3 -S glance-service.py --tree TREE upload  --endpoint URL --file IMAGE --name NAME
        --disk-format F --container-format F --visibility V [--property K=V ...] --record JSON [--wait S]

TREE is the `pip install --target` tree xenlab builds on the host
(xenlab/devstack/probe.py); nothing else on the machine is imported. db-sync and api
first write DIR/glance-api.conf (and the policy file it names) from their arguments,
then do what DevStack's init_glance and start_glance do: `glance-manage db_sync`, then
glance-api (eventlet, one process). SQLite and the file store live in DIR. No Keystone:
the paste pipeline without "keystone" (glance-api-paste.ini [pipeline:glance-api]) is
Glance's noauth, which gives every request an admin context.

upload does what DevStack's upload_image does for a .vhd.tgz (devstack functions,
ussuri-eol: `openstack image create NAME --public --container-format ovf --disk-format vhd
[--property vm_mode=xen] < FILE`) through the v2 API with Nova's own glance client, and
idempotently: an active image of that name with these bytes and attributes is kept,
other images of that name (an interrupted upload, an older file) are deleted. It writes
JSON (id, name, formats, properties, checksum, size, endpoint) to the record file.

One line naming what failed, exit 1; bad arguments, exit 2.
"""

import argparse
import hashlib
import json
import os
import site
import sys
import tempfile
import time
import urllib.error
import urllib.request

# Under noauth every caller gets Glance's admin context (glance/api/middleware/context.py
# UnauthenticatedContextMiddleware: is_admin, no roles), but the default rule for public
# images is role:admin (glance/policies/image.py publicize_image), which no role can then
# meet: DevStack's images are public, so the lab's Glance lets any (i.e. the lab) publicize.
POLICY = {"publicize_image": ""}


def render_conf(tree, state_dir, bind, port):
    """glance-api.conf: what DevStack's lib/glance (ussuri-eol) sets, for one machine without
    Keystone, a message bus or a database server."""
    paste = os.path.join(tree, "etc", "glance", "glance-api-paste.ini")
    return "\n".join([
        "# Rendered by glance-service.py (xenlab) from its arguments: edits are overwritten.",
        "[DEFAULT]",
        f"bind_host = {bind}",
        f"bind_port = {port}",
        # One process: a single-process server, as glance/common/wsgi.py runs workers = 0.
        "workers = 0",
        "use_stderr = true",
        f"image_cache_dir = {os.path.join(state_dir, 'cache')}/",
        "",
        "[image_format]",
        # DevStack's for VIRT_DRIVER=xenserver (lib/glance configure_glance).
        "container_formats = ami,ari,aki,bare,ovf,tgz",
        "disk_formats = ami,ari,aki,vhd,raw,iso",
        "",
        "[database]",
        f"connection = sqlite:///{os.path.join(state_dir, 'glance.sqlite')}",
        "",
        "[glance_store]",
        f"filesystem_store_datadir = {os.path.join(state_dir, 'images')}/",
        "",
        "[oslo_concurrency]",
        f"lock_path = {os.path.join(state_dir, 'locks')}",
        "",
        "[paste_deploy]",
        # No flavor: the unauthenticated pipeline (DevStack: keystone+cachemanagement).
        f"config_file = {paste}",
        "",
        "[oslo_policy]",
        f"policy_file = {os.path.join(state_dir, 'policy.json')}",
        "",
        "[oslo_messaging_notifications]",
        # No message bus on this machine: notifications go nowhere, and oslo.messaging's
        # in-process driver stands for the transport (rabbit's would need an AMQP library).
        "driver = noop",
        "transport_url = fake:/",
        "",
    ])


def fail(message, code=1):
    sys.stderr.write(f"glance-service: {message}\n")
    sys.exit(code)


def write(path, text):
    """Atomically, and only when it changes."""
    try:
        with open(path) as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def prepare(args):
    for sub in ("", "images", "locks", "cache"):
        os.makedirs(os.path.join(args.state_dir, sub), exist_ok=True)
    write(os.path.join(args.state_dir, "policy.json"), json.dumps(POLICY) + "\n")
    conf = os.path.join(args.state_dir, "glance-api.conf")
    write(conf, render_conf(args.tree, args.state_dir, args.bind, args.port))
    return conf


def use_tree(tree):
    # addsitedir, not sys.path: the tree's .pth files (setuptools' distutils shim) must run.
    site.addsitedir(tree)
    sys.path.remove(tree)
    sys.path.insert(0, tree)


def db_sync(args):
    """What `glance-manage db_sync` runs (glance/cmd/manage.py DbCommands.sync). Not its
    CLI: Glance 20's add_command_parsers adds the legacy parsers once per command, which
    Python 3.11's argparse refuses ("conflicting subparser: db_version")."""
    conf = prepare(args)
    use_tree(args.tree)
    from oslo_config import cfg
    from oslo_log import log as logging

    from glance.cmd import manage
    from glance.common import config

    logging.register_options(cfg.CONF)
    config.parse_args(args=["--config-file", conf])
    config.set_config_defaults()
    logging.setup(cfg.CONF, "glance")
    manage.DbCommands().sync()


def api(args):
    conf = prepare(args)
    use_tree(args.tree)
    sys.argv = ["glance-api", "--config-file", conf]
    from glance.cmd.api import main

    main()


def wait_for(endpoint, limit):
    """Until the API answers (it may still be starting), bounded."""
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/versions", timeout=10) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() >= deadline:
                fail(f"no answer from Glance at {endpoint} within {limit:.0f} s ({exc})")
        time.sleep(2)


def matches(image, args, checksum, properties):
    wanted = {"status": "active", "checksum": checksum, "disk_format": args.disk_format,
              "container_format": args.container_format, "visibility": args.visibility, **properties}
    return all(image.get(k) == v for k, v in wanted.items())


def upload(args):
    properties = dict(p.split("=", 1) for p in args.property)
    try:
        with open(args.file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        fail(f"cannot read {args.file}: {exc.strerror}")
    checksum = hashlib.md5(data).hexdigest()  # what Glance records as the image's checksum
    wait_for(args.endpoint, args.wait)
    use_tree(args.tree)
    from glanceclient import client, exc

    glance = client.Client("2", endpoint=args.endpoint)
    try:
        found = list(glance.images.list(filters={"name": args.name}))
        keep = next((i for i in found if matches(i, args, checksum, properties)), None)
        for image in found:
            if image is not keep:
                glance.images.delete(image["id"])
        action = "already there"
        if keep is None:
            keep = glance.images.create(name=args.name, disk_format=args.disk_format,
                                        container_format=args.container_format, visibility=args.visibility,
                                        **properties)
            with open(args.file, "rb") as fh:
                glance.images.upload(keep["id"], fh, image_size=len(data))
            keep = glance.images.get(keep["id"])
            action = "uploaded"
    except (exc.BaseException, exc.ClientException) as error:
        fail(f"Glance at {args.endpoint} refused the image: {error}")
    if not matches(keep, args, checksum, properties):
        fail(f"Glance holds image {keep['id']} as {keep.get('status')} with checksum {keep.get('checksum')}, "
             f"not active with {checksum}")
    record = {"id": keep["id"], "name": args.name, "file": os.path.basename(args.file),
              "disk_format": args.disk_format, "container_format": args.container_format,
              "visibility": args.visibility, "properties": properties, "checksum": checksum,
              "size": len(data), "endpoint": args.endpoint}
    os.makedirs(os.path.dirname(os.path.abspath(args.record)), exist_ok=True)
    write(args.record, json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"glance-service: image {args.name} ({keep['id']}) {action} at {args.endpoint}")


def parse(argv):
    p = argparse.ArgumentParser(prog="glance-service", description=__doc__.splitlines()[0])
    p.add_argument("--tree", required=True, help="the pip --target tree with Glance")
    sub = p.add_subparsers(dest="command", required=True)
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--state-dir", required=True, help="config, SQLite database and file store")
    server.add_argument("--bind", required=True, help="the address the API listens on")
    server.add_argument("--port", type=int, required=True)
    sub.add_parser("db-sync", parents=[server], help="create or upgrade the database")
    sub.add_parser("api", parents=[server], help="serve the API")
    up = sub.add_parser("upload", help="upload an image the way DevStack's upload_image does, once")
    up.add_argument("--endpoint", required=True)
    up.add_argument("--file", required=True)
    up.add_argument("--name", required=True)
    up.add_argument("--disk-format", required=True)
    up.add_argument("--container-format", required=True)
    up.add_argument("--visibility", required=True)
    up.add_argument("--property", action="append", default=[], metavar="KEY=VALUE")
    up.add_argument("--record", required=True, help="where to write the image's JSON record")
    up.add_argument("--wait", type=float, default=300, help="seconds to wait for the API to answer")
    args = p.parse_args(argv)
    args.tree = os.path.abspath(args.tree)
    if not os.path.isdir(os.path.join(args.tree, "glance")):
        p.exit(2, f"glance-service: --tree {args.tree} holds no Glance\n")
    if args.command == "upload":
        if any("=" not in prop for prop in args.property):
            p.exit(2, "glance-service: --property takes KEY=VALUE\n")
        if not 0 < args.wait <= 3600:
            p.exit(2, "glance-service: --wait must be from 1 to 3600 seconds\n")
    elif not 0 < args.port < 65536:
        p.exit(2, f"glance-service: --port {args.port} is not a TCP port\n")
    else:
        args.state_dir = os.path.abspath(args.state_dir)
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    {"db-sync": db_sync, "api": api, "upload": upload}[args.command](args)


if __name__ == "__main__":
    main()
