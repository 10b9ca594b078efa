"""Fuzz: every generated bad config makes `xenlab plan` exit 2 with one line.

Each example is a valid config with one deliberate fault (a wrong type, a value
out of range, an unknown key, a bad address, broken TOML), run through the real
CLI program in-process, so the whole path from file to exit code is covered.
"""

import contextlib
import io
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenlab.cli import program
from xenlab.core.config import Settings

SECTIONS = list(Settings.model_fields)
KEYS = {name: set(f.annotation.model_fields) for name, f in Settings.model_fields.items()}

# key -> a strategy of values that are wrong for it
INTS = ("xenserver.memory_mb", "xenserver.cpus", "xenserver.disk_gb", "devstack.memory_mb", "devstack.cpus")
STRS = ("lab.name", "lab.flavour", "lab.provider", "lab.accelerator", "devstack.release",
        "devstack.user", "devstack.os_xenapi_version", "network.cidr", "network.xenserver_ip",
        "network.devstack_ip", "credentials.xenapi_user", "iso.checksum")

not_int = st.one_of(st.text(max_size=8), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2))
not_str = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.text(max_size=3), max_size=2))
out_of_range = st.one_of(st.integers(max_value=0), st.integers(min_value=10**7))
word = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=10)
# Strings that are wrong for every constrained string key above.
bad_text = st.sampled_from(["", " ", "UPPER CASE", "256.1.1.1", "10.0.0.0/33", "x" * 40, "md5:zz", "-dash"])


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def one_key(key, value):
    section, name = key.split(".")
    return f"[{section}]\n{name} = {toml_value(value)}\n"


bad_configs = st.one_of(
    st.tuples(st.sampled_from(INTS), st.one_of(not_int, out_of_range)).map(lambda kv: one_key(*kv)),
    st.tuples(st.sampled_from(STRS), not_str).map(lambda kv: one_key(*kv)),
    st.tuples(st.sampled_from(["lab.name", "network.xenserver_ip", "network.cidr", "lab.provider",
                               "lab.flavour", "devstack.release", "devstack.user"]), bad_text)
      .map(lambda kv: one_key(*kv)),
    st.tuples(st.sampled_from(SECTIONS), word).filter(lambda sw: sw[1] not in KEYS[sw[0]])
      .map(lambda sw: f"[{sw[0]}]\n{sw[1]} = 1\n"),
    word.filter(lambda w: w not in SECTIONS)
        .map(lambda w: f"[{w}]\nx = 1\n"),
    st.text(alphabet="[]=\"'{}\n abc", min_size=1, max_size=30).filter(lambda t: "=" in t or "[" in t),
)


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            program.run(argv)
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.filter_too_much])
@given(text=bad_configs)
def test_bad_config_exits_2_with_one_line(tmp_path, text):
    path = tmp_path / "xenlab.toml"
    path.write_text(text)
    code, out, err = run_cli(["xenlab", "plan", "--config", str(path)])
    assert code == 2, (text, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xenlab: config error:")
    assert "Traceback" not in err and out == ""
