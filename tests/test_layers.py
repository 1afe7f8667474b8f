"""The floors of the code: each module imports only from its own floor or the ones below.

    0  the core's small modules (errors, files, paths, registry, contract, ...)
    1  notation/       ABC text, formats, conversion: the ground floor for music
    2  analysis/       what a piece is: features, emotion, declarations, labels
    3  data/ scoring/ steering/ alignment/ evolution/ training/ generation, plugin (the surface
       a family imports, which re-exports from the floors below)
    4  cli/

Plugins (the model families) import the core but never the CLI nor one another. Every
import in the source is read with `ast`, lazy ones inside functions included, so a loop
between floors (notation reading analysis, which reads notation) fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = {"__init__", "errors", "files", "paths", "device", "parallel", "config", "registry", "model_dir",
        "registered_models", "models", "model_import", "training_state", "contract", "conditions", "slots"}
FLOORS = {"notation": 1, "analysis": 2, "data": 3, "scoring": 3, "steering": 3, "alignment": 3, "evolution": 3,
          "training": 3, "generation": 3, "plugin": 3, "cli": 4, "__main__": 4}


def _part(module: str) -> str:
    """The first name under musegen_cli ('notation', 'errors') of a dotted module name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor(module: str) -> int:
    part = _part(module)
    if part in BASE:
        return 0
    assert part in FLOORS, f"{module}: put musegen_cli.{part} on a floor in tests/test_layers.py"
    return FLOORS[part]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every musegen_cli or plugins module the file imports, relative imports resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names = [".".join([*base, *([node.module] if node.module else [])])]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in ("musegen_cli", "plugins"))
    return found


def _sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def test_the_helpers_read_imports_and_floors() -> None:
    assert floor("musegen_cli.notation.abc.fields") == 1 and floor("musegen_cli.errors") == 0
    assert floor("musegen_cli.generation") == 3 and floor("musegen_cli") == 0
    reader = ROOT / "musegen_cli" / "notation" / "abc" / "reader.py"
    assert any(name.startswith("musegen_cli.notation.abc") for name in imports(reader))


@pytest.mark.parametrize("path", _sources("musegen_cli"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_core_module_imports_nothing_above_its_floor(path: Path) -> None:
    module = _module_name(path)
    upward = [name for name in imports(path) if name.startswith("plugins") or floor(name) > floor(module)]
    assert not upward, f"{module} (floor {floor(module)}) imports from above: {sorted(upward)}"


@pytest.mark.parametrize("path", _sources("plugins"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_family_imports_the_core_but_not_the_cli_nor_another_family(path: Path) -> None:
    family = _module_name(path).split(".")[:2]
    wrong = [name for name in imports(path)
             if (name.startswith("musegen_cli") and floor(name) == 4)
             or (name.startswith("plugins.") and name.split(".")[:2] != family)]
    assert not wrong, f"{_module_name(path)} imports {sorted(wrong)}"


def test_the_packages_on_one_floor_form_no_circle() -> None:
    graph: dict[str, set[str]] = {}
    for path in _sources("musegen_cli"):
        source = _part(_module_name(path))
        graph.setdefault(source, set()).update(
            _part(name) for name in imports(path) if name.startswith("musegen_cli") and _part(name) != source)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                   for nxt in graph.get(start, ()))

    circles = sorted(part for part in graph if reaches(part, part, {part}))
    assert not circles, f"packages in an import circle: {circles}"
