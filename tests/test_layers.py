"""The layers import one way: engine ← training ← app, with the CLI above them all.

Read from the source's import statements (not by importing), so a lazy import inside a function counts
too: the engine must not reach up even where it would only do so at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the top-level packages of this project it must never import
FORBIDDEN = {
    "engine": {"training", "app", "bench", "decorlens"},
    "training": {"app", "decorlens"},
    "app": {"decorlens", "bench"},
    "bench": {"decorlens"},  # bench measures the app too (start-up time)
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value.split(".")[0])
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                names.add(str(arg.values[0].value).split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_import_reader_sees_lazy_and_dynamic_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from training import loop\n    import app.main\n"
        "import importlib\nimportlib.import_module(f'decorlens.{x}')\n"
    )
    assert {"training", "app", "decorlens", "importlib"} <= _imported_packages(source)
