"""A MusicGen name that is not installed says how to get it; the debug model has a command line."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.registry import reset_registry


def test_an_uninstalled_musicgen_name_says_what_to_download_and_where_it_goes():
    reset_registry()
    result = CliRunner().invoke(app, ["generate", "-m", "musicgen-small", "--text", "calm piano"])
    assert result.exit_code == 2
    assert "unknown model 'musicgen-small'" in result.stderr
    assert "python -m musegen_plugins.musicgen.weights facebook/musicgen-small models/musicgen-small" in result.stderr
    assert "-m models/musicgen-small" in result.stderr and "Traceback" not in result.stderr


def test_the_debug_module_writes_a_model_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "musegen_plugins.musicgen.debug", str(tmp_path / "m"), "--seed", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m" / "musegen.json").is_file() and (tmp_path / "m" / "config.json").is_file()
    usage = subprocess.run([sys.executable, "-m", "musegen_plugins.musicgen.debug"], capture_output=True, text=True,
                           timeout=300)
    assert usage.returncode == 2 and "usage:" in usage.stderr
