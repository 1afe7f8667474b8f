"""Every model family imports musegen through one module, `musegen_cli.plugin`, and otherwise
only its own modules: the built-in families (plugins/), the scorer's family (music-encoder,
whose modules live in musegen_cli/scoring/) and the worked third-party plugin (examples/).
Imports are read with `ast`, lazy ones inside functions and under TYPE_CHECKING included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_layers import ROOT, _module_name, _sources, imports

SURFACE = "musegen_cli.plugin"
#: The music-encoder family's own modules (the rest of musegen_cli/scoring/ is core that uses it).
MUSIC_ENCODER = {
    f"musegen_cli.scoring.{name}"
    for name in (
        "family",
        "encoder_options",
        "encoder_training",
        "scorer",
        "music_encoder",
        "text_encoder",
        "descriptions",
    )
} | {"musegen_cli.scoring"}  # `from musegen_cli.scoring import descriptions`
EXAMPLE = ROOT / "examples" / "markov_plugin" / "src"


def _family_sources() -> list[Path]:
    scoring = [
        ROOT / "musegen_cli" / "scoring" / f"{name.rsplit('.', 1)[1]}.py"
        for name in sorted(MUSIC_ENCODER)
        if name != "musegen_cli.scoring"
    ]
    return _sources("plugins") + scoring + sorted(EXAMPLE.rglob("*.py"))


def _own(path: Path) -> set[str]:
    """The modules a family file may import besides the surface: its family's own."""
    module = _module_name(path)
    if module in MUSIC_ENCODER:
        return MUSIC_ENCODER
    if path.is_relative_to(EXAMPLE):
        return set()  # its own package is musegen_markov, which `imports` does not report
    package = ".".join(module.split(".")[:2])  # plugins.<family>
    return {name for name in (_module_name(p) for p in _sources("plugins")) if name.startswith(package)} | {package}


def wrong_imports(found: set[str], own: set[str]) -> list[str]:
    """The musegen modules in ``found`` that are neither the surface nor the family's own."""
    return sorted(
        name
        for name in found
        if name.split(".")[0] in ("musegen_cli", "plugins") and name != SURFACE and name not in own
    )


@pytest.mark.parametrize("path", _family_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_family_imports_only_the_plugin_surface_and_its_own_modules(path: Path) -> None:
    wrong = wrong_imports(imports(path), _own(path))
    assert not wrong, f"{_module_name(path)} imports {wrong}; import them from {SURFACE}"


def test_the_surface_exports_what_it_names() -> None:
    from musegen_cli import plugin

    missing = [name for name in plugin.__all__ if not hasattr(plugin, name)]
    assert not missing and len(plugin.__all__) == len(set(plugin.__all__))


def test_importing_the_surface_loads_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, musegen_cli.plugin; print('torch' in sys.modules, 'numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_the_check_names_core_imports_and_another_familys_modules() -> None:
    own = _own(ROOT / "plugins" / "muser" / "family.py")
    assert "plugins.muser.inference" in own and "plugins.musicgen" not in own
    found = {SURFACE, "plugins.muser.options", "musegen_cli.errors", "plugins.musicgen.layers"}
    assert wrong_imports(found, own) == ["musegen_cli.errors", "plugins.musicgen.layers"]
    lazy = ROOT / "plugins" / "muser" / "data.py"  # its conversions are imported inside functions
    assert SURFACE in imports(lazy)
