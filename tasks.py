"""Lets `invoke <task>` work in a checkout; the tasks live in xenlab/collection.py."""

import sys

from xenlab.cli import usage_errors_exit_2
from xenlab.collection import ns  # noqa: F401  (invoke looks for `ns`)

# invoke's own Program loads this file before it parses the tasks' arguments: from
# here on a command line it cannot parse is a usage error (exit 2), as under `xenlab`.
usage_errors_exit_2(getattr(sys.modules.get("invoke.main"), "program", None))
