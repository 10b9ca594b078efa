"""Nova boots a server on the lab through the OpenStack API (flavours where stack.sh ran).

On the devstack host, as DevStack's user with its openrc: the VHD image and the smallest
flavor DevStack made, `openstack server create --wait`, the server's console log, then
`openstack server delete --wait` (each call bounded) and nothing of it left. Two remote
commands: one finds what to boot, one runs the server's life
(xenlab/devstack/server.py). The checks carry the stand-in's names
(test_instance_driver.py), so both answer: can Nova boot an instance on this lab?
"""

import pytest

from xenlab.devstack import instance, server


@pytest.fixture(scope="module")
def lifecycle(host, ctx, gather):
    # Module scope: testinfra's `host` is module-scoped, and every check of the run is in this module.
    user = ctx["devstack"]["user"]
    try:
        found = gather(host, {"discover": server.remote(user, server.discovery_script())})["discover"]
        choice = server.choose(server.records(found))
        name = server.server_name()
        ran = gather(host, {"lifecycle": server.remote(user, server.lifecycle_script(choice, name))})["lifecycle"]
        return server.lifecycle(server.records(ran), choice, name)
    except instance.BadAnswer as exc:
        pytest.fail(f"cannot boot a server on the devstack host: {exc}", pytrace=False)


# test_instance_spawn, test_instance_console_log, test_instance_destroy_leaves_nothing
globals().update(instance.check_functions(server.STEPS, server.problems))
