"""docs/ci's GitHub Actions workflow: valid against GitHub's workflow schema, as the
check-jsonschema package ships it (run with no network at all, so nothing is fetched),
and it does what the recipe promises, in order, on the paths xenlab really writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.prereq import require_root, require_tool
from xenlab.core.paths import PROJECT_DIR, LabPaths

RECIPE = PROJECT_DIR / "docs" / "ci" / "github-actions-kvm.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def validate(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with its vendored github-workflows schema, in a namespace with no network."""
    require_root()
    require_tool("unshare")
    assert CHECK.is_file(), "check-jsonschema is missing from .venv: run ./bootstrap (test extras)"
    return subprocess.run(["unshare", "--net", str(CHECK), "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, timeout=120)


def test_the_recipe_is_a_valid_github_workflow():
    done = validate(RECIPE)
    assert done.returncode == 0 and "ok -- validation done" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("breakage", [
    ("    runs-on: ubuntu-24.04\n", ""),                  # a job with nowhere to run
    ("timeout-minutes: 240", "timeout-minutes: four hours"),
    ("      - uses: actions/checkout@v4\n", "      - usses: actions/checkout@v4\n"),
])
def test_the_schema_check_refuses_a_broken_copy(tmp_path, breakage):
    text = RECIPE.read_text()
    assert breakage[0] in text
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(breakage[0], breakage[1], 1))
    done = validate(broken)
    assert done.returncode == 1 and "Schema validation errors were encountered" in done.stdout, done.stdout


def steps() -> list[dict]:
    (job,) = yaml.safe_load(RECIPE.read_text())["jobs"].values()
    return job["steps"]


def index(predicate) -> int:
    found = [i for i, step in enumerate(steps()) if predicate(step)]
    assert len(found) == 1, found
    return found[0]


def runs(command: str):
    return lambda step: any(line.strip() == command for line in step.get("run", "").splitlines())


def test_it_boots_builds_ups_and_verifies_in_that_order():
    order = [index(runs("./bootstrap")), index(runs(".venv/bin/invoke build")), index(runs("vagrant up")),
             index(runs(".venv/bin/invoke verify"))]
    assert order == sorted(order)
    # Plain `vagrant up` reads the lab spec `invoke plan` renders.
    assert index(runs(".venv/bin/invoke plan")) == order[2]


def test_the_boxes_are_cached_where_build_puts_them():
    cache = steps()[index(lambda s: s.get("uses", "").startswith("actions/cache@"))]
    paths = LabPaths(Path("."), "any")
    assert str(paths.boxes) in cache["with"]["path"].split()
    assert index(lambda s: s.get("uses", "").startswith("actions/cache@")) < index(runs(".venv/bin/invoke build"))


def test_verify_xml_is_a_junit_report_and_the_logs_are_kept_on_failure():
    here = LabPaths(Path("."), "*")
    junit = steps()[index(lambda s: "junit" in s.get("uses", ""))]
    assert junit["with"]["report_paths"] == str(here.report) and junit["if"] == "${{ !cancelled() }}"
    logs = steps()[index(lambda s: s.get("name") == "Keep the lab's logs")]
    assert logs["if"] == "${{ failure() }}" and logs["uses"].startswith("actions/upload-artifact@")
    assert f"{here.log('x').parent}/" in logs["with"]["path"].split()


def test_the_lab_always_goes_down_last():
    down = index(runs(".venv/bin/invoke down --purge"))
    assert down == len(steps()) - 1 and steps()[down]["if"] == "${{ always() }}"


def test_the_password_comes_from_a_secret():
    (job,) = yaml.safe_load(RECIPE.read_text())["jobs"].values()
    assert job["env"]["XENLAB_PASSWORD"] == "${{ secrets.XENLAB_PASSWORD }}"
