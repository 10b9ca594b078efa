"""Nova's own XenAPI driver boots an instance on the lab (flavours with Nova's compute probe).

The probe service on the devstack host (vagrant/devstack/nova-probe.py) is asked
`lifecycle` once, in one remote command: it runs spawn -> reboot soft and hard -> power
off -> power on -> snapshot -> destroy through Nova 21.2.4's XenAPIDriver against the
lab's XenAPI (on the stand-in, its simulated host: no guest really runs) and answers
one JSON document with what XenAPI showed after each step. Each check reads its step
from that answer (xenlab/devstack/instance.py); real flavours' checks carry the same
names (test_instance_server.py).
"""

import pytest

from xenlab.devstack import instance


@pytest.fixture(scope="module")
def lifecycle(host, ctx, ask_probe):
    # Module scope: testinfra's `host` is module-scoped, and every check of the run is in this module.
    probe = ctx["nova_probe"]
    assert probe, "this lab's flavour gives the devstack machine no Nova probe"
    try:
        return instance.from_probe(ask_probe(host, probe["lifecycle"], probe["service"]))
    except instance.BadAnswer as exc:
        pytest.fail(f"Nova's probe gave no instance lifecycle: {exc}", pytrace=False)


# test_instance_spawn, _reboot_soft, _reboot_hard, _power_off, _power_on, _snapshot, _destroy_leaves_nothing
globals().update(instance.check_functions(instance.STEPS, instance.problems))
