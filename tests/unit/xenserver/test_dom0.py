import base64
import io
import os
import subprocess
import tarfile

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
