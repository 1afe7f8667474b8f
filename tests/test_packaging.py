"""The installed package and command, checked as a user meets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from musegen_cli.config import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, name in (("musegen_cli", "musegen_cli"), ("plugins", "musegen_plugins")):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *relative)))
    assert found == listed


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "musegen_cli", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_help_lists_every_subcommand():
    result = run("--help")
    assert result.returncode == 0
    for command in ("train", "generate", "steer", "dpo", "evolve", "convert", "score", "models", "plugins", "config"):
        assert command in result.stdout


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from musegen_cli.cli.app import app; "
        "heavy = [m for m in ('torch', 'music21', 'transformers', 'evotorch', 'ray', 'numpy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == ""


def test_bad_input_is_one_line_and_exit_2_without_traceback():
    result = run("generate", "--emotion", "Q9")
    assert result.returncode == 2
    assert result.stderr.startswith("musegen: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback():
    result = run("--debug", "generate", "--emotion", "Q9")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_the_main_job_runs_on_the_bundled_default_model():
    result = run("generate", "--emotion", "Q1", "--seed", "1", "--bars", "4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("X:1\n") and "\nK:" in result.stdout
