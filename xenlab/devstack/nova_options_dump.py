"""Prints, as JSON, every option Nova 21 registers before nova-compute reads nova.conf:
its group, name, type (with the type's own parameters), default, and whether it is a
secret, repeatable (multi) or read from deprecated names too.

Run by `python -m xenlab.devstack.nova_options` under `python -S`, with the Nova probe
tree (xenlab/devstack/probe.py) as the only thing on sys.path besides the standard
library: Nova 21.2.4 with its own oslo.config. Usage: nova_options_dump.py TREE PACKAGE_ROOT
(the folder holding the xenlab package, whose nova_options.build_opt must rebuild every
option exactly: checked here, against Nova's own oslo.config).
"""

import inspect
import json
import sys
from importlib import metadata

# A default that Nova computes on the machine it runs on (its address, host name, install
# path) is shown by Nova as a sample: the table keeps the sample, never this machine's value.
_IP_VERSIONS = {"_check_ipv4": 4, "_check_ipv6": 6}


def registered_conf(tree: str):
    """nova.conf.CONF as nova-compute has it when it reads its files: nova/conf's modules
    register on import, nova/config.py parse_args adds oslo.log's (nova/cmd/compute.py)."""
    sys.path.insert(0, tree)
    import nova.conf
    from nova import config

    config.parse_args(["nova-compute"], default_config_files=[], configure_db=False, init_rpc=False)
    return nova.conf.CONF


def options(conf):
    """(group, opt) for every registered option; oslo.config keeps them in _opts and _groups."""
    for info in conf._opts.values():
        yield "DEFAULT", info["opt"]
    for name, group in conf._groups.items():
        for info in group._opts.values():
            yield name, info["opt"]


def nova_opts(conf):
    """(group, opt) of what Nova registered: all of conf's but those oslo.config registers itself."""
    from oslo_config import cfg

    bare = cfg.ConfigOpts()
    bare(args=[], default_config_files=[], default_config_dirs=[])
    own = {opt.name for _, opt in options(bare)}
    return [(group, opt) for group, opt in options(conf) if not (group == "DEFAULT" and opt.name in own)]


def encode_type(kind):
    if kind is str:
        return {"kind": "str"}
    if inspect.isfunction(kind):  # nova/conf/utils.py _dummy_opt: a removed option, any value reads as None
        if kind("x") is not None:
            raise SystemExit(f"unknown type function {kind!r}")
        return {"kind": "none"}
    spec = {"kind": type(kind).__name__}
    params = inspect.signature(type(kind).__init__).parameters
    for name, param in params.items():
        if name in ("self", "type_name"):
            continue
        if name == "version":  # IPAddress, HostAddress keep a checker, not the version
            checker = getattr(kind, "ip_address", kind).version_checker.__name__
            value = _IP_VERSIONS.get(checker)
        else:
            value = getattr(kind, name)
        if name in ("item_type", "value_type"):
            value = encode_type(value) if value is not None else None
        elif name == "choices" and value is not None:
            value = list(value)  # the values; their descriptions do not change a reading
        elif name == "regex" and value is not None:
            value = value.pattern
        # Left out when it is the default (String keeps max_length=0 for unset).
        if value != param.default and (name, value) != ("max_length", 0):
            spec[name] = value
    return spec


def encode_opt(opt):
    spec = {"type": encode_type(opt.type), "default": opt.default}
    computed = opt.sample_default is not None and opt.default is not None and opt.sample_default != opt.default
    if computed:
        spec.update(default=opt.sample_default, computed=True)
    for flag in ("multi", "secret", "required"):
        if getattr(opt, flag):
            spec[flag] = True
    deprecated = [[d.group, d.name] for d in opt.deprecated_opts]  # None: the option's own group or name
    if deprecated:
        spec["deprecated"] = deprecated
    return spec


def main(tree: str, package_root: str) -> None:
    opts = nova_opts(registered_conf(tree))
    table: dict = {}
    for group, opt in opts:
        table.setdefault(group, {})[opt.name] = encode_opt(opt)

    sys.path.insert(1, package_root)
    from xenlab.devstack.nova_options import build_opt

    for group, opt in opts:
        rebuilt = build_opt(opt.name, table[group][opt.name])
        same_type = opt.type == rebuilt.type or (inspect.isfunction(opt.type) and rebuilt.type("x") is None)
        same = same_type and (rebuilt.multi, rebuilt.secret, rebuilt.required, rebuilt.deprecated_opts) == \
            (opt.multi, opt.secret, opt.required, opt.deprecated_opts)
        if not same:
            raise SystemExit(f"[{group}] {opt.name}: the table does not rebuild Nova's option ({opt.type!r})")
    versions = {name: metadata.version(name) for name in ("nova", "oslo.config", "oslo.log")}
    json.dump({"generated_from": versions, "options": table}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(*sys.argv[1:3])
