"""Nova's own verdict on nova.conf texts, as a process: run under `python3 -S` with the Nova
probe tree (Nova 21.2.4, its own oslo.config), it registers the options nova-compute has
when it reads nova.conf (the very Option objects, nova_options_dump.registered_conf), reads
each text with oslo.config and applies the checks of nova/virt/xenapi/driver.py
(XenAPIDriver.__init__ and init_host) read straight off.

Protocol: one JSON string (a file's text) per line on stdin; one JSON list per line on
stdout, the options Nova would refuse to start over ([""] when it cannot parse the file).
Usage: nova_oracle.py TREE PROJECT_ROOT. Started by NovaOracle below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def verdict(conf_class, cfg, opts, text: str, path: str) -> list[str]:
    with open(path, "w") as fh:
        fh.write(text)
    conf = conf_class()
    for group, opt in opts:
        conf.register_opt(opt, group=None if group == "DEFAULT" else group)
    try:
        conf(args=[], default_config_files=[path], default_config_dirs=[], use_env=False)
    except cfg.ConfigFileParseError:
        return [""]
    bad: set[str] = set()

    def read(name, group=None):
        try:
            return conf[name] if group is None else conf[group][name]
        except (cfg.Error, ValueError, RecursionError):
            bad.add(name)
            return ...

    driver = read("compute_driver")
    if isinstance(driver, str) and "xenapi" not in driver.lower():
        return sorted(bad)  # another driver: not a XenAPI compute node
    url, password = read("connection_url", "xenserver"), read("connection_password", "xenserver")
    if not url:
        bad.add("connection_url")
    if password is None:
        bad.add("connection_password")
    if read("independent_compute", "xenserver") is False:
        bad.add("independent_compute")
    if read("check_host", "xenserver") is True:
        bad.add("check_host")
    if read("flat_injected") is True:
        bad.add("flat_injected")
    fmt = read("default_ephemeral_format")
    if isinstance(fmt, str) and fmt and fmt != "ext3":
        bad.add("default_ephemeral_format")
    return sorted(bad)


def main(tree: str, project: str) -> None:
    sys.path[:0] = [tree, project]
    from xenlab.devstack.nova_options_dump import nova_opts, registered_conf
    from oslo_config import cfg

    opts = nova_opts(registered_conf(tree))
    with tempfile.TemporaryDirectory() as tmp:
        for line in sys.stdin:
            result = verdict(cfg.ConfigOpts, cfg, opts, json.loads(line), os.path.join(tmp, "nova.conf"))
            print(json.dumps(result), flush=True)


class NovaOracle:
    """The oracle process, asked one text at a time (bounded: each answer within `timeout`)."""

    def __init__(self, tree: Path, python: str = "/usr/bin/python3", timeout: float = 60):
        project = Path(__file__).resolve().parents[2]
        self.timeout = timeout
        self.proc = subprocess.Popen([python, "-S", __file__, str(tree), str(project)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin", "LC_ALL":
                                     "C.UTF-8", "HOME": "/nonexistent"})

    def ask(self, text: str) -> set[str]:
        import select

        self.proc.stdin.write(json.dumps(text) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the Nova oracle gave no answer (exit {self.proc.poll()})")
        return set(json.loads(line))

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    main(*sys.argv[1:3])
