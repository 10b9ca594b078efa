"""The package's shape, read from its code.

- Variants are data: behaviour a flavour needs is a field of its file
  (core/flavours.py); `==`, `!=`, `in` or a `match` against a literal flavour
  name is a flavour-name test in disguise, and none may appear in the package.
- One process runner (core/proc.py) and one place for file writes (core/files.py).
"""

import ast

from xenlab.core import config
from xenlab.core.paths import PACKAGE_DIR


def _literals(node) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [v for elt in node.elts for v in _literals(elt)]
    return []


def test_no_module_compares_with_a_flavour_name():
    names = set(config.available_flavours())
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            operands = []
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
            elif isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue):
                operands = [node.pattern.value]
            hits = [v for operand in operands for v in _literals(operand) if v in names]
            if hits:
                found.append(f"{path.relative_to(PACKAGE_DIR)}:{node.lineno}: {hits}")
    assert found == [], "flavour names compared in code (make it flavour data): " + "; ".join(found)


def test_the_scan_sees_a_comparison_when_there_is_one():
    tree = ast.parse('if cfg.lab.flavour == "standin":\n    pass\nx = name in ("xcp-ng-8.2", "y")\n')
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    assert [_literals(c.comparators[0]) for c in compares] == [["standin"], ["xcp-ng-8.2", "y"]]


def test_one_process_runner_and_one_place_for_file_writes():
    """core/proc.py starts every process and core/files.py writes every file (by hand:
    write_text, write_bytes, open for writing); streams into tar files or a copy's own
    handle are the exceptions, named here."""
    allowed_opens = {"images/baseimage.py": 1, "machines/saves.py": 1}
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE_DIR))
        if rel in ("core/proc.py", "core/files.py") or rel.startswith("sim/"):
            continue  # the runner, the writer, and the simulator (stdlib only, it runs in the guest)
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if "subprocess" in mods:
                    found.append(f"{rel}:{node.lineno}: imports subprocess")
            if isinstance(node, ast.Attribute) and node.attr in ("write_text", "write_bytes"):
                found.append(f"{rel}:{node.lineno}: {node.attr}")
        opens = text.count('.open("wb")') + text.count(".open('wb')") + text.count('.open("w")')
        if opens > allowed_opens.get(rel, 0):
            found.append(f"{rel}: {opens} open(...) for writing")
    assert found == [], found


ABOVE_CORE = ("stages", "machines", "images", "xenserver", "devstack", "commands", "sim", "suites")


def _reaches_above_core(source: str) -> list[str]:
    """Imports of a layer above core/, and module paths written as strings (importlib)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [module] if node.level < 2 else [f"{module}.{a.name}" if module else a.name for a in node.names]
            if node.level >= 2 or module.startswith("xenlab."):
                found += [n for n in names if n.removeprefix("xenlab.").split(".")[0] in ABOVE_CORE]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[:2][-1] in ABOVE_CORE
                      and a.name.startswith("xenlab.")]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [node.value for layer in ABOVE_CORE if f"xenlab.{layer}" in node.value
                      or node.value.startswith(f"..{layer}")]
    return found


def test_core_imports_nothing_above_it():
    """core/ is the ground floor: no import, string or otherwise, of a layer above it."""
    found = {p.name: hits for p in sorted((PACKAGE_DIR / "core").glob("*.py"))
             if (hits := _reaches_above_core(p.read_text()))}
    assert found == {}


def test_the_core_scan_sees_every_way_up():
    assert _reaches_above_core("from ..stages import lifecycle\n") == ["stages.lifecycle"]
    assert _reaches_above_core("from .. import machines\n") == ["machines"]
    assert _reaches_above_core("import xenlab.images.packer\n") == ["xenlab.images.packer"]
    assert _reaches_above_core('target = "xenlab.stages.up:XENSERVER"\n') == ["xenlab.stages.up:XENSERVER"]
    assert _reaches_above_core("from ..errors import ConfigError\nfrom . import files\n") == []
