"""Differential fuzz: check-config's verdict on generated nova.conf files is Nova's.

The reference is oslo.config used the way Nova uses it, set up here on its own:
Nova 21.2.4's definitions of the judged options, a real file on disk, and the
checks of nova/virt/xenapi/driver.py (XenAPIDriver.__init__ and init_host) read
straight off. The generated files mix what a hand-written parser gets wrong:
section names with other case or spaces, `:` for `=`, quotes, continuation lines,
inline `#`, `$` substitution, invalid booleans, repeated keys, lines before any
section.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oslo_config import cfg

from xenlab.devstack import restrictions

SECTIONS = ["[DEFAULT]", "[xenserver]", "[XenServer]", "[ xenserver]", "[xenserver ]", "[default]",
            "[XENSERVER]", "[other]", "[xenserver", "[]"]
KEYS = ["compute_driver", "independent_compute", "check_host", "flat_injected", "default_ephemeral_format",
        "connection_url", "connection_password", "Check_Host", "other"]
SEPARATORS = ["=", " = ", ":", " : ", "= ", " =", "=:"]
VALUES = ["True", "False", "true", "FALSE", "yes", "no", "on", "off", "1", "0", "y", "n", "2", "None", "",
          '"True"', "'False'", '"False', "xenapi.XenAPIDriver", "XenAPI.XenAPIDriver", "libvirt.LibvirtDriver",
          "$flag", "$$x", "${xenserver.connection_url}", "$connection_url", "ext3", "ext4", '"ext3"',
          "http://10.0.0.1", "False # c", "pw"]

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


def nova_verdict(path) -> set[str]:
    """The options Nova would refuse to start over; {""} when it cannot parse the file."""
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt("compute_driver"), cfg.StrOpt("default_ephemeral_format"),
                        cfg.BoolOpt("flat_injected", default=False)])
    conf.register_opts([cfg.StrOpt("connection_url"), cfg.StrOpt("connection_username", default="root"),
                        cfg.StrOpt("connection_password", secret=True), cfg.BoolOpt("check_host", default=True),
                        cfg.BoolOpt("independent_compute", default=False)], group="xenserver")
    try:
        conf(args=[], default_config_files=[str(path)], default_config_dirs=[], use_env=False)
    except cfg.ConfigFileParseError:
        return {""}
    bad: set[str] = set()

    def read(name, group=None):
        try:
            return conf[name] if group is None else conf[group][name]
        except (cfg.Error, ValueError, RecursionError):
            bad.add(name)
            return ...

    driver = read("compute_driver")
    if isinstance(driver, str) and "xenapi" not in driver.lower():
        return bad  # another driver: not a XenAPI compute node
    url, password = read("connection_url", "xenserver"), read("connection_password", "xenserver")
    if not url:
        bad.add("connection_url")
    if password is None:
        bad.add("connection_password")
    independent = read("independent_compute", "xenserver")
    if independent is False:
        bad.add("independent_compute")
    if read("check_host", "xenserver") is True:
        bad.add("check_host")
    if read("flat_injected") is True:
        bad.add("flat_injected")
    fmt = read("default_ephemeral_format")
    if isinstance(fmt, str) and fmt and fmt != "ext3":
        bad.add("default_ephemeral_format")
    return bad


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(nova_conf, based))
def test_check_config_agrees_with_nova_s_own_parse(tmp_path, text):
    path = tmp_path / "nova.conf"
    path.write_text(text)
    mine = {f.option for f in restrictions.check_file(path)}
    assert mine == nova_verdict(path), text
