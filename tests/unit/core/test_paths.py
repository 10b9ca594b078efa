"""One lab's paths and what the labs under one root share."""

from pathlib import Path

from xenlab.core.paths import SHARED_ENTRIES, LabPaths


def test_the_shared_entries_are_exactly_what_labpaths_puts_beside_the_labs():
    paths = LabPaths(Path("/r"), "lab")
    beside = set()
    for name, attr in vars(LabPaths).items():
        if isinstance(attr, property):
            path = getattr(paths, name)
            if path.parent == paths.workdir:
                beside.add(path.name)
    assert beside == set(SHARED_ENTRIES)
    assert paths.lab_dir == Path("/r/.xenlab/lab")
