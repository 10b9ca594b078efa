"""The table of Nova's options: generated from Nova 21.2.4's own definitions (the probe
tree), committed, and rebuilt into oslo.config options for check-config."""

from __future__ import annotations

import os

import pytest
from oslo_config import cfg, types

from tests.support.prereq import missing
from xenlab.devstack import nova_options, probe


@pytest.fixture(scope="module")
def tree():
    if not os.access(probe.GUEST_PYTHON, os.X_OK):
        missing(f"{probe.GUEST_PYTHON} (Debian's python3, which the probe tree is built for)")
    return probe.ensure_tree()  # builds it once from PyPI (root namespace), else the cached one


def test_the_committed_table_is_what_nova_s_definitions_generate(tree):
    generated = nova_options.generate(tree)
    assert generated == nova_options.TABLE.read_text(), \
        "nova_options.json is stale: run `python -m xenlab.devstack.nova_options` and commit it"


def test_the_table_has_the_options_the_issue_names_with_nova_s_types():
    options = nova_options.table()["options"]
    assert nova_options.table()["generated_from"]["nova"] == "21.2.4"
    assert sum(len(group) for group in options.values()) > 600
    # nova/conf/netconf.py: my_ip and host are StrOpts whose defaults Nova computes on its host.
    assert options["DEFAULT"]["my_ip"] == {"computed": True, "default": "<host_ipv4>",
                                           "type": {"kind": "String", "quotes": None}}
    assert options["DEFAULT"]["host"]["default"] == "<current_hostname>"
    assert options["xenserver"]["check_host"] == {"default": True, "type": {"kind": "Boolean"}}
    assert ("xenserver", "connection_password") in nova_options.secrets()


def test_every_option_registers_and_reads_its_default():
    conf = cfg.ConfigOpts()
    nova_options.register(conf)
    conf(args=[], default_config_files=[], default_config_dirs=[], use_env=False)
    assert conf.my_ip == "<host_ipv4>" and conf.xenserver.independent_compute is False
    assert conf.instances_path == "<Path>/instances"  # $state_path -> $pybasedir, substituted as Nova does
    assert conf.libvirt.rx_queue_size is None and conf.xenserver.vhd_coalesce_max_attempts == 20


def test_types_are_rebuilt_with_their_parameters():
    spec = {"kind": "List", "item_type": {"kind": "String", "choices": ["a", "b"]}, "bounds": True}
    assert nova_options.build_type(spec) == types.List(types.String(choices=["a", "b"]), bounds=True)
    assert nova_options.build_type({"kind": "Integer", "min": 0}) == types.Integer(min=0)
    assert nova_options.build_type({"kind": "none"})("anything") is None  # Nova's removed options
    opt = nova_options.build_opt("x", {"default": None, "multi": True, "type": {"kind": "MultiString"},
                                       "deprecated": [[None, "old-x"], ["DEFAULT", None]]})
    assert isinstance(opt, cfg.MultiOpt) and [(d.group, d.name) for d in opt.deprecated_opts] == \
        [(None, "old-x"), ("DEFAULT", None)]
