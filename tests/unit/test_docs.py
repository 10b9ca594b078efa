"""README is the front door and docs/ the manual: CI runs the test command the README
gives, the README names every task and stays short, every page is reachable from it,
and no link in them leads nowhere."""

import re
from pathlib import Path

from xenlab.core.paths import PROJECT_DIR
from xenlab.collection import ns

README_PATH = PROJECT_DIR / "README.md"
DOCS = sorted((PROJECT_DIR / "docs").glob("*.md"))
README = README_PATH.read_text()
CI = (PROJECT_DIR / ".ci" / "run").read_text()
README_MAX_LINES = 200

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$")


def prose(text: str) -> str:
    """The text outside fenced code blocks (a `#` there is a comment, not a heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for line in prose(path.read_text()).splitlines():
        if m := HEADING.match(line):
            slug = anchor(m.group(1))
            seen[slug] = seen.get(slug, -1) + 1
            found.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")  # GitHub numbers repeats
    return found


def relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(prose(path.read_text())) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def broken_links(path: Path) -> list[str]:
    """The relative links in a Markdown file whose file, or anchor in it, does not exist."""
    broken = []
    for target in relative_links(path):
        file, _, fragment = target.partition("#")
        dest = (path.parent / file) if file else path
        if not dest.exists() or (fragment and (dest.suffix != ".md" or fragment not in anchors(dest))):
            broken.append(f"{path.name}: {target}")
    return broken


def test_ci_runs_the_test_command_the_readme_gives():
    command = "./bootstrap && .venv/bin/invoke test"
    assert f"`{command}`" in README or f"\n{command} " in README
    assert CI.rstrip().splitlines()[-1] == command


def test_the_docs_have_no_unfilled_placeholder():
    # Real names written in capitals: the stand-in's note, a protocol.
    real = {"XENLAB-STAND-IN", "XML-RPC"}
    for page in [README_PATH, *DOCS]:
        words = set(re.findall(r"\b[A-Z]{3,}(?:-[A-Z]{2,})+\b", page.read_text())) - real
        assert not words, (page.name, words)


def test_every_task_is_in_the_readme():
    missing = [name for name in ns.task_names if f"invoke {name}" not in README and f"`{name}`" not in README]
    assert missing == []


def test_the_readme_is_a_front_door():
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; the manual belongs in docs/"


def test_every_docs_page_is_linked_from_the_readme():
    assert DOCS, "docs/ has no pages"
    linked = {(README_PATH.parent / t.partition("#")[0]).resolve() for t in relative_links(README_PATH)}
    assert [p.name for p in DOCS if p.resolve() not in linked] == []


def test_every_relative_link_resolves():
    assert [b for page in [README_PATH, *DOCS] for b in broken_links(page)] == []


def test_a_link_to_a_missing_file_or_anchor_is_found(tmp_path):
    (tmp_path / "other.md").write_text("# Plain `vagrant up`\n\n## Nova's compute probe\n\n## Notes\n\n## Notes\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n```\n# not a heading\n```\n"
        "[ok](other.md#plain-vagrant-up) [ok](other.md#novas-compute-probe) [ok](#top) [ok](other.md#notes-1)\n"
        "[web](https://example.org/x) [gone](missing.md) [no anchor](other.md#nowhere) [code](#not-a-heading)\n"
    )
    assert [b.split(": ", 1)[1] for b in broken_links(page)] == ["missing.md", "other.md#nowhere", "#not-a-heading"]


def test_every_setting_is_in_the_configuration_reference():
    """docs/configuration.md's xenlab.toml names every setting of the config model."""
    from xenlab.core.config import Settings

    text = (PROJECT_DIR / "docs" / "configuration.md").read_text()
    missing = [f"[{section}] {key}" for section, field in Settings.model_fields.items()
               for key in field.annotation.model_fields if not re.search(rf"^{key} += ", text, re.M)]
    assert not missing, f"docs/configuration.md does not name {missing}"
