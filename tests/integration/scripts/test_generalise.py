"""packer/scripts/xenserver/generalise.sh, byte for byte, in a mount namespace of the
test's own: /etc, /var and /root are overlays on a tmpfs, /tmp and /var/tmp empty
tmpfs, so what the script removes is removed there only. systemctl and journalctl
are recording stubs (no systemd here). What it must do: forget the host's state,
and reset the interface-rename rules where the tool is, and only there."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.support.prereq import require_root, require_tool
from xenlab.core.paths import PROJECT_DIR

SCRIPT = PROJECT_DIR / "packer" / "scripts" / "xenserver" / "generalise.sh"
STANDIN_RENAME = PROJECT_DIR / "packer" / "scripts" / "standin" / "standin-files" / "bin" / "interface-rename.py"
RENAME = "/etc/sysconfig/network-scripts/interface-rename.py"
# What a first boot left that generalise must remove (xen-api scripts/reset-and-reboot,
# ocaml/xapi/xapi_pool.ml eject): the script's own list, seeded here.
STATE = ("/var/lib/xcp/state.db", "/var/lib/xcp/networkd.db", "/var/lib/misc/ran-network-init",
         "/etc/firstboot.d/data/iqn.conf", "/etc/xensource/xapi-ssl.pem", "/etc/ssh/ssh_host_test_key")

DRIVER = textwrap.dedent("""\
    set -eu
    results=$1 script=$2 tool=$3
    mount -t tmpfs tmpfs /run
    mkdir -p /run/results /run/bin
    mount --bind "$results" /run/results
    for d in etc var root; do
      mkdir -p "/run/overlay/$d/upper" "/run/overlay/$d/work"
      mount -t overlay overlay -o "lowerdir=/$d,upperdir=/run/overlay/$d/upper,workdir=/run/overlay/$d/work" "/$d"
    done
    [ -z "$tool" ] || install -D -m 0755 "$tool" /etc/sysconfig/network-scripts/interface-rename.py
    cp "$script" /run/bin/generalise.sh  # the checkout may live under /tmp, hidden next
    mount -t tmpfs tmpfs /tmp
    mount -t tmpfs tmpfs /var/tmp
    for stub in systemctl journalctl; do
      printf '#!/bin/sh\\necho "%s $*" >> /run/results/calls.log\\n' "$stub" > "/run/bin/$stub"
      chmod 0755 "/run/bin/$stub"
    done
    for f in $STATE; do mkdir -p "${f%/*}" && echo state > "$f"; done
    echo 0123456789abcdef0123456789abcdef > /etc/machine-id
    printf 'Defaults requiretty\\nroot ALL=(ALL) ALL\\n' > /etc/sudoers
    rc=0
    PATH=/run/bin:/usr/sbin:/usr/bin:/sbin:/bin sh -eu /run/bin/generalise.sh > /run/results/out 2>&1 || rc=$?
    echo "$rc" > /run/results/rc
    for f in $STATE; do [ ! -e "$f" ] || echo "$f" >> /run/results/left; done
    wc -c < /etc/machine-id > /run/results/machine-id-bytes
    cp /etc/sudoers /run/results/sudoers
    cp /var/log/xenlab-standin/interface-rename-calls.log /run/results/ 2>/dev/null || true
""")


def generalise(tmp_path: Path, tool: Path | None) -> dict:
    require_root()
    require_tool("unshare")
    results = tmp_path / "results"
    results.mkdir()
    host_machine_id = Path("/etc/machine-id").read_bytes() if Path("/etc/machine-id").exists() else None
    driver = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", DRIVER, "driver",
                             results, SCRIPT, tool or ""], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                                                "STATE": " ".join(STATE)},
                            timeout=120, capture_output=True, text=True)
    assert driver.returncode == 0, driver.stderr
    # The namespace's changes stayed in it.
    assert (Path("/etc/machine-id").read_bytes() if Path("/etc/machine-id").exists() else None) == host_machine_id
    assert not Path(RENAME).exists()

    def read(name):
        path = results / name
        return path.read_text() if path.exists() else ""
    return {name: read(name) for name in ("rc", "out", "left", "calls.log", "machine-id-bytes", "sudoers",
                                          "interface-rename-calls.log")}


def test_with_interface_rename_the_rules_are_reset_to_install(tmp_path):
    done = generalise(tmp_path, STANDIN_RENAME)
    assert done["rc"].strip() == "0", done["out"]
    assert done["interface-rename-calls.log"].split()[1:] == ["interface-rename.py", "--reset-to-install"]
    assert done["out"].strip().endswith("xenlab: generalised: the next boot is a new host's first boot")
    # The rest of the recipe still ran: the toolstack stopped first, the state gone.
    assert done["calls.log"].splitlines()[0] == "systemctl stop xapi.service"
    assert done["left"] == "" and done["machine-id-bytes"].strip() == "0"
    assert "# Defaults requiretty" in done["sudoers"]


def test_without_the_tool_nothing_is_reset_and_the_rest_runs(tmp_path):
    done = generalise(tmp_path, None)
    assert done["rc"].strip() == "0", done["out"]
    assert done["interface-rename-calls.log"] == ""
    assert done["left"] == "" and "generalised" in done["out"]


@pytest.mark.parametrize("exit_code", [1, 2])
def test_a_failing_reset_stops_generalise_before_the_box_is_packed(tmp_path, exit_code):
    tool = tmp_path / "interface-rename.py"
    tool.write_text(f"#!/bin/sh\necho 'cannot read the rename state' >&2\nexit {exit_code}\n")
    tool.chmod(0o755)
    done = generalise(tmp_path, tool)
    assert done["rc"].strip() == str(exit_code)
    assert "cannot read the rename state" in done["out"] and "generalised" not in done["out"]
