"""The package's folders follow the data path, and no module imports from a folder after its own."""
import ast

import pytest

from conftest import ROOT

ORDER = ["errors", "data", "nn", "train", "admm", "pruning", "sparse", "report", "pipeline", "cli",
         "tutorial", "__main__", "__init__"]
PKG = ROOT / "minadmm"


def level(module):
    """Position in ORDER of a module path relative to minadmm/ ('nn/layers.py' -> index of 'nn')."""
    head = module.split("/")[0].removesuffix(".py")
    return ORDER.index(head)


def imported(path):
    """The minadmm folders or modules a file imports, as their first path component."""
    parts = path.relative_to(PKG).parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(parts[:-1])[:len(parts) - node.level]
            target = base + (node.module.split(".") if node.module else [n.name for n in node.names])
            found.add(target[0] if target else None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("minadmm."):
            found.add(node.module.split(".")[1])
    return {f for f in found if f}


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_no_import_goes_back_up(path):
    mine = level(str(path.relative_to(PKG)))
    for target in imported(path):
        if target == "__init__" or mine == level("__init__"):
            continue
        assert level(target) <= mine, f"{path.relative_to(PKG)} imports {target}, which comes after it"


def test_modules_are_small():
    sizes = {str(p.relative_to(PKG)): len(p.read_text().splitlines()) for p in PKG.rglob("*.py")}
    assert max(sizes.values()) <= 350, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
