import base64
import io
import os
import subprocess
import tarfile

import pytest

from xenlab.core.paths import LabPaths
from xenlab.xenserver import dom0, osxenapi


def sdist(tmp_path):
    path = tmp_path / "os-xenapi-0.3.4.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"dom0_plugin_version.py": b"PLUGIN_VERSION = '2.1'\n", "xenhost.py": b"#\n"}.items():
            info = tarfile.TarInfo(f"os-xenapi-0.3.4/{osxenapi.PLUGIN_PREFIX}{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("os-xenapi-0.3.4/setup.py")
        tar.addfile(info, io.BytesIO(b""))
    return path


def test_plugins_come_from_the_plugin_dir_only(tmp_path):
    assert sorted(osxenapi.plugins(sdist(tmp_path))) == ["dom0_plugin_version.py", "xenhost.py"]


def test_payload_is_reproducible_and_executable(tmp_path):
    files = osxenapi.plugins(sdist(tmp_path))
    assert dom0.payload(files) == dom0.payload(dict(reversed(list(files.items()))))
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(dom0.payload(files)))) as tar:
        assert {m.name: m.mode for m in tar.getmembers()} == {n: 0o755 for n in files}


def test_askpass_prints_the_password_from_the_environment_only(tmp_path):
    script = dom0.askpass(LabPaths(tmp_path, "t"))
    assert os.stat(script).st_mode & 0o777 == 0o700
    secret = "p<&\"'$#"
    assert secret not in script.read_text()
    out = subprocess.run([str(script)], env={dom0.ENV_PASSWORD: secret}, capture_output=True, text=True)
    assert out.stdout == secret + "\n"


def test_ssh_takes_no_secret_in_argv(tmp_path):
    cmd = dom0.ssh_command("h", 2222, tmp_path / "known_hosts", 5, 2)
    assert cmd[-1] == "root@h" and "2222" in cmd and "PubkeyAuthentication=no" in cmd


def test_key_pair_is_made_once(tmp_path):
    paths = LabPaths(tmp_path, "t")
    pub = dom0.key_pair(paths, "c")
    first = pub.read_text()
    assert dom0.key_pair(paths, "c").read_text() == first
    assert first.startswith("ssh-ed25519 ") and paths.domzero_key.stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- conntrack-tools


def _stub(directory, name, body):
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def dom0_root(tmp_path):
    """A dom0 tree under R with stub xe/yum/service on PATH; the stubs record their calls."""
    root, stubs, calls = tmp_path / "root", tmp_path / "stubs", tmp_path / "calls"
    (root / "etc/conntrackd").mkdir(parents=True)
    (root / "etc/conntrackd/conntrackd.conf").write_text("# sync mode, as the package ships it\n")
    stubs.mkdir()
    version = tmp_path / "version"
    version.write_text("8.3\n")
    _stub(stubs, "xe", f'echo "xe $*" >> {calls}\ncase "$1" in host-list) echo h1;; '
                       f'host-param-get) cat {version};; esac\n')
    # yum "installs" into R: the daemon and the package's documentation with its stats config.
    _stub(stubs, "yum", f'echo "yum $*" >> {calls}\ncp "$2" {tmp_path}/yum.conf\n'
                        f'[ -e {tmp_path}/yum-fails ] && exit 1\n'
                        f'mkdir -p {root}/usr/sbin {root}/usr/share/doc/conntrack-tools-1.4.4/doc/stats\n'
                        f': > {root}/usr/sbin/conntrackd\n'
                        f'echo "# stats mode" > {root}/usr/share/doc/conntrack-tools-1.4.4/doc/stats/conntrackd.conf\n')
    _stub(stubs, "service", f'echo "service $*" >> {calls}\n[ ! -e {tmp_path}/service-fails ]\n')
    return tmp_path


def _conntrack(tmp, with_yum=True):
    path = f"{tmp / 'stubs'}:/usr/bin:/bin"
    if not with_yum:
        (tmp / "stubs" / "yum").unlink()
    done = subprocess.run(["sh", "-c", "set -eu\n" + dom0.CONNTRACK], env={"PATH": path, "R": str(tmp / "root")},
                          capture_output=True, text=True, timeout=30)
    calls = (tmp / "calls").read_text().splitlines() if (tmp / "calls").exists() else []
    return done, calls


def test_conntrack_is_installed_from_centos_vault_at_pinned_versions_then_configured(dom0_root):
    done, calls = _conntrack(dom0_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("changed: conntrack-tools: installed from https://vault.centos.org/7.9.2009/")
    yum = [c for c in calls if c.startswith("yum ")]
    assert len(yum) == 1 and yum[0].endswith("install " + " ".join(dom0.CONNTRACK_RPMS))
    conf = (dom0_root / "yum.conf").read_text()
    # Only that repository (no dom0 repo file is read), signatures checked with CentOS 7's key.
    assert "baseurl=https://vault.centos.org/7.9.2009/os/x86_64/" in conf
    assert "reposdir=/var/empty/xenlab-no-repos" in conf and conf.count("gpgcheck=1") == 2
    assert "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7" in conf
    root = dom0_root / "root/etc/conntrackd"
    assert (root / "conntrackd.conf").read_text() == "# stats mode\n"
    assert (root / "conntrackd.conf.back").read_text().startswith("# sync mode")
    assert calls[-1] == "service conntrackd restart"


def test_conntrack_second_run_installs_nothing_and_says_ok(dom0_root):
    _conntrack(dom0_root)
    (dom0_root / "calls").unlink()
    done, calls = _conntrack(dom0_root)
    assert done.returncode == 0 and done.stdout.startswith("ok: conntrack-tools: installed")
    assert not [c for c in calls if c.startswith("yum ")] and calls[-1] == "service conntrackd restart"


def test_conntrack_is_left_alone_below_xenserver_7(dom0_root):
    (dom0_root / "version").write_text("6.5\n")
    done, calls = _conntrack(dom0_root)
    assert done.returncode == 0 and "not wanted below XenServer 7.0" in done.stdout
    assert not [c for c in calls if not c.startswith("xe ")]


def test_conntrack_is_skipped_where_there_is_no_yum(dom0_root):
    done, calls = _conntrack(dom0_root, with_yum=False)
    assert done.returncode == 0 and "not a CentOS-based dom0" in done.stdout and calls == []


@pytest.mark.parametrize("fault, message", [("yum-fails", "yum could not install conntrack-tools"),
                                            ("service-fails", "'service conntrackd restart' fails")])
def test_conntrack_failures_are_one_error_line(dom0_root, fault, message):
    (dom0_root / fault).touch()
    done, _ = _conntrack(dom0_root)
    assert done.returncode == 11
    assert done.stdout.strip().splitlines()[-1].startswith(f"error: {message}")
