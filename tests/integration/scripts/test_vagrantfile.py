"""The top-level Vagrantfile, checked by Vagrant itself with vagrant-libvirt loaded.

`vagrant validate` without `-p`: provider blocks are validated too, so a misspelt
provider setting fails (with `-p` it would pass unnoticed). VirtualBox cannot be
installed from Debian's archive; Vagrant's VirtualBox provider only asks
`VBoxManage --version` to decide it is usable before validating its settings, so
the VirtualBox cases put a VBoxManage on PATH that answers exactly that and fails
on anything else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import nova_checkout
from tests.support.prereq import require_tool
from xenlab.core import config
from xenlab.stages import plan
from xenlab.core.paths import PROJECT_DIR

PROVIDERS = ("libvirt", "virtualbox")
FAKE_VBOXMANAGE = """#!/bin/sh
case "$1" in --version) echo 7.0.14r161095 ;; *) echo "unexpected VBoxManage $*" >&2; exit 1 ;; esac
"""


@pytest.fixture(scope="module")
def vagrant_ready():
    require_tool("vagrant")
    plugins = subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True, timeout=120).stdout
    assert "vagrant-libvirt" in plugins, f"vagrant-libvirt not loaded: {plugins}"


def render_spec(tmp: Path, flavour: str, provider: str) -> Path:
    cfg = config.load(tmp / "xenlab.toml", overrides={"lab": {"flavour": flavour, "provider": provider}},
                      environ={"XENLAB_PASSWORD": "validate-only"})
    plan.render_all(cfg, quiet=True)
    return cfg.lab_dir / "lab.json"


def vagrant(args, tmp: Path, spec: Path | None, cwd: Path = PROJECT_DIR, provider: str = "libvirt",
            dotfile: Path | None = None):
    """Plain `vagrant` as a user runs it: the Vagrantfile picks the lab's own data folder (or
    the test names one, `dotfile`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XENLAB_", "VAGRANT_"))}
    if dotfile:
        env["VAGRANT_DOTFILE_PATH"] = str(dotfile)
    if spec:
        env["XENLAB_LAB_SPEC"] = str(spec)
    if provider == "virtualbox":
        fake = tmp / "fakebin"
        fake.mkdir(exist_ok=True)
        (fake / "VBoxManage").write_text(FAKE_VBOXMANAGE)
        (fake / "VBoxManage").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    return subprocess.run(["vagrant", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("flavour", config.available_flavours())
def test_vagrantfile_validates_for_every_flavour_and_provider(vagrant_ready, tmp_path, flavour, provider):
    (tmp_path / "xenlab.toml").write_text("")
    spec = render_spec(tmp_path, flavour, provider)
    done = vagrant(["validate"], tmp_path, spec, provider=provider)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validated successfully" in done.stdout


def test_your_own_nova_is_synced_where_stack_sh_clones_it(vagrant_ready, tmp_path):
    """devstack.nova_src on a DevStack flavour: Vagrant syncs the checkout that NOVA_REPO names."""
    checkout = nova_checkout.make(tmp_path / "nova-checkout")
    (tmp_path / "xenlab.toml").write_text(f'[devstack]\nnova_src = "{checkout}"\n')
    spec = render_spec(tmp_path, "xcp-ng-8.3", "libvirt")
    assert json.loads(spec.read_text())["devstack"]["synced"] == [
        {"host": str(checkout), "guest": "/opt/stack/xenlab-nova-src", "exclude": [".tox/"]}]
    done = vagrant(["validate"], tmp_path, spec)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_misspelt_provider_setting_fails_validation(vagrant_ready, tmp_path, provider):
    (tmp_path / "xenlab.toml").write_text("")
    spec = render_spec(tmp_path, "standin", provider)
    # The project's Vagrantfile plus one misspelt setting in the provider block.
    (tmp_path / "Vagrantfile").write_text(
        f'load {str(PROJECT_DIR / "Vagrantfile")!r}\n'
        f'Vagrant.configure("2") {{ |c| c.vm.provider(:{provider}) {{ |v| v.memroy = 2048 }} }}\n'
    )
    done = vagrant(["validate"], tmp_path, spec, cwd=tmp_path, provider=provider)
    assert done.returncode != 0
    assert "shouldn't exist: memroy" in done.stdout + done.stderr


def test_missing_lab_spec_is_one_line_naming_plan(vagrant_ready, tmp_path):
    done = vagrant(["validate"], tmp_path, tmp_path / "nowhere" / "lab.json")
    assert done.returncode != 0
    errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("xenlab:")]
    assert errors == [f"xenlab: no lab spec at {tmp_path}/nowhere/lab.json: run `invoke plan` (or `invoke up`) first"]


def test_without_spec_or_pointer_the_vagrantfile_says_run_plan(vagrant_ready, tmp_path):
    shutil.copy(PROJECT_DIR / "Vagrantfile", tmp_path / "Vagrantfile")
    done = vagrant(["status"], tmp_path, None, cwd=tmp_path)
    assert done.returncode != 0
    assert "xenlab: no lab spec (.xenlab/active is missing): run `invoke plan`" in done.stdout + done.stderr


def test_plan_pointer_selects_the_lab_for_plain_vagrant(vagrant_ready, tmp_path):
    # A checkout-like directory: Vagrantfile beside .xenlab/, no environment variables.
    shutil.copy(PROJECT_DIR / "Vagrantfile", tmp_path / "Vagrantfile")
    (tmp_path / "xenlab.toml").write_text('[lab]\nname = "pointed"\nflavour = "standin"\n')
    render_spec(tmp_path, "standin", "libvirt")
    assert (tmp_path / ".xenlab" / "active").read_text() == "pointed\n"
    done = vagrant(["status", "--machine-readable"], tmp_path, None, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "xenserver,state,not_created" in done.stdout and "devstack,state,not_created" in done.stdout
    # Vagrant's data about the lab's machines went to the lab's own folder, as `invoke` has it.
    assert (tmp_path / ".xenlab" / "pointed" / "vagrant" / "machines").is_dir()


def test_two_labs_under_one_root_keep_vagrant_s_data_apart_and_another_folder_is_refused(vagrant_ready, tmp_path):
    shutil.copy(PROJECT_DIR / "Vagrantfile", tmp_path / "Vagrantfile")
    for name in ("one", "two"):
        (tmp_path / "xenlab.toml").write_text(f'[lab]\nname = "{name}"\nflavour = "standin"\n')
        render_spec(tmp_path, "standin", "libvirt")
        done = vagrant(["status", "--machine-readable"], tmp_path, tmp_path / ".xenlab" / name / "lab.json",
                       cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (tmp_path / ".xenlab" / name / "vagrant" / "machines").is_dir()
    done = vagrant(["status"], tmp_path, tmp_path / ".xenlab" / "one" / "lab.json", cwd=tmp_path,
                   dotfile=tmp_path / ".vagrant")
    assert done.returncode != 0
    errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("xenlab:")]
    assert errors == [f"xenlab: VAGRANT_DOTFILE_PATH is {tmp_path}/.vagrant, but lab one keeps Vagrant's data "
                      f"about its machines in {tmp_path}/.xenlab/one/vagrant: unset it"]


def test_provisioning_scripts_are_shellcheck_clean():
    require_tool("shellcheck")
    scripts = sorted((PROJECT_DIR / "vagrant").rglob("*.sh"))
    assert len(scripts) >= 3
    done = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout


def test_box_commands_do_not_need_a_lab_spec():
    """`invoke build` registers boxes before any lab spec exists: the checkout's
    Vagrantfile must not be loaded for box commands."""
    from xenlab.images import boxes

    require_tool("vagrant")
    env = {**os.environ, "XENLAB_LAB": "no-such-lab", "XENLAB_LAB_SPEC": ""}
    argv = ["vagrant", "box", "remove", "--force", "xenlab/no-such-box"]
    bare = subprocess.run(argv, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert "no lab spec" in bare.stdout + bare.stderr  # what happened before the fix
    fixed = subprocess.run(argv, cwd=PROJECT_DIR, env={**env, **boxes.BOX_COMMAND_ENV},
                           capture_output=True, text=True, timeout=120)
    assert "no lab spec" not in fixed.stdout + fixed.stderr
    assert "could not be found" in fixed.stdout + fixed.stderr
