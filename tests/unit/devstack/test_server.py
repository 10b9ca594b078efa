"""Real flavours' server smoke check, read from recorded `openstack ... -f json` output.

The recordings (recorded/osc-*) are constructed in python-openstackclient 4.0.2's output
shapes with what DevStack train-eol makes (recorded/README); no live DevStack here.
The shell that runs each call (server.RUN) runs for real with bash.
"""

import json
import subprocess
from pathlib import Path

import pytest

from xenlab.devstack import server
from xenlab.devstack.instance import BadAnswer

RECORDED = Path(__file__).parent / "recorded"
NAME = "xenlab-verify-0123456789"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def record(name: str, out: str = "", rc: int = 0, seconds: float = 1.0, err: str = "") -> str:
    """One record as server.RUN prints it."""
    return f"{server.RECORD}{name} {rc} 1000.25 {1000.25 + seconds}\n{out}\n{server.STDERR}\n{err}\n"


def discovered(**replace) -> dict:
    rows = {"images": recorded("osc-image-list-long.json"), "flavors": recorded("osc-flavor-list.json"),
            "networks": recorded("osc-network-list-internal.json"), **replace}
    return server.records("".join(record(name, out) for name, out in rows.items()))


def test_devstack_s_vhd_image_its_smallest_flavor_and_private_network_are_chosen():
    choice = server.choose(discovered())
    assert choice.image == {"id": "2f1b3c5e-8a43-4d0e-9a6b-5e0c9b1f8a01", "name": "cirros-0.3.5-x86_64-disk",
                            "bytes": 13287936}
    assert choice.flavor == {"id": "c1", "name": "cirros256"}
    assert choice.network == {"id": "3d2f1e0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f", "name": "private"}


def test_without_a_vhd_image_the_check_says_xenapi_boots_vhd_only():
    uec_only = [r for r in json.loads(recorded("osc-image-list-long.json")) if r["Disk Format"] != "vhd"]
    with pytest.raises(BadAnswer, match="no active vhd image to boot .XenAPI boots VHD images only.; images: "
                                        "cirros-0.3.5-x86_64-uec .ami, active."):
        server.choose(discovered(images=json.dumps(uec_only)))


def test_networks_without_devstack_s_private_one_or_none_at_all():
    two = [{"ID": "n2", "Name": "zeta", "Subnets": ["s2"]}, {"ID": "n1", "Name": "alpha", "Subnets": ["s1"]},
           {"ID": "n0", "Name": "bare", "Subnets": []}]
    assert server.choose_network(two) == {"id": "n1", "name": "alpha"}
    assert server.choose_network([]) is None
    script = server.lifecycle_script(server.Choice({"id": "i", "name": "img"}, {"id": "c1", "name": "f"}, None), NAME)
    assert "--os-compute-api-version 2.37 server create --image i --flavor c1 --nic none --wait" in script


def test_a_failed_listing_is_one_line_with_what_openstack_said():
    found = server.records(record("images", "", rc=1, err="Failed to discover available identity versions when "
                                  "contacting http://192.168.57.11/identity. Attempting to parse version from URL.\n"
                                  "Could not find versioned identity endpoints when attempting to authenticate.")
                           + record("flavors", "[]") + record("networks", "[]"))
    with pytest.raises(BadAnswer) as exc:
        server.choose(found)
    assert str(exc.value).startswith("`openstack image list` failed: Failed to discover available identity "
                                     "versions") and str(exc.value).endswith("(exit 1)")


def lifecycle_output(create=None, show=None, console=None, delete=None, servers="[]", ports="[]") -> str:
    create = create or record("create", recorded("osc-server-create-wait.txt"), seconds=71.4)
    show = show or record("show", recorded("osc-server-show.json"), seconds=2.1)
    console = console or record("console", recorded("osc-console-log.txt"), seconds=2.3)
    delete = delete or record("delete", "", seconds=9.6)
    return create + show + console + delete + record("servers", servers) + record("ports", ports)


def run(output: str):
    return server.lifecycle(server.records(output), server.choose(discovered()), NAME)


def test_a_server_that_boots_logs_and_goes_away_passes_every_check():
    lc = run(lifecycle_output())
    assert [(s.name, s.seconds, s.ok) for s in lc.steps] == [("spawn", 71.4, True), ("console-log", 2.3, True),
                                                             ("destroy", 9.6, True)]
    assert lc.on == "xenlab-xenserver, through the OpenStack API"
    assert lc.step("spawn").facts["status"] == "ACTIVE" and lc.step("console-log").facts["lines"] == 11
    assert {name: server.problems(lc, name) for name in server.STEPS} == {name: [] for name in server.STEPS}


def test_a_build_that_ends_in_error_gives_nova_s_fault_and_still_deletes():
    lc = run(lifecycle_output(
        create=record("create", "Error creating server", rc=1, seconds=160.2,
                      err="Error creating server: xenlab-verify-0123456789"),
        show=record("show", recorded("osc-server-show-error.json"))))
    assert server.problems(lc, "spawn") == [
        "spawn failed after 160.2 s: Error creating server: xenlab-verify-0123456789 (exit 1); Nova's fault: "
        "Build of instance c7a1e2d3-4b5f-4c6d-9e8a-0b1c2d3e4f5a aborted: XENAPI_PLUGIN_FAILURE download_vhd2 ..."]
    assert server.problems(lc, "console-log") == [
        "console-log was not reached: the run stopped at spawn (Error creating server: xenlab-verify-0123456789 "
        "(exit 1); Nova's fault: Build of instance c7a1e2d3-4b5f-4c6d-9e8a-0b1c2d3e4f5a aborted: "
        "XENAPI_PLUGIN_FAILURE download_vhd2 ...)"]
    assert server.problems(lc, "destroy") == []


def test_create_that_exits_0_without_json_is_a_failed_spawn():
    # OSC's --wait writes "Error creating server" and raises a bare SystemExit (compute/v2/server.py).
    lc = run(lifecycle_output(create=record("create", "Error creating server", rc=0),
                              show=record("show", recorded("osc-server-show-error.json"))))
    assert server.problems(lc, "spawn")[0].startswith(
        "spawn failed after 1.0 s: `openstack server create --wait` said 'Error creating server'")


def test_a_build_that_overruns_its_bound_is_said_so():
    lc = run(lifecycle_output(create=record("create", "\rProgress: 0", rc=124, seconds=600.0)))
    assert server.problems(lc, "spawn")[0].startswith("spawn failed after 600.0 s: no answer within its bound (600 s)")


def test_an_empty_console_log_and_a_server_that_stays_are_named():
    lc = run(lifecycle_output(console=record("console", ""),
                              delete=record("delete", "Error deleting server", rc=124, seconds=300.0),
                              servers=json.dumps([{"ID": "c7a1", "Name": NAME, "Status": "ACTIVE"}]),
                              ports=json.dumps([{"ID": "p-1", "Name": "", "MAC Address": "fa:16:3e:4d:7a:21"}])))
    assert server.problems(lc, "console-log") == [
        "the server's console log is empty (nothing from the guest through Nova's get_console_output)"]
    assert server.problems(lc, "destroy") == ["destroy failed after 300.0 s: no answer within its bound (300 s)"]


def test_after_a_delete_that_says_done_a_server_or_port_still_listed_fails_the_check():
    lc = run(lifecycle_output(ports=json.dumps([{"ID": "p-1", "Name": ""}])))
    assert server.problems(lc, "destroy") == ["destroy left behind 1 ports (p-1)"]


def test_a_listing_after_the_delete_that_fails_leaves_the_check_unpassed():
    lc = run(lifecycle_output().replace(record("ports", "[]"), record("ports", "", rc=1, err="Unauthorized (HTTP 401)")))
    assert server.problems(lc, "destroy") == [
        "destroy failed after 9.6 s: `openstack port list` after the delete failed: Unauthorized (HTTP 401) (exit 1)"]
    lc = run(lifecycle_output().replace(record("servers", "[]"), ""))
    assert server.problems(lc, "destroy") == [
        "destroy failed after 9.6 s: `openstack server list` did not run after the delete"]


def test_a_server_that_power_state_is_not_running_fails_spawn():
    show = json.loads(recorded("osc-server-show.json"))
    show["OS-EXT-STS:power_state"] = "Shutdown"
    lc = run(lifecycle_output(show=record("show", json.dumps(show))))
    assert server.problems(lc, "spawn") == ["Nova shows the server's power state 'Shutdown', not 'Running'"]


def test_the_lifecycle_script_bounds_every_call_and_names_a_fresh_server():
    script = server.lifecycle_script(server.choose(discovered()), NAME)
    calls = [line for line in script.splitlines() if "run " in line]
    assert len(calls) == 6 and all(line.split("run ")[1].split()[1].isdigit() for line in calls)
    assert f"run create {server.BUILD_TIMEOUT} openstack server create --image 2f1b3c5e-8a43-4d0e-9a6b-5e0c9b1f8a01 " \
           f"--flavor c1 --network 3d2f1e0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f --wait -f json {NAME}" in script
    assert f"run delete {server.DELETE_TIMEOUT} openstack server delete --wait {NAME}" in script
    assert server.server_name() != server.server_name()


def test_the_shell_that_runs_each_call_records_code_time_output_and_error():
    script = "\n".join([
        server.RUN,
        "run listed 5 printf '[{\"ID\": \"x\"}]'",
        "run noisy 5 sh -c 'echo out; echo \"a warning\" >&2; exit 3'",
        "run slow 1 sleep 5",
    ])
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    found = server.records(done.stdout)
    assert found["listed"].json() == [{"ID": "x"}] and found["listed"].rc == 0
    assert (found["noisy"].rc, found["noisy"].out, found["noisy"].err) == (3, "out", "a warning")
    assert found["slow"].rc == 124 and 0.9 < found["slow"].seconds < 3


def test_the_remote_command_sources_openrc_and_says_so_when_it_cannot():
    command = server.remote("stack", "run listed 5 echo '[]'")
    assert command.startswith("sudo -u stack -H bash -c ")
    body = command[len("sudo -u stack -H bash -c "):]
    # Run the body here, without sudo: this machine has no DevStack openrc.
    done = subprocess.run(["bash", "-c", f"eval bash -c {body}"], capture_output=True, text=True, timeout=30)
    found = server.records(done.stdout)
    assert found["openrc"].rc == 1 and found["listed"].json() == []


def test_real_flavours_checks_carry_the_stand_in_s_names():
    from xenlab.devstack import instance

    real = instance.check_functions(server.STEPS, server.problems)
    standin = instance.check_functions(instance.STEPS, instance.problems)
    assert list(real) == ["test_instance_spawn", "test_instance_console_log", "test_instance_destroy_leaves_nothing"]
    assert {"test_instance_spawn", "test_instance_destroy_leaves_nothing"} <= set(standin) & set(real)
    assert all(fn.__name__ == name for name, fn in real.items())
