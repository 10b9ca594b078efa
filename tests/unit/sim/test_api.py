from xenlab.sim.api import Api


def api(tmp_path):
    return Api("root", "pw", tmp_path, "127.0.0.1", 2)


def test_envelopes_sessions_and_counts(tmp_path):
    a = api(tmp_path)
    bad = a.dispatch("session.login_with_password", ("root", "no"))
    assert bad == {"Status": "Failure", "ErrorDescription": ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]}
    s = a.dispatch("session.login_with_password", ("root", "pw", "2.1", "t"))["Value"]
    assert s.startswith("OpaqueRef:")
    assert a.dispatch("host.get_all", (s,))["Value"].__len__() == 2
    assert a.dispatch("host.get_all", ("OpaqueRef:x",))["ErrorDescription"] == ["SESSION_INVALID", "OpaqueRef:x"]
    assert a.dispatch("nothing", (s,))["ErrorDescription"] == ["MESSAGE_METHOD_UNKNOWN", "nothing"]
    assert a.dispatch("session.logout", (s,))["Status"] == "Success"
    assert a.dispatch("host.get_all", (s,))["ErrorDescription"][0] == "SESSION_INVALID"
    assert a.total_calls() == 7 and a.calls["host.get_all"] == 3
    a.reset_counts()
    assert a.total_calls() == 0


def test_int64_go_out_as_strings(tmp_path):
    a = api(tmp_path)
    s = a.dispatch("session.login_with_password", ("root", "pw"))["Value"]
    a.store.record("host", a.refs["host"])["memory_overhead"] = 12
    assert a.dispatch("host.get_memory_overhead", (s, a.refs["host"]))["Value"] == "12"


# ------------------------------------------------------------------ XAPI's order and shapes

import pytest  # noqa: E402

from xenlab.sim import messages  # noqa: E402


@pytest.fixture
def logged(tmp_path):
    a = api(tmp_path)
    return a, a.dispatch("session.login_with_password", ("root", "pw", "2.1", "t"))["Value"]


def errors(a, method, *params):
    answer = a.dispatch(method, params)
    assert answer["Status"] == "Failure", answer
    return answer["ErrorDescription"]


@pytest.mark.parametrize("method, args, code", [
    ("VM.get_record", (["a", "b"],), "Failure(\"Expected string, got '[S(a);S(b)]'\")"),
    ("VM.get_record", ({"k": "v"},), "Failure(\"Expected string, got '{k:S(v)}'\")"),
    ("VM.get_all_records_where", (1,), "Failure(\"Expected string, got 'I(1)'\")"),
    ("host.call_plugin", ("HOST", 1, "fn", {}), "Failure(\"Expected string, got 'I(1)'\")"),
    ("host.call_plugin", ("HOST", "p", "fn", {"k": 1}), "Failure(\"Expected string, got 'I(1)'\")"),
    ("PIF.reconfigure_ip", ("PIF", "dynamic", "", "", "", ""), 'Failure("Unknown tag/contents")'),
])
def test_a_wrong_type_is_xapis_internal_error_not_a_dropped_call(logged, method, args, code):
    a, s = logged
    args = tuple(a.refs["host"] if x == "HOST" else a.refs["pif"] if x == "PIF" else x for x in args)
    assert errors(a, method, s, *args) == ["INTERNAL_ERROR", code]


def test_types_are_checked_before_the_session(logged):
    a, _ = logged
    assert errors(a, "VM.get_record", "OpaqueRef:nope", 5)[0] == "INTERNAL_ERROR"
    assert errors(a, "VM.get_record", "OpaqueRef:nope", "OpaqueRef:x") == ["SESSION_INVALID", "OpaqueRef:nope"]
    assert errors(a, "VM.get_record", ["session"], "x")[0] == "INTERNAL_ERROR"


def test_unknown_methods_check_the_session_first_when_one_is_given(logged):
    a, s = logged
    assert errors(a, "VM.frob", "OpaqueRef:bad") == ["SESSION_INVALID", "OpaqueRef:bad"]
    assert errors(a, "VM.frob", s) == ["MESSAGE_METHOD_UNKNOWN", "VM.frob"]
    assert errors(a, "VM.frob") == ["MESSAGE_METHOD_UNKNOWN", "VM.frob"]
    assert errors(a, "VM.add_to_power_state", s, a.refs["control_domain"], "k", "v")[0] == "MESSAGE_METHOD_UNKNOWN"


def test_parameter_counts_exclude_the_session(logged):
    a, s = logged
    assert errors(a, "pool.get_all") == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "pool.get_all", "0", "-1"]
    assert errors(a, "VM.get_record", s, "a", "b") == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "1", "2"]
    assert errors(a, "session.login_with_password", "root") == [
        "MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "2", "1"]
    # Trailing parameters after defaulted ones are ignored, as XAPI's generated dispatcher does.
    assert a.dispatch("session.login_with_password", ("root", "pw", "2.1", "t", "extra"))["Status"] == "Success"


def test_a_value_nested_3000_deep_is_refused_and_records_stay_readable(logged):
    a, s = logged
    value = "x"
    for _ in range(3000):
        value = {"a": value}
    dom0 = a.refs["control_domain"]
    assert errors(a, "VM.set_other_config", s, dom0, value)[0] == "INTERNAL_ERROR"
    assert a.dispatch("VM.get_record", (s, dom0))["Status"] == "Success"
    assert a.dispatch("VM.get_all_records", (s,))["Status"] == "Success"


def test_invented_method_names_never_grow_the_counts(logged):
    a, s = logged
    for i in range(200):
        a.dispatch(f"x{i}." + "y" * 1000, (s,))
        a.dispatch(f"VM.get_{i}", ())
    assert set(a.calls) == {"session.login_with_password", "(unknown method)"}
    assert a.calls["(unknown method)"] == 400


def test_a_bug_in_a_handler_is_an_internal_error_envelope(logged, monkeypatch):
    a, s = logged

    def broken(api):
        raise ZeroDivisionError("boom")
    monkeypatch.setitem(messages.MESSAGES, "pool.broken", messages.Message("pool.broken", broken, ()))
    assert errors(a, "pool.broken", s) == ["INTERNAL_ERROR", "ZeroDivisionError: boom"]


def test_the_local_socket_logs_in_root_without_a_password(tmp_path):
    a = api(tmp_path)
    assert a.dispatch("session.login_with_password", ("root", "wrong"), local=True)["Status"] == "Success"
    assert a.dispatch("session.login_with_password", ("root", "wrong"))["Status"] == "Failure"


def test_nova_resource_calls_answer_from_the_records(logged):
    a, s = logged
    sr = a.dispatch("pool.get_default_SR", (s, a.refs["pool"]))["Value"]
    assert a.dispatch("SR.scan", (s, sr)) == {"Status": "Success", "Value": ""}
    free = a.dispatch("host.compute_free_memory", (s, a.refs["host"]))["Value"]
    metrics = a.store.record("host", a.refs["host"])["metrics"]
    assert free == str(a.store.record("host_metrics", metrics)["memory_free"])
    assert a.dispatch("host_metrics.get_memory_total", (s, metrics))["Value"] == str(8 * 2**30)
