"""The small stand-in lab the tests and benchmarks bring up (two TCG machines).

Shared so every test that needs a running lab asks for the same shape.
"""

from __future__ import annotations

import os

# The stand-in box's root/XenAPI password is the lab password it was built with.
PASSWORD = os.environ.get("XENLAB_PASSWORD") or "xenlab-test-Pw1"


def config_toml(name: str) -> str:
    """xenlab.toml for a stand-in lab called `name`: as small as the machines go."""
    return (
        f'[lab]\nname = "{name}"\nflavour = "standin"\naccelerator = "tcg"\n'
        "[xenserver]\nmemory_mb = 2048\ncpus = 1\n"
        "[devstack]\nmemory_mb = 1024\ncpus = 1\n"
    )
