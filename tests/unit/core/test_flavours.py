"""Flavour files are data: each names its kind, ISO, quirks and behaviour in plain HCL."""

import pytest

from tests.support import labs
from xenlab.core import config, flavours
from xenlab.errors import ConfigError


def test_every_flavour_file_loads(tmp_path):
    for name in config.available_flavours():
        fl = labs.load(tmp_path / name, name).flavour
        assert fl.name == name
        assert fl.kind in ("xenserver", "standin")
        assert fl.box_name == f"xenlab/{name}"


def test_standin_says_it_is_a_stand_in(tmp_path):
    fl = labs.load(tmp_path).flavour
    assert fl.standin
    assert "stand-in" in fl.product
    assert "XenServer" not in fl.product


@pytest.mark.parametrize("name, iso, sha256", [
    # Published on xcp-ng.org's download page (xcp-ng/xcp-ng-org index.html).
    ("xcp-ng-8.3", "xcp-ng-8.3.0-20250606.2.iso", "6f0717b0414df1a9184839473b9b7ef46a06f428bd3f1440c56b955ffbb3e649"),
    ("xcp-ng-8.2", "xcp-ng-8.2.1-20231130.iso", "108aa7144d1f5dd169a1b99ca70b510527136c549f2e3c3c1707b619e17ee1b6"),
])
def test_xcp_ng_isos_are_pinned_to_the_vendors_published_sha256(tmp_path, name, iso, sha256):
    fl = labs.load(tmp_path, name).flavour
    assert fl.iso_url == f"https://mirrors.xcp-ng.org/isos/{name[-3:]}/{iso}"
    assert fl.iso_checksum == f"sha256:{sha256}"


def test_behaviour_is_data_not_names(tmp_path):
    standin = labs.load(tmp_path / "s", "standin").flavour
    real = labs.load(tmp_path / "r", "xcp-ng-8.3").flavour
    assert (standin.standin, standin.needs_kvm, standin.packer_build) == (True, False, "standin")
    assert (real.standin, real.needs_kvm, real.packer_build) == (False, True, "xenserver")
    assert standin.devstack_box == "xenlab/standin-devstack" and standin.companion_boxes == ("standin-devstack",)
    assert real.devstack_box == "generic/ubuntu1804" and real.companion_boxes == ()
    assert "test_devstack_services.py" in real.devstack_suites
    assert "test_devstack_services.py" not in standin.devstack_suites
    # Both answer "can Nova boot an instance?": through Nova's driver in the probe, or the OpenStack API.
    assert "test_instance_driver.py" in standin.devstack_suites and standin.nova_probe
    assert "test_instance_server.py" in real.devstack_suites and not real.nova_probe
    assert standin.up_timeout_s < real.up_timeout_s


def test_unknown_flavour_settings_are_refused(tmp_path):
    bad = tmp_path / "bad.pkrvars.hcl"
    bad.write_text('flavour = "bad"\nproduct = "x"\nstandni = true\n')
    with pytest.raises(ConfigError, match="unknown setting 'standni'"):
        flavours.load_file(bad)


@pytest.mark.parametrize("line, why", [('needs_kvm = "yes"', "needs_kvm = 'yes' is not a bool"),
                                       ('up_timeout_s = "long"', "is not a int"),
                                       ('companion_boxes = "devstack"', "is not a list of strings")])
def test_flavour_settings_are_typed(tmp_path, line, why):
    bad = tmp_path / "bad.pkrvars.hcl"
    bad.write_text(f'flavour = "bad"\nproduct = "x"\n{line}\n')
    with pytest.raises(ConfigError, match=why):
        flavours.load_file(bad)


def test_packer_declares_only_what_its_templates_use_and_xenlab_sets_each(tmp_path):
    """packer/variables.pkr.hcl holds Packer's variables, not xenlab's flavour data: each
    is read by a template, and each without a default is set by the rendered var file,
    a build's -var or the secret's environment variable."""
    import re

    import hcl2

    from xenlab.core.paths import PACKER_DIR
    from xenlab.images import packer

    declared, required = set(), set()
    for path in PACKER_DIR.glob("*.pkr.hcl"):
        with path.open() as fh:
            for block in hcl2.load(fh).get("variable", []):
                for name, body in block.items():
                    declared.add(flavours.plain(name))
                    if "default" not in body:
                        required.add(flavours.plain(name))
    templates = "".join(p.read_text() for p in PACKER_DIR.glob("*.pkr.hcl") if p.name != "variables.pkr.hcl")
    assert declared == set(re.findall(r"\bvar\.([a-z_]+)", templates))
    for name in ("standin", "xcp-ng-8.3"):
        cfg = labs.load(tmp_path / name, name)
        assert required <= set(packer.variables(cfg)) | {"root_password"}, name
        assert set(packer.variables(cfg)) <= declared, name


def test_xenserver_71_needs_a_user_supplied_iso(tmp_path):
    fl = labs.load(tmp_path, "xenserver-7.1").flavour
    assert fl.iso_url == ""


def test_plain_strips_hcl_quotes_and_unescapes():
    assert flavours.plain('"a \\"b\\""') == 'a "b"'
    assert flavours.plain(['"x"', '"y"']) == ("x", "y")
    assert flavours.plain(60) == 60


def _boot_timing_problem(fl):
    """Why this flavour's boot line would be typed too late, or None."""
    if not fl.boot_command:
        return None
    if fl.autoboot_timeout_s <= 0 or not fl.autoboot_source.strip():
        return f"{fl.name} types a boot line but has no autoboot_timeout_s/autoboot_source"
    if fl.typing_starts_s >= fl.autoboot_timeout_s:
        return f"{fl.name} starts typing after {fl.typing_starts_s} s, its ISO autoboots after {fl.autoboot_timeout_s} s"
    return None


@pytest.mark.parametrize("fl", flavours.all_flavours(), ids=lambda f: f.name)
def test_boot_line_starts_before_the_installers_own_autoboot(fl):
    """isolinux boots its interactive default after TIMEOUT (xcp-ng/create-install-image
    templates/iso/*/boot/isolinux/isolinux.cfg: TIMEOUT 50 = 5 s): typing must start first."""
    assert _boot_timing_problem(fl) is None


@pytest.mark.parametrize("extra, problem", [
    ("", "has no autoboot_timeout_s"),
    ('autoboot_timeout_s = 5\n', "has no autoboot_timeout_s/autoboot_source"),
    ('autoboot_timeout_s = 5\nautoboot_source = "isolinux.cfg"\nboot_wait = "5s"\n', "after 5.0 s"),
])
def test_a_late_or_unsourced_boot_line_is_caught(tmp_path, extra, problem):
    bad = tmp_path / "bad.pkrvars.hcl"
    bad.write_text(f'flavour = "bad"\nproduct = "x"\nboot_command = ["install<enter>"]\n{extra}')
    assert problem in _boot_timing_problem(flavours.load_file(bad))


@pytest.mark.parametrize("wait, command, seconds", [
    ("3s", ["mboot.c32<enter>"], 3.0),
    ("5s", ["<wait5>mboot.c32"], 10.0),  # the old xcp-ng flavour: past isolinux's 5 s
    ("1s", ["<wait><wait2>", "<wait500ms>x"], 4.5),
    ("1m", [], 60.0),
    ("3s", ["x<wait10>"], 3.0),  # a wait after the first key does not delay typing
])
def test_typing_starts_after_boot_wait_and_the_leading_waits(tmp_path, wait, command, seconds):
    path = tmp_path / "f.pkrvars.hcl"
    items = ", ".join('"' + c + '"' for c in command)
    path.write_text(f'flavour = "f"\nproduct = "x"\nboot_wait = "{wait}"\nboot_command = [{items}]\n')
    assert flavours.load_file(path).typing_starts_s == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "3x", "s", "1m30", "3 s"])
def test_a_bad_duration_is_a_config_error(text):
    with pytest.raises(ConfigError, match="not a duration"):
        flavours.duration_s(text)
