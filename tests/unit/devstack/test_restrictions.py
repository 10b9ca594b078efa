import pytest

from xenlab.devstack import restrictions
from xenlab.errors import ChecksFailed, ConfigError

GOOD_NOVA = """[DEFAULT]
compute_driver = xenapi.XenAPIDriver
[xenserver]
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
    text = "[DEFAULT]\ndefault_ephemeral_format = ext3\n[xenserver]\nindependent_compute=True\n"
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
