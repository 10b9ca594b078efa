"""Differential fuzz: check-config's verdict on generated nova.conf files is Nova's.

The reference is Nova itself: Nova 21.2.4 from the probe tree, with its own oslo.config
and every option nova-compute has registered when it reads nova.conf (the very Option
objects), in a process of its own (tests/support/nova_oracle.py), applying the checks of
nova/virt/xenapi/driver.py read straight off. The generated files mix what a hand-written
parser gets wrong: section names with other case or spaces, `:` for `=`, quotes,
continuation lines, inline `#`, invalid booleans, repeated keys, lines before any section,
and `$` references to Nova's own options (`$my_ip`, `${my_ip}`, `$host`, `${xenserver.x}`,
a bool, a list, an option left unset, one whose own value is bad, one that is no option).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.nova_oracle import NovaOracle
from tests.support.prereq import missing
from xenlab.devstack import probe, restrictions

SECTIONS = ["[DEFAULT]", "[xenserver]", "[XenServer]", "[ xenserver]", "[xenserver ]", "[default]",
            "[XENSERVER]", "[other]", "[xenserver", "[]", "[libvirt]"]
KEYS = ["compute_driver", "independent_compute", "check_host", "flat_injected", "default_ephemeral_format",
        "connection_url", "connection_password", "Check_Host", "other",
        # options others refer to: Nova's (netconf.py, compute.py, paths.py) and oslo.log's
        "my_ip", "host", "state_path", "use_cow_images", "debug", "log_dir", "enabled_apis"]
SEPARATORS = ["=", " = ", ":", " : ", "= ", " =", "=:"]
VALUES = ["True", "False", "true", "FALSE", "yes", "no", "on", "off", "1", "0", "y", "n", "2", "None", "",
          '"True"', "'False'", '"False', "xenapi.XenAPIDriver", "XenAPI.XenAPIDriver", "libvirt.LibvirtDriver",
          "$flag", "$$x", "${xenserver.connection_url}", "$connection_url", "ext3", "ext4", '"ext3"',
          "http://10.0.0.1", "False # c", "pw",
          "$my_ip", "${my_ip}", "http://$my_ip", "http://${my_ip}", "$host", "http://$host", "$state_path",
          "${DEFAULT.my_ip}", "$use_cow_images", "$debug", "$log_dir", "$enabled_apis", "$my_block_storage_ip",
          "$instances_path", "$check_host", "${xenserver.check_host}", "$independent_compute", "$My_ip",
          "$nosuch", "http://$nosuch", "${libvirt.virt_type}", "$xenserver", "$$my_ip", "\\$my_ip"]

line = st.one_of(
    st.sampled_from(SECTIONS),
    st.tuples(st.sampled_from(KEYS), st.sampled_from(SEPARATORS), st.sampled_from(VALUES)).map("".join),
    st.sampled_from(["  False", "\tTrue", "# check_host = True", "; x", "", "   "]),
)
nova_conf = st.lists(line, min_size=1, max_size=14).map(lambda lines: "\n".join(lines) + "\n")
# Files that are mostly right, so the rules themselves are reached often.
based = st.tuples(st.just("[DEFAULT]\ncompute_driver = xenapi.XenAPIDriver\n[xenserver]\n"
                          "connection_url = http://10.0.0.1\nconnection_password = pw\n"
                          "independent_compute = True\ncheck_host = False\n"), nova_conf).map("".join)


@pytest.fixture(scope="module")
def nova():
    if not os.access(probe.GUEST_PYTHON, os.X_OK):
        missing(f"{probe.GUEST_PYTHON} (Debian's python3, which the probe tree is built for)")
    oracle = NovaOracle(probe.ensure_tree(), python=probe.GUEST_PYTHON)
    yield oracle
    oracle.close()


def test_the_oracle_is_nova_and_reads_the_issue_s_file_as_nova_does(nova):
    issue = ("[DEFAULT]\ncompute_driver = xenapi.XenAPIDriver\nmy_ip = 192.168.57.11\n[xenserver]\n"
             "independent_compute = True\ncheck_host = False\nconnection_password = Secret-1\n"
             "connection_url = http://{}\n")
    for ref in ("$my_ip", "${my_ip}", "$host"):
        assert nova.ask(issue.format(ref)) == set() == {f.option for f in restrictions.check_text("n", issue.format(ref))}
    assert nova.ask(issue.format("$nosuch")) == {"connection_url"}
    assert nova.ask("[DEFAULT]\n[xenserver\n") == {""}


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(nova_conf, based))
def test_check_config_agrees_with_nova_s_own_parse(tmp_path, nova, text):
    path = tmp_path / "nova.conf"
    path.write_text(text)
    mine = {f.option for f in restrictions.check_file(path)}
    assert mine == nova.ask(text), text
