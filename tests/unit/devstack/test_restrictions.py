import os

import pytest

from xenlab.devstack import restrictions
from xenlab.errors import ChecksFailed, ConfigError

GOOD_NOVA = """[DEFAULT]
compute_driver = xenapi.XenAPIDriver
[xenserver]
connection_url = http://192.168.57.10
connection_password = pw
independent_compute = True
check_host = False
"""


def options(findings):
    return sorted(f.option for f in findings)


def test_good_nova_conf_has_no_findings():
    assert restrictions.check_text("nova.conf", GOOD_NOVA) == []


def test_every_restriction_is_reported_with_file_section_option_why():
    text = GOOD_NOVA.replace("check_host = False", "check_host = yes") + \
        "[DEFAULT]\nflat_injected = true\ndefault_ephemeral_format = ext4\n"
    findings = restrictions.check_text("n.conf", text)
    assert options(findings) == ["check_host", "default_ephemeral_format", "flat_injected"]
    f = next(f for f in findings if f.option == "default_ephemeral_format")
    assert (f.file, f.section, f.value) == ("n.conf", "DEFAULT", "ext4") and "ext3" in f.why


def test_check_host_defaults_to_true_and_ext3_is_fine():
    text = "[DEFAULT]\ndefault_ephemeral_format = ext3\n[xenserver]\nindependent_compute=True\n" \
           "connection_url=http://x\nconnection_password=pw\n"
    assert options(restrictions.check_text("n", text)) == ["check_host"]


def test_non_xenapi_nova_conf_is_not_judged():
    assert restrictions.check_text("n", "[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n") == []


LOCAL = """[[local|localrc]]
ADMIN_PASSWORD=a
DATABASE_PASSWORD=a
RABBIT_PASSWORD=a
SERVICE_PASSWORD=a
VIRT_DRIVER=xenserver
XENAPI_CONNECTION_URL=http://10.0.0.1
XENAPI_PASSWORD='x y'
IMAGE_URLS=http://x/cirros-0.3.5-x86_64-uec.tar.gz
[[post-config|$NOVA_CONF]]
[xenserver]
independent_compute=True
  check_host=False
"""


def test_local_conf_findings():
    findings = restrictions.check_text("local.conf", LOCAL)
    # check_host=False is indented, so stack.sh drops it: Nova's default True stays.
    assert options(findings) == ["IMAGE_URLS", "XENAPI_PASSWORD", "check_host"]
    url = LOCAL.replace("http://10.0.0.1", "http://10.0.0.1:80/")
    assert "XENAPI_CONNECTION_URL" in options(restrictions.check_text("l", url))


def test_report_exit_codes(tmp_path, capsys):
    good, bad = tmp_path / "good.conf", tmp_path / "bad.conf"
    good.write_text(GOOD_NOVA)
    bad.write_text(GOOD_NOVA + "[DEFAULT]\nflat_injected=True\n")
    restrictions.report([str(good)])
    with pytest.raises(ChecksFailed) as exc:
        restrictions.report([str(good), str(bad)])
    assert exc.value.exit_code == 1
    assert f"{bad}: [DEFAULT] flat_injected = True:" in capsys.readouterr().out
    with pytest.raises(ConfigError):
        restrictions.report([str(tmp_path / "missing")])


# What the hand-written parser got wrong (issue 12), now read by oslo.config as Nova does.
@pytest.mark.parametrize("xen_lines, flagged", [
    ('check_host = "True"', ["check_host"]),  # oslo strips the quotes: True
    ("check_host: True", ["check_host"]),  # oslo takes `:` for `=`
    ("check_host = y", ["check_host"]),  # not a bool: Nova refuses to start
    ("check_host = 2", ["check_host"]),
    ("check_host = None", ["check_host"]),
    ("check_host = False # no", ["check_host"]),  # no inline comments in oslo.config
    ("check_host =\n  False", ["check_host"]),  # a continuation line: "\nFalse" is no bool
    ("check_host = off", []),
    ("check_host = FALSE", []),
    ("check_host = 'False'", []),
])
def test_values_get_nova_s_reading(xen_lines, flagged):
    text = GOOD_NOVA.replace("check_host = False", xen_lines)
    assert options(restrictions.check_text("n", text)) == flagged


def test_an_unreadable_value_is_a_finding_that_says_nova_does_not_start():
    (f,) = restrictions.check_text("n", GOOD_NOVA.replace("check_host = False", "check_host = y"))
    assert (f.section, f.option, f.value) == ("xenserver", "check_host", "y")
    assert "Unexpected boolean value 'y'" in f.why and "does not start" in f.why


def test_section_names_match_as_oslo_config_matches_them():
    # [XenServer] is oslo's xenserver; [ xenserver] is a section of its own, so Nova's defaults stay.
    assert restrictions.check_text("n", GOOD_NOVA.replace("[xenserver]", "[XenServer]")) == []
    spaced = options(restrictions.check_text("n", GOOD_NOVA.replace("[xenserver]", "[ xenserver]")))
    assert spaced == ["check_host", "connection_password", "connection_url", "independent_compute"]
    # DEFAULT is only DEFAULT: [default] is another section.
    assert options(restrictions.check_text("n", GOOD_NOVA + "[default]\nflat_injected = True\n")) == []


def test_substitution_is_nova_s():
    flagged = restrictions.check_text("n", GOOD_NOVA.replace("xenapi.XenAPIDriver", "$flag"))
    assert options(flagged) == ["compute_driver"] and "$$" in flagged[0].why
    via = GOOD_NOVA + "[DEFAULT]\ndefault_ephemeral_format = ${xenserver.connection_url}\n"
    assert [f.value for f in restrictions.check_text("n", via)] == ["${xenserver.connection_url}"]
    assert restrictions.check_text("n", GOOD_NOVA.replace("= pw", "= p$$w")) == []


def test_a_password_nova_cannot_read_is_flagged_but_never_shown():
    (f,) = restrictions.check_text("n", GOOD_NOVA.replace("= pw", "= se$cret"))
    assert (f.option, f.value) == ("connection_password", "(hidden)")
    assert "se$cret" not in f.line() and "cret" not in f.line()


def test_a_file_oslo_config_cannot_parse_is_one_finding():
    (f,) = restrictions.check_text("n", "check_host = False\n" + GOOD_NOVA)
    assert f.option == "" and "Section must be started before assignment" in f.why
    assert f.line().startswith("n: oslo.config cannot parse it") and "/proc" not in f.line()


def test_post_config_body_is_read_by_oslo_config_on_top_of_devstack_s_own_lines():
    quoted = LOCAL.replace("  check_host=False", 'check_host="False"').replace("'x y'", "xy").replace(
        "IMAGE_URLS=http://x/cirros-0.3.5-x86_64-uec.tar.gz", "")
    assert restrictions.check_text("local.conf", quoted) == []
    invalid = options(restrictions.check_text("local.conf", quoted.replace('check_host="False"', "check_host=y")))
    assert invalid == ["check_host"]
    # DevStack's plugin writes flat_injected=False first; the body may override it.
    assert options(restrictions.check_text("local.conf", quoted + "[DEFAULT]\nflat_injected=True\n")) == [
        "flat_injected"]


def test_a_dollar_in_the_xenapi_password_is_flagged_for_devstack():
    text = LOCAL.replace("'x y'", "'a$b'")
    f = next(f for f in restrictions.check_text("l", text) if f.option == "XENAPI_PASSWORD")
    assert f.value == "(hidden)" and "`$`" in f.why


@pytest.mark.parametrize("make, why", [
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: p.write_bytes(b"[DEFAULT]\ncompute_driver = \xff\n"), "not UTF-8 text"),
    (lambda p: p.write_bytes(b"#" * (restrictions.MAX_BYTES + 1)), "larger than"),
])
def test_files_that_are_not_regular_bounded_text_are_refused_at_once(tmp_path, make, why):
    path = tmp_path / "nova.conf"
    make(path)
    with pytest.raises(ConfigError, match=why):
        restrictions.check_file(path)


def test_a_device_is_never_read():
    with pytest.raises(ConfigError, match="not a regular file"):
        restrictions.check_file("/dev/zero")


ISSUE_20 = """[DEFAULT]
compute_driver = xenapi.XenAPIDriver
my_ip = 192.168.57.11
[xenserver]
independent_compute = True
check_host = False
connection_password = Secret-1
connection_url = http://{}
"""


@pytest.mark.parametrize("ref", ["$my_ip", "${my_ip}", "$host", "$my_block_storage_ip"])
def test_references_to_nova_s_own_options_resolve_as_nova_resolves_them(ref):
    """issue 20: `$my_ip` and `$host` (nova/conf/netconf.py) were read as unknown, though
    DevStack itself writes such references and Nova reads http://192.168.57.11."""
    assert restrictions.check_text("n.conf", ISSUE_20.format(ref)) == []


def test_a_reference_to_no_option_or_to_a_bad_value_is_still_nova_s_refusal():
    for ref in ("$nosuch", "${DEFAULT.host}"):  # oslo.config knows no group called DEFAULT
        (finding,) = restrictions.check_text("n.conf", ISSUE_20.format(ref))
        assert finding.option == "connection_url" and "Nova cannot read it" in finding.why
    bad_bool = ISSUE_20.format("x").replace("check_host = False", "check_host = $use_cow_images") + \
        "[DEFAULT]\nuse_cow_images = maybe\n"
    assert [f.option for f in restrictions.check_text("n.conf", bad_bool)] == ["check_host"]
    # An option left unset gives its default: use_cow_images is True, so check_host reads True.
    on = ISSUE_20.format("x").replace("check_host = False", "check_host = $use_cow_images")
    assert [f.option for f in restrictions.check_text("n.conf", on)] == ["check_host"]


def test_a_secret_option_s_value_is_hidden_as_nova_marks_it(tmp_path):
    text = ISSUE_20.format("x").replace("connection_password = Secret-1", "connection_password = Secret-$x")
    (finding,) = restrictions.check_text("n.conf", text)
    assert finding.option == "connection_password" and finding.value == "(hidden)" and "Secret" not in finding.line()


def test_a_reference_to_an_option_set_by_its_deprecated_name_reads_quietly(tmp_path):
    """Nova reads `logdir` as log-dir (and logs that it is deprecated): no finding, and no
    line from oslo.config's logger on check-config's stderr (in a process of its own:
    pytest's log capture would hide logging's last-resort handler)."""
    import subprocess
    import sys

    path = tmp_path / "n.conf"
    path.write_text(ISSUE_20.format("$log_dir") + "[DEFAULT]\nlogdir = xs1\n")
    done = subprocess.run([sys.executable, "-c", "import sys; from xenlab.devstack import restrictions; "
                           "print(restrictions.check_file(sys.argv[1]))", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
