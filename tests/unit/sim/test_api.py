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
