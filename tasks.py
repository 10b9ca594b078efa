"""Lets `invoke <task>` work in a checkout; the tasks live in xenlab/tasks.py."""

from xenlab.tasks import ns  # noqa: F401  (invoke looks for `ns`)
