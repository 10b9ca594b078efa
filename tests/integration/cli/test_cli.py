"""The real command lines: `invoke` in the checkout and the `xenlab` console script."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.leaks import assert_no_leak

PROJECT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
SENTINEL = "Sentinel-7e1f<&'#"
TASKS = {"plan", "status", "doctor", "test"}


def run(*argv, cwd=PROJECT, env=None, timeout=120):
    import os

    full_env = {**os.environ, "XENLAB_PASSWORD": SENTINEL, **(env or {})}
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def listed(output):
    return {line.split()[0] for line in output.splitlines() if line.startswith("  ") and line.split()}


@pytest.mark.parametrize("program", ["invoke", "xenlab"])
def test_list_shows_every_task_with_help(program):
    done = run(BIN / program, "--list")
    assert done.returncode == 0, done.stderr
    assert TASKS <= listed(done.stdout)
    for line in done.stdout.splitlines():
        if line.startswith("  ") and line.split()[0] in TASKS:
            assert len(line.split()) > 1, f"no help for: {line}"


@pytest.fixture
def labroot(tmp_path):
    (tmp_path / "xenlab.toml").write_text('[lab]\nname = "clitest"\nflavour = "standin"\n')
    return tmp_path


def test_bad_config_value_one_line_exit_2(labroot):
    (labroot / "xenlab.toml").write_text("[xenserver]\ncpus = 'many'\n")
    done = run(BIN / "xenlab", "plan", "--config", labroot / "xenlab.toml")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "xenserver.cpus" in done.stderr and "Traceback" not in done.stderr


def test_unknown_flavour_option_exit_2(labroot):
    done = run(BIN / "xenlab", "plan", "--config", labroot / "xenlab.toml", "--flavour", "nope")
    assert done.returncode == 2 and "unknown flavour 'nope'" in done.stderr


def test_unknown_cli_flag_is_refused_without_traceback():
    done = run(BIN / "invoke", "plan", "--no-such-flag")
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout


def test_plan_twice_byte_identical(labroot):
    def snapshot():
        root = labroot / ".xenlab"
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert run(BIN / "invoke", "plan", "--config", labroot / "xenlab.toml").returncode == 0
    first = snapshot()
    done = run(BIN / "invoke", "plan", "--config", labroot / "xenlab.toml")
    assert done.returncode == 0 and snapshot() == first
    assert "unchanged" in done.stdout


@pytest.mark.parametrize("flavour", sorted(p.name.removesuffix(".pkrvars.hcl")
                                            for p in (PROJECT / "packer" / "flavours").glob("*.pkrvars.hcl")))
def test_plan_renders_every_flavour(labroot, flavour):
    import json

    done = run(BIN / "invoke", "plan", "--config", labroot / "xenlab.toml", "--flavour", flavour)
    assert done.returncode == 0, done.stderr
    spec = json.loads((labroot / ".xenlab" / "clitest" / "lab.json").read_text())
    assert spec["xenserver"]["box"] == f"xenlab/{flavour}"
    assert json.loads((labroot / ".xenlab" / "clitest" / "packer.pkrvars.json").read_text())


def test_status_json(labroot):
    import json

    done = run(BIN / "xenlab", "status", "--json", "--config", labroot / "xenlab.toml")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["lab"] == "clitest" and info["flavour"] == "standin"


def test_doctor_warns_and_exits_0_here(labroot):
    """On this kind of machine KVM is paravirtual: doctor must say TCG, exit 0."""
    done = run(BIN / "xenlab", "doctor", "--config", labroot / "xenlab.toml", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    kvm = next(line for line in done.stdout.splitlines() if " kvm " in f" {line} ")
    if Path("/sys/module/kvm_pvm").is_dir():
        assert kvm.split()[0] == "warn" and "TCG" in kvm


def test_secret_never_printed_nor_in_public_files(labroot):
    outputs = []
    for task in ("plan", "doctor", "status"):
        done = run(BIN / "xenlab", task, "--config", labroot / "xenlab.toml", timeout=180)
        outputs += [done.stdout, done.stderr]
    # check-config on files that hold the password in settings it flags.
    nova, local = labroot / "nova.conf", labroot / "local.conf"
    nova.write_text(f"[xenserver]\nconnection_password = {SENTINEL}$x\n")
    local.write_text(f"[[local|localrc]]\nVIRT_DRIVER=xenserver\nXENAPI_PASSWORD=\"{SENTINEL} x\"\n")
    nova.chmod(0o600), local.chmod(0o600)
    for args in ([nova], [local], ["--json", "--path", nova, "--path", local]):
        done = run(BIN / "xenlab", "check-config", *args)
        assert done.returncode == 1 and "(hidden)" in done.stdout, done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    assert_no_leak(SENTINEL, labroot, *outputs)


def test_the_default_flavour_on_a_host_whose_kvm_cannot_run_guests_stops_before_any_download(tmp_path):
    """Issue 12: `invoke lab` went straight to Packer and died on the ISO's checksum download."""
    from xenlab.commands import doctor
    from xenlab.core import config, kvm

    (tmp_path / "xenlab.toml").write_text('[lab]\nname = "real"\n')
    verdict = kvm.verdict()
    if verdict.usable:
        # This host can run the real flavour (running lab here would download its ISO):
        # the preflight's KVM check lets it through.
        cfg = config.load(tmp_path / "xenlab.toml", environ={"XENLAB_PASSWORD": SENTINEL})
        assert [f for f in doctor.check_kvm(cfg) if f.verdict == doctor.FAIL] == []
        return
    for program in ("xenlab", "invoke"):
        for task in ("lab", "build", "up"):
            done = run(BIN / program, task, "--config", tmp_path / "xenlab.toml", timeout=120)
            assert done.returncode == 6, done.stdout + done.stderr
            assert done.stderr.strip().splitlines() == [
                f"xenlab: XCP-ng 8.3 LTS runs Xen inside a VM: this host's KVM cannot run a guest ({verdict.reason}):"
                " use a host with nested KVM, or --flavour standin"]
            assert SENTINEL not in done.stdout + done.stderr
    # Nothing was fetched or built: no Packer log, no download cache.
    assert not list(tmp_path.rglob("build-*.log")) and not list(tmp_path.rglob("packer_cache"))


@pytest.mark.parametrize("program", ["invoke", "xenlab"])
def test_check_config_takes_a_bare_path_as_users_type_it(tmp_path, program):
    good = tmp_path / "nova.conf"
    good.write_text("[DEFAULT]\ncompute_driver = xenapi.XenAPIDriver\n[xenserver]\nconnection_url = http://x\n"
                    "connection_password = pw\nindependent_compute = True\ncheck_host = False\n")
    bad = tmp_path / "bad.conf"
    bad.write_text('[xenserver]\ncheck_host = True\n')
    cli = [BIN / program] + (["--search-root", PROJECT] if program == "invoke" else [])
    done = run(*cli, "check-config", good, cwd=tmp_path)
    assert done.returncode == 0 and "1 file(s), no setting breaks" in done.stdout, done.stdout + done.stderr
    done = run(*cli, "check-config", "nova.conf", "--path", bad, cwd=tmp_path)
    assert done.returncode == 1 and "check_host" in done.stdout


@pytest.mark.parametrize("program", ["xenlab", "invoke", "inv"])
@pytest.mark.parametrize("argv", [["plan", "--bogus"], ["plan", "--flavour"], ["bogus"], ["sim", "--port", "abc"],
                                  ["sim", "--pool-size", "x"], ["check-config"], ["--bogus"],
                                  # issue 20: invoke's own core options, parsed before tasks.py loads
                                  ["-D", "x", "-l"], ["--list-format", "bogus", "-l"], ["-F", "bogus", "--list"],
                                  ["-T", "abc"], ["-f", "/dev/null", "status"], ["--prompt-for-sudo-password", "status"]])
def test_parse_errors_are_one_line_usage_errors(argv, program):
    # `invoke` and `inv` in the checkout are xenlab's Program in invoke's task-runner mode.
    done = run(BIN / program, *argv)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith(f"{program}: "), done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr


@pytest.mark.parametrize("program", ["invoke", "inv"])
def test_the_checkout_s_invoke_is_xenlab_s_program_and_says_so(program):
    done = run(BIN / program, "--version")
    assert done.returncode == 0 and done.stdout.startswith("Invoke 3.") and "xenlab" in done.stdout, done.stdout
    assert "from xenlab.cli import invoke_program" in (BIN / program).read_text()


@pytest.mark.parametrize("program", ["xenlab", "invoke"])
def test_the_issue_s_reproducers_stop_in_one_line_before_any_file(tmp_path, program):
    """issue 20: a plugin dir that is a file, a lab named after .xenlab/'s own entries, a
    bad snapshot name (before the preflight), a newline in a setting from the environment."""
    (tmp_path / "afile").write_text("")
    (tmp_path / "xenlab.toml").write_text('[lab]\nflavour = "standin"\n')
    cases = [(["sim", "--port", "0", "--plugin-dir", "afile"], {}, "xenlab: sim: --plugin-dir afile: not a directory"),
             (["lab", "--snapshot", "a/b"], {}, "xenlab: snapshot name 'a/b': use 1-32 of a-z, 0-9, '.', '_', '-'"),
             (["sim"], {"XENLAB_WIRE_HOST": "4096\n"},
              "xenlab: config error: XENLAB_WIRE_HOST: wire.host: '4096\\n' is neither an IPv4 address nor a host name"),
             (["plan"], {"XENLAB_ISO_URL": " 4096 "},
              "xenlab: config error: XENLAB_ISO_URL: iso.url: ' 4096 ' is not an http(s):// or file:// URL"),
             (["plan"], {"XENLAB_LAB_NAME": "active"}, "xenlab: config error: XENLAB_LAB_NAME: lab.name: 'active' is "
              "taken: .xenlab/active holds which lab a plain `vagrant up` brings up (choose another name)")]
    for argv, env, line in cases:
        cli = [BIN / program] + (["--search-root", PROJECT] if program == "invoke" else [])
        done = run(*cli, *argv, cwd=tmp_path, env=env)
        assert (done.returncode, done.stderr.strip()) == (2, line), (argv, done.stdout + done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "xenlab.toml"]


@pytest.mark.parametrize("program", ["xenlab", "invoke"])
def test_help_after_a_task_with_a_bare_path_is_help(program):
    done = run(BIN / program, "check-config", "--help")
    assert done.returncode == 0 and "[--core-opts] check-config" in done.stdout.splitlines()[0]
    assert run(BIN / program, "--help", "check-config").returncode == 0
