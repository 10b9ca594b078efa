"""xe's server side against the real xe's behaviour (xapi-project/xen-api v26.1.4,
ocaml/xapi-cli-server/: each test names the file that shows the behaviour)."""

import pytest

from xenlab.sim import xe_server as cli
from xenlab.sim.api import Api
from xenlab.sim.machine import Nic, Simulated

INVENTORY = {"INSTALLATION_UUID": "11111111-1111-4111-8111-111111111111",
             "CONTROL_DOMAIN_UUID": "22222222-2222-4222-8222-222222222222"}
HOST = INVENTORY["INSTALLATION_UUID"]
USAGE = "For usage run: 'xe help'\n"


@pytest.fixture
def api(tmp_path):
    machine = Simulated([Nic("eth0", "52:54:00:00:00:01"), Nic("eth1", "52:54:00:00:00:02")])
    a = Api("root", "pw", tmp_path, machine=machine, state_db=tmp_path / "state.db", inventory=INVENTORY)
    a.cli_ignored_log = tmp_path / "ignored.log"
    return a


def xe(api, *argv, code=0, log=True):
    result = cli.run(api, list(argv), log_ignored=log)
    assert result.code == code, (argv, result)
    return result


# ------------------------------------------------------------------ parsing (cli_frontend.ml)


def test_parameters_are_name_value_and_flags_are_true():
    assert cli.parse_params(["a=b", "c=d=e", "--minimal", "--force", "f="]) == [
        ("a", "b"), ("c", "d=e"), ("minimal", "true"), ("force", "true"), ("f", "")]
    assert cli.parse_params(["-u", "root", "-pw", "x"]) == [("username", "root"), ("password", "x")]


@pytest.mark.parametrize("argv", [["pif-list", "-x", "y"], ["pif-list", "-u"], ["uuid=x"]])
def test_any_parse_error_is_syntax_error_with_empty_text(api, argv):
    # parse_commandline re-raises every failure as ParseError "" (Backtrace.reraise)
    assert xe(api, *argv, code=1).stderr == "Syntax error: \n" + USAGE


def test_unknown_command(api):
    # xapi_cli.ml exception_handler: Unknown_command -> param_error "Unknown command"
    assert xe(api, "vm-frob", code=1).stderr == "Unknown command: vm-frob\n" + USAGE


def test_missing_required_parameter(api):
    # xapi_cli.ml check_required_keys -> ParamNotFound
    assert xe(api, "pif-reconfigure-ip", "uuid=x", code=1).stderr == "Required parameter not found: mode\n" + USAGE
    assert xe(api, "pif-param-get", code=1).stderr == "Required parameter not found: uuid\n" + USAGE


# ------------------------------------------------------------------ printing (cli_printer.ml)


def test_records_are_padded_to_the_longest_name_plus_four(api):
    out = xe(api, "host-list").stdout
    assert out == (f"uuid ( RO)                : {HOST}\n"
                   "          name-label ( RW): xenlab-sim-0\n"
                   "    name-description ( RW): xenlab XenAPI simulator (a stand-in, not XenServer)\n\n\n")


def test_minimal_prints_the_first_field_of_each_record_comma_joined(api):
    xe(api, "pif-scan", f"host-uuid={HOST}")
    uuids = xe(api, "pif-list", "params=uuid", "--minimal").stdout.strip().split(",")
    assert len(uuids) == 2 and all(len(u) == 36 for u in uuids)
    assert xe(api, "pif-list", "device=eth9", "--minimal").stdout == "\n"  # nothing: an empty line
    # params keep the record's own order: --minimal gives uuid, not device
    assert xe(api, "pif-list", "params=device,uuid", "--minimal", "device=eth0").stdout.strip() in uuids


def test_minimal_escapes_commas_and_backslashes():
    out = cli.Output(minimal=True)
    out.table([[("name-label ( RW)", "a,b\\c")], [("name-label ( RW)", "d")]])
    out.flush()
    assert out.out == ["a\\,b\\\\c,d\n"]


def test_params_all_shows_every_field_and_expensive_ones_are_stubbed_in_lists(api):
    listing = xe(api, "host-list", "params=all").stdout
    assert "memory-free-computed ( RO): <expensive field>" in listing
    params = xe(api, "host-param-list", f"uuid={HOST}").stdout
    assert "memory-free-computed ( RO): <expensive field>" not in params and "memory-free-computed ( RO): " in params


def test_param_get_with_and_without_key(api):
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=software-version",
              "param-key=product_version_text_short").stdout == "8.3\n"
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=enabled").stdout == "true\n"
    pool = xe(api, "pool-list", "--minimal").stdout.strip()
    # an unset reference prints <not in database> (records.ml nid)
    assert xe(api, "pool-param-get", f"uuid={pool}", "param-name=default-SR").stdout == "<not in database>\n"


# ------------------------------------------------------------------ errors (xapi_cli.ml, cli_util.ml)


def test_an_unknown_list_filter_is_the_internal_error_of_failure(api):
    # cli_operations.ml get_field_type: Failure "Unknown field 'foo'"
    assert xe(api, "host-list", "foo=bar", code=1).stderr == (
        "The server failed to handle your request, due to an internal error. The given message may give "
        "details useful for debugging the problem.\nmessage: Failure: Unknown field 'foo'\n")
    # no records, no field to check: the filter is not even evaluated (filter_records_on_fields)
    assert xe(api, "pif-list", "foo=bar").stdout == ""


def test_api_errors_print_their_doc_and_parameters(api):
    assert xe(api, "pif-param-get", "uuid=nope", "param-name=IP", code=1).stderr == (
        "The uuid you supplied was invalid.\ntype: PIF\nuuid: nope\n")


def test_a_field_xe_does_not_know_is_the_undocumented_missing_parameter(api):
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=nope", code=1).stderr == (
        "Error code: Missing parameter\nError parameters: nope\n")


def test_bad_enum_and_map_key_errors(api):
    xe(api, "pif-scan", f"host-uuid={HOST}")
    pif = xe(api, "pif-list", "device=eth0", "--minimal").stdout.strip()
    assert xe(api, "pif-reconfigure-ip", f"uuid={pif}", "mode=dynamic", code=1).stderr == (
        "Error: Expected one of 'None', 'DHCP', 'Static', got dynamic\n")
    assert "message: Failure: Key nope not found in map" in xe(
        api, "host-param-get", f"uuid={HOST}", "param-name=software-version", "param-key=nope", code=1).stderr


def test_read_only_fields_cannot_be_set(api):
    assert "message: Failure: Field 'hostname' is read-only." in xe(
        api, "host-param-set", f"uuid={HOST}", "hostname=x", code=1).stderr


# ------------------------------------------------------------------ what first boot does with it


def test_network_init_and_storage_init_through_xe(api):
    """scripts/network-init and xcp-ng/sm scripts/storage-init, command for command."""
    xe(api, "pif-scan", f"host-uuid={HOST}")
    pif = xe(api, "pif-list", f"host-uuid={HOST}", "device=eth1", "params=uuid", "--minimal").stdout.strip()
    xe(api, "pif-reconfigure-ip", f"uuid={pif}", "mode=static", "IP=192.168.57.10", "netmask=255.255.255.0",
       "gateway=", "DNS=192.168.57.1")
    xe(api, "host-management-reconfigure", f"pif-uuid={pif}")
    xe(api, "pif-plug", f"uuid={pif}")
    xe(api, "pool-sync-database")
    assert xe(api, "pif-list", "management=true", "--minimal").stdout.strip() == pif
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=address").stdout == "192.168.57.10\n"
    xe(api, "host-set-hostname-live", f"host-uuid={HOST}", "host-name=lab-xen")
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=hostname").stdout == "lab-xen\n"
    assert xe(api, "sm-list", "type=ext", "--minimal").stdout.strip()
    sr = xe(api, "sr-create", "name-label=Local storage", "type=ext", "content-type=user",
            f"host-uuid={HOST}", "device-config:device=/dev/sdb").stdout.strip()
    xe(api, "sr-param-set", f"uuid={sr}", "other-config:i18n-key=local-storage")
    assert xe(api, "sr-list", "type=ext", "params=uuid", "--minimal").stdout.strip() == sr
    pool = xe(api, "pool-list", "--minimal").stdout.strip()
    xe(api, "pool-param-set", f"uuid={pool}", f"default-SR={sr}")
    xe(api, "host-param-set", f"uuid={HOST}", f"crash-dump-sr-uuid={sr}", f"suspend-image-sr-uuid={sr}")
    assert xe(api, "pool-param-get", f"uuid={pool}", "param-name=default-SR").stdout.strip() == sr
    assert xe(api, "sr-param-get", f"uuid={sr}", "param-name=other-config", "param-key=i18n-key").stdout == (
        "local-storage\n")
    assert not (api.cli_ignored_log.exists() and api.cli_ignored_log.read_text())


def test_ignored_parameters_are_logged_not_refused(api):
    pool = xe(api, "pool-list", "--minimal").stdout.strip()
    assert xe(api, "pool-param-get", f"uuid={pool}", "param-name=uuid", "bogus=1").stdout.strip() == pool
    xe(api, "pool-sync-database", "force=true", "really=yes")
    lines = [line.split(" ", 1)[1] for line in api.cli_ignored_log.read_text().splitlines()]
    assert lines == ["pool-param-get bogus", "pool-sync-database really"]


def test_help_names_a_commands_parameters(api):
    out = xe(api, "help", "pif-reconfigure-ip").stdout
    assert "reqd params     : uuid, mode" in out and "optional params : IP, netmask, gateway, DNS" in out
    assert xe(api, "help", "nope").stdout == "Unknown command 'nope'\n"


def test_storage_inits_host_commands_and_event_wait(api):
    """xcp-ng/sm scripts/storage-init: event-wait, host-disable, local caching, host-enable."""
    xe(api, "event-wait", "class=host", f"uuid={HOST}", "enabled=true")  # already true: returns at once
    xe(api, "host-disable", f"uuid={HOST}")
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=enabled").stdout == "false\n"
    sr = xe(api, "sr-create", "name-label=Local storage", "type=ext", "device-config:device=/dev/sdb").stdout.strip()
    xe(api, "host-enable-local-storage-caching", f"uuid={HOST}", f"sr-uuid={sr}")
    xe(api, "host-enable", f"uuid={HOST}")
    assert xe(api, "host-param-get", f"uuid={HOST}", "param-name=local-cache-sr").stdout.strip() == sr
    assert "message: Failure: No matching hosts found" in xe(api, "host-enable", "uuid=nope", code=1).stderr
    assert "message: Failure: key missing: nope" in xe(api, "event-wait", "class=host", "nope=1", code=1).stderr


def test_event_wait_waits_for_the_condition_with_the_simulator_free(api, monkeypatch):
    import threading

    monkeypatch.setattr(cli, "EVENT_WAIT_POLL", 0.05)
    xe(api, "host-disable", f"uuid={HOST}")
    flip = threading.Timer(0.3, lambda: xe(api, "host-enable", f"uuid={HOST}", log=False))
    flip.start()
    xe(api, "event-wait", "class=host", f"uuid={HOST}", "enabled=true")
    flip.join()
    assert xe(api, "event-wait", "class=host", "enabled=/=false").code == 0


def test_pif_reconfigure_ipv6(api):
    xe(api, "pif-scan", f"host-uuid={HOST}")
    pif = xe(api, "pif-list", "device=eth0", "--minimal").stdout.strip()
    xe(api, "pif-reconfigure-ipv6", f"uuid={pif}", "mode=none")
    xe(api, "pif-reconfigure-ipv6", f"uuid={pif}", "mode=static", "IPv6=fd00::10/64")
    assert xe(api, "pif-param-get", f"uuid={pif}", "param-name=IPv6").stdout == "fd00::10/64\n"
    assert "Expected one of" in xe(api, "pif-reconfigure-ipv6", f"uuid={pif}", "mode=x", code=1).stderr


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = st.sampled_from(["pif-list", "host-param-get", "sr-create", "pool-param-set", "uuid=", "param-name=",
                         "--minimal", "-u", "params=all", "device-config:device=/x", "mode=static", "help",
                         "host-set-hostname-live", "host-name=", "event-wait", "class=host", "=", "-", "--"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(WORDS, st.text(max_size=20), WORDS.flatmap(
    lambda w: st.text(max_size=8).map(lambda t: w + t))), max_size=6))
def test_any_command_line_ends_in_an_answer_and_an_exit_code(api, monkeypatch, argv):
    monkeypatch.setattr(cli, "EVENT_WAIT_TIMEOUT", 0.0)  # never wait in a fuzz run
    result = cli.run(api, argv)
    assert result.code in (0, 1)
    assert result.code == 0 or result.stderr.endswith("\n")


def test_pif_other_config_keys_are_set_and_read_as_xe_does(api):
    """`pif-param-set uuid=<pif> other-config:defaultroute=true` (records.ml pif_record:
    other-config is a read/write map through PIF.add_to_other_config; cli_operations.ml
    get_field_type splits `map:key` at the first colon)."""
    xe(api, "pif-scan", f"host-uuid={HOST}")
    pif = xe(api, "pif-list", "device=eth0", "--minimal").stdout.strip()
    xe(api, "pif-param-set", f"uuid={pif}", "other-config:defaultroute=true", "other-config:peerdns=true")
    assert xe(api, "pif-param-get", f"uuid={pif}", "param-name=other-config", "param-key=defaultroute").stdout == (
        "true\n")
    assert xe(api, "pif-param-get", f"uuid={pif}", "param-name=other-config").stdout == (
        "defaultroute: true; peerdns: true\n")
    # Setting it again replaces the value; a filter on the key finds the PIF.
    xe(api, "pif-param-set", f"uuid={pif}", "other-config:defaultroute=true")
    assert xe(api, "pif-list", "other-config:defaultroute=true", "--minimal").stdout.strip() == pif
    assert "Unknown field 'other:defaultroute'" in xe(api, "pif-param-set", f"uuid={pif}",
                                                       "other:defaultroute=true", code=1).stderr
    assert not (api.cli_ignored_log.exists() and api.cli_ignored_log.read_text())
