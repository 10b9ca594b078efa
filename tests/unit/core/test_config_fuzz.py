"""Fuzz: every generated bad config or command line exits 2 with one line.

Each example is a valid config or command line with one deliberate fault (a wrong
type, a value out of range, an unknown key, a bad address, broken TOML; a file
that is not UTF-8, nested too deep, a FIFO, a directory, a dangling link, a path
of thousands of characters, given by --config or XENLAB_CONFIG; a password file
of those kinds; an unknown task or option, an option without its value, a word
where a number goes), run through the real CLI program in-process, so the whole
path from argv to exit code is covered: exit 2, one line on stderr, nothing on
stdout, no traceback, and no hang (each run has 20 s, a FIFO would block for ever).
"""

import contextlib
import io
import os
import signal
import string
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenlab.cli import invoke_program, program
from xenlab.core.config import Settings
from xenlab.core.paths import PROJECT_DIR

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


class Hang(BaseException):
    """The CLI did not answer within its time: it would have hung."""


@contextlib.contextmanager
def deadline(seconds: float):
    def expire(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv, env=None):
    """argv[0] picks the program: `xenlab`, or the checkout's `invoke` (which finds tasks.py
    from the working directory, as it does when a user runs it in the checkout)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("XENLAB_", "INVOKE_"))} | (env or {})
    # No tool on PATH: a command line a fuzzer drew that does parse fails at once (the
    # preflight), and never starts Packer, QEMU or Vagrant on the machine.
    environ["PATH"] = "/nonexistent"
    with mock.patch.dict(os.environ, environ, clear=True), deadline(20), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            contextlib.chdir(PROJECT_DIR if argv[0] == "invoke" else os.getcwd()):
        try:
            (invoke_program if argv[0] == "invoke" else program).run(argv)
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()


def assert_usage_error(done, context, binary="xenlab"):
    code, out, err = done
    assert code == 2, (context, out, err)
    lines = err.strip().splitlines()
    # The program's own errors name it; a task's are xenlab's under either program.
    assert len(lines) == 1 and lines[0].startswith((f"{binary}: ", "xenlab: ")), (context, err)
    assert "Traceback" not in err and out == "", (context, out)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.filter_too_much])
@given(text=bad_configs)
def test_bad_config_exits_2_with_one_line(tmp_path, text):
    path = tmp_path / "xenlab.toml"
    path.write_text(text)
    done = run_cli(["xenlab", "plan", "--config", str(path)], {"XENLAB_PASSWORD": "pw"})
    assert_usage_error(done, text)
    assert done[2].startswith("xenlab: config error:")


# ------------------------------------------------------------ files that are not a config

CONFIG_TASKS = ["plan", "status", "lab", "sim", "build", "up", "doctor"]


def _nested(kind: str, depth: int) -> bytes:
    opening, closing = {"array": ("[", "]"), "table": ("{a = ", "}")}[kind]
    return f"[lab]\nname = {opening * depth}1{closing * depth}\n".encode()


def _make(kind: str, size: int):
    """(what to create at a path, or None for a path that needs nothing made)."""
    return {
        "non-utf8": lambda p: p.write_bytes(b"[lab]\nname = \"" + b"\xff\xfe" * size + b"\"\n"),
        "deep-arrays": lambda p: p.write_bytes(_nested("array", 200 + size * 40)),
        "deep-tables": lambda p: p.write_bytes(_nested("table", 200 + size * 40)),
        "fifo": lambda p: os.mkfifo(p),
        "directory": lambda p: p.mkdir(),
        "dangling-symlink": lambda p: p.symlink_to(p.parent / "gone"),
        "missing": lambda p: None,
    }[kind]


FILE_FAULTS = st.sampled_from(["non-utf8", "deep-arrays", "deep-tables", "fifo", "directory", "dangling-symlink",
                               "missing"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(CONFIG_TASKS), fault=FILE_FAULTS, size=st.integers(1, 50),
       via_env=st.booleans(), n=st.integers(0, 10**9))
def test_a_config_that_is_not_a_toml_file_exits_2(tmp_path, task, fault, size, via_env, n):
    path = tmp_path / f"c{n}" / "xenlab.toml"
    path.parent.mkdir(exist_ok=True)
    if not path.exists() and not path.is_symlink():
        _make(fault, size)(path)
    env = {"XENLAB_PASSWORD": "pw"}
    argv = ["xenlab", task]
    if via_env:
        env["XENLAB_CONFIG"] = str(path)
    else:
        argv += ["--config", str(path)]
    assert_usage_error(run_cli(argv, env), (task, fault, via_env))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(CONFIG_TASKS), length=st.integers(256, 6000), via_env=st.booleans(),
       slashes=st.booleans())
def test_config_paths_empty_or_thousands_of_characters_long_exit_2(tmp_path, task, length, via_env, slashes):
    path = "" if length == 256 else ("ab/" if slashes else "x") * (length // (3 if slashes else 1))
    env, argv = {"XENLAB_PASSWORD": "pw"}, ["xenlab", task]
    if via_env:
        env["XENLAB_CONFIG"] = path
    else:
        argv += ["--config", path]
    done = run_cli(argv, env)
    assert_usage_error(done, (task, length, via_env))
    assert len(done[2]) < 400


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(["plan", "status", "lab", "sim"]),
       fault=st.sampled_from(["non-utf8", "fifo", "directory", "dangling-symlink", "missing", "0644", "empty"]),
       n=st.integers(0, 10**9))
def test_a_password_file_that_is_not_a_0600_text_file_exits_2(tmp_path, task, fault, n):
    home = tmp_path / f"h{n}"
    home.mkdir(exist_ok=True)
    pw = home / "pw"
    if not pw.exists() and not pw.is_symlink():
        if fault in ("0644", "empty"):
            pw.write_text("" if fault == "empty" else "a-good-password\n")
            pw.chmod(0o644 if fault == "0644" else 0o600)
        else:
            _make(fault, 3)(pw)
    config = home / "xenlab.toml"
    config.write_text(f'[lab]\nflavour = "standin"\n[credentials]\npassword_file = "{pw}"\n')
    done = run_cli(["xenlab", task, "--config", str(config)])
    assert_usage_error(done, (task, fault))
    assert "password" in done[2] or "credentials.password_file" in done[2]


def test_an_empty_password_variable_is_refused_not_replaced(tmp_path):
    config = tmp_path / "xenlab.toml"
    config.write_text('[lab]\nflavour = "standin"\n')
    done = run_cli(["xenlab", "plan", "--config", str(config)], {"XENLAB_PASSWORD": ""})
    assert_usage_error(done, "empty XENLAB_PASSWORD")
    assert "XENLAB_PASSWORD is empty" in done[2]


# ------------------------------------------------------------ command lines

TASK_FLAGS = {
    "plan": ["--config", "--flavour"], "status": ["--config", "--flavour", "--json"],
    "lab": ["--config", "--flavour", "--from"], "sim": ["--config", "--port", "--pool-size", "--plugin-dir"],
    "check-config": ["--path", "--json"], "build": ["--config", "--flavour", "--force"],
    "up": ["--config", "--flavour", "--force"], "doctor": ["--config", "--flavour", "--json"],
}
# Tasks the command-line fuzzing leaves alone (they run a lab, a test suite or the Vagrantfile's hook).
OTHER_TASKS = ("test", "wire", "verify", "down", "vagrant-hook", "snapshot", "restore")
VALUE_FLAGS = {"--config", "--flavour", "--from", "--port", "--pool-size", "--plugin-dir", "--path"}
NUMBER_FLAGS = {"sim": ["--port", "--pool-size"]}
flag_word = st.text(alphabet=string.ascii_lowercase + "-_", min_size=1, max_size=12)
# invoke's own flags, which it takes after a task's name too (`doctor --version` prints the version).
CORE_FLAGS = ("help", "version", "list", "debug", "echo", "pty", "dry", "complete", "warn-only", "write-pyc",
              "hide", "config", "list-depth", "list-format", "command-timeout", "prompt-for-sudo-password",
              "print-completion-script")
# The invoke binary's task-runner options (Program.task_args), beside the core ones.
RUNNER_FLAGS = ("collection", "no-dedupe", "search-root")
not_a_number = st.one_of(st.sampled_from(["abc", "x", "1.5", "", " ", "0x10", "1e3", "--", "٣"]),
                         st.text(alphabet=string.ascii_letters + ".,", min_size=1, max_size=6))


# What -f (invoke's runtime config file) may name, and what is in it.
RUNTIME_FILES = {"missing": None, "directory": "dir", "fifo": "fifo", "bad-yaml": b"a: [\n",
                 "bad-json": b"{\n", "not-a-mapping": b"- a\n", "py-syntax": b"x = (\n", "py-raises": b"1 / 0\n",
                 "not-utf8": b"a: \xff\xfe\n", "toml": b"[lab]\n"}
SUFFIXES = {"bad-json": ".json", "py-syntax": ".py", "py-raises": ".py", "toml": ".toml", "directory": ""}


@st.composite
def bad_core_option(draw, binary, task):
    """A bad value for one of invoke's own core options (or, for `invoke`, its runner options)."""
    word = flag_word.filter(lambda w: not w.startswith("-"))
    kinds = ["list-format", "list-root", "depth-with-json", "runtime-config", "help-topic", "completion-shell"]
    kind = draw(st.sampled_from(kinds + (["collection", "search-root"] if binary == "invoke" else [])))
    if kind == "list-format":
        return [draw(st.sampled_from(["-F", "--list-format"])), draw(word.filter(lambda w: w not in
                ("flat", "nested", "json"))), draw(st.sampled_from(["-l", "--list"]))]
    if kind == "list-root":  # no sub-collection has that name
        return [draw(st.sampled_from(["-l", "--list"])), draw(word)]
    if kind == "depth-with-json":
        return ["-D", str(draw(st.integers(1, 9))), "-F", "json", "-l"]
    if kind == "runtime-config":
        fault = draw(st.sampled_from(sorted(RUNTIME_FILES)))
        return [draw(st.sampled_from(["-f", "--config"])), f"{{tmp}}/{fault}{SUFFIXES.get(fault, '.yaml')}", task]
    if kind == "help-topic":
        return ["--help", draw(word.filter(lambda w: w not in TASK_FLAGS and w not in OTHER_TASKS))]
    if kind == "completion-shell":
        return ["--print-completion-script", draw(word.filter(lambda w: w not in ("bash", "zsh", "fish")))]
    if kind == "collection":
        return ["-c", draw(word.filter(lambda w: w != "tasks")), "-l"]
    return ["-r", "{tmp}/" + draw(word), "-l"]  # a search root with no tasks.py


def make_runtime_files(tmp):
    for fault, content in RUNTIME_FILES.items():
        path = tmp / f"{fault}{SUFFIXES.get(fault, '.yaml')}"
        if path.exists() or path.is_symlink() or content is None:
            continue
        if content == "dir":
            path.mkdir()
        elif content == "fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(content)


@st.composite
def bad_command_line(draw, binary="xenlab"):
    task = draw(st.sampled_from(sorted(TASK_FLAGS)))
    fault = draw(st.sampled_from(["unknown-flag", "missing-value", "not-a-number", "unknown-task",
                                  "unknown-core-flag", "core-not-a-number", "core-bad-value", "extra-word"]))
    argv = [task]
    if fault == "unknown-flag":
        flag = "--" + draw(flag_word.filter(lambda w: f"--{w}" not in TASK_FLAGS[task] and w not in
                                            ("h", *CORE_FLAGS) and not w.startswith("-")))
        argv.append(flag)
    elif fault == "missing-value":
        argv.append(draw(st.sampled_from(sorted(VALUE_FLAGS & set(TASK_FLAGS[task])))))
    elif fault == "not-a-number":
        task = "sim"
        argv = [task, draw(st.sampled_from(NUMBER_FLAGS[task])), draw(not_a_number)]
    elif fault == "unknown-task":
        argv = [draw(flag_word.filter(lambda w: w not in TASK_FLAGS and w not in OTHER_TASKS
                                      and not w.startswith("-")))]
    elif fault == "unknown-core-flag":
        argv = ["--" + draw(flag_word.filter(lambda w: not w.startswith("-") and w not in CORE_FLAGS
                                             and w not in RUNNER_FLAGS))] + argv
    elif fault == "core-bad-value":
        argv = draw(bad_core_option(binary, task))
    elif fault == "core-not-a-number":
        argv = [draw(st.sampled_from(["--command-timeout", "-T", "--list-depth", "-D"])), draw(not_a_number)] + argv
    else:  # a second bare word where none is taken
        argv += ["--path", "a.conf"] if task == "check-config" else []
        argv.append(draw(flag_word.filter(lambda w: w not in TASK_FLAGS and w not in OTHER_TASKS
                                          and not w.startswith("-"))))
    return argv


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), binary=st.sampled_from(["xenlab", "invoke"]))
def test_a_command_line_invoke_cannot_parse_exits_2(tmp_path, data, binary):
    """Through both programs: `xenlab`, and the checkout's `invoke` (which loads tasks.py)."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in data.draw(bad_command_line(binary))]
    config = tmp_path / "xenlab.toml"
    if not config.exists():
        config.write_text('[lab]\nflavour = "standin"\n')
        make_runtime_files(tmp_path)
    done = run_cli([binary, *argv], {"XENLAB_PASSWORD": "pw", "XENLAB_CONFIG": str(config)})
    assert_usage_error(done, argv, binary)
    assert not (tmp_path / ".xenlab").exists(), argv  # nothing was written


@pytest.mark.parametrize("binary", ["xenlab", "invoke"])
@pytest.mark.parametrize("argv, line", [
    (["plan", "--bogus"], "{b}: No idea what '--bogus' is (see `{b} plan --help`)"),
    (["plan", "--flavour"], "{b}: --flavour needs a value (see `{b} plan --help`)"),
    (["bogus"], "{b}: No idea what 'bogus' is (see `{b} --help`)"),
    (["sim", "--port", "abc"], "{b}: --port takes a whole number, not 'abc' (see `{b} --help`)"),
    (["sim", "--pool-size", "x"], "{b}: --pool-size takes a whole number, not 'x' (see `{b} --help`)"),
    # issue 20: invoke's own core options, through both programs
    (["--list-format", "bogus", "-l"], "{b}: --list-format takes flat, nested, json, not 'bogus' (see `{b} --help`)"),
    (["-F", "bogus", "--list"], "{b}: --list-format takes flat, nested, json, not 'bogus' (see `{b} --help`)"),
    (["-D", "x", "-l"], "{b}: --list-depth takes a whole number, not 'x' (see `{b} --help`)"),
    (["-T", "abc"], "{b}: --command-timeout takes a whole number, not 'abc' (see `{b} --help`)"),
    (["-D", "2", "-F", "json", "-l"], "{b}: The --list-depth option is not supported with JSON format "
                                      "(see `{b} --help`)"),
    (["-l", "nosuch"], "{b}: Sub-collection 'nosuch' not found (see `{b} --help`)"),
    (["--help", "nosuch"], "{b}: No idea what 'nosuch' is (see `{b} --help`)"),
    (["-f", "/nonexistent/x.yaml", "status"], "{b}: --config /nonexistent/x.yaml: no such file (see `{b} --help`)"),
    # issue 20: arguments before the host (the preflight) and before any file
    (["lab", "--snapshot", "a/b"], "xenlab: snapshot name 'a/b': use 1-32 of a-z, 0-9, '.', '_', '-'"),
    (["restore", "--name", "a/b"], "xenlab: snapshot name 'a/b': use 1-32 of a-z, 0-9, '.', '_', '-'"),
    (["sim", "--port", "0", "--plugin-dir", "/dev/null"], "xenlab: sim: --plugin-dir /dev/null: not a directory"),
])
def test_the_issue_s_command_lines_are_usage_errors(tmp_path, argv, line, binary):
    config = tmp_path / "xenlab.toml"
    config.write_text('[lab]\nflavour = "standin"\n')
    done = run_cli([binary, *argv], {"XENLAB_PASSWORD": "pw", "XENLAB_CONFIG": str(config)})
    assert_usage_error(done, argv, binary)
    assert done[2].strip() == line.format(b=binary)
    assert not (tmp_path / ".xenlab").exists()


@pytest.mark.parametrize("binary", ["xenlab", "invoke"])
@pytest.mark.parametrize("argv, line", [
    (["-c", "nosuch", "-l"], "invoke: Can't find any collection named 'nosuch' (see `invoke --help`)"),
    (["-c"], "invoke: --collection needs a value (see `invoke --help`)"),
    (["-c", "x"], "xenlab: No idea what '-c' is (see `xenlab --help`)"),  # xenlab has its tasks bundled
])
def test_the_runner_s_own_options_are_usage_errors_too(argv, line, binary):
    if not line.startswith(binary):
        return
    assert_usage_error(done := run_cli([binary, *argv]), argv, binary)
    assert done[2].strip() == line


@pytest.mark.parametrize("binary", ["xenlab", "invoke"])
def test_a_lab_named_after_what_labs_share_is_refused_before_any_file(tmp_path, binary):
    """issue 20: `name = "active"` ended in IsADirectoryError writing .xenlab/active."""
    for name in ("active", "boxes"):
        (tmp_path / "xenlab.toml").write_text(f'[lab]\nname = "{name}"\nflavour = "standin"\n')
        for task in ("plan", "down", "restore", "status"):
            done = run_cli([binary, task], {"XENLAB_PASSWORD": "pw", "XENLAB_CONFIG": str(tmp_path / "xenlab.toml")})
            assert_usage_error(done, (name, task), binary)
            assert f"lab.name: '{name}' is taken: .xenlab/{name} holds" in done[2]
    assert not (tmp_path / ".xenlab").exists()


# ------------------------------------------------------------ check-config's files

@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fault=st.sampled_from(["non-utf8", "fifo", "directory", "dangling-symlink", "missing", "dev-zero"]),
       positional=st.booleans(), n=st.integers(0, 10**9))
def test_check_config_on_a_file_it_cannot_read_exits_2_at_once(tmp_path, fault, positional, n):
    path = tmp_path / f"n{n}.conf"
    if fault == "dev-zero":
        path = "/dev/zero"
    elif not path.exists() and not path.is_symlink():
        _make(fault, 3)(path)
    argv = ["xenlab", "check-config", *([str(path)] if positional else ["--path", str(path)])]
    assert_usage_error(run_cli(argv), (fault, positional))
