"""Lets `invoke <task>` work in a checkout; the tasks live in xenlab/collection.py."""

from xenlab.collection import ns  # noqa: F401  (invoke looks for `ns`)
