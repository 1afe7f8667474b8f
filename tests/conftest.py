"""Shared fixtures: every test gets its own MUSEGEN_HOME and a fresh plugin registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from musegen_cli import registry


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests run torch on one thread: tiny models step fastest that way, and thread hand-offs
    dominate on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep tests away from the real user folders and from each other's plugins."""
    home = tmp_path_factory.mktemp("musegen-home")
    monkeypatch.setenv("MUSEGEN_HOME", str(home))
    for name in ("MUSEGEN_PLUGINS", "MUSEGEN_DEBUG", "MUSEGEN_DEVICE", "MUSEGEN_THREADS", "MUSEGEN_MODEL"):
        monkeypatch.delenv(name, raising=False)
    registry.reset_registry()
    yield home
    registry.reset_registry()


REEL = """X:1
T:The Test Reel
R:reel
M:4/4
L:1/8
K:D
|:A2FA DAFA|"G"B2GB dBGB|A2FA DAFA|1 GBAG FDD2:|2 GBAG FDD2||
|:d2fd adfd|g2bg e2ge|!trill!f2af d2fa|gfed cAA2:|
"""

CHORALE = """X:2
T:Multi-voice chorale
%%score (1 2)
M:3/4
L:1/4
K:F
V:1 clef=treble
V:2 clef=bass
[V:1]A B c|d2 c|[K:Bb]B A G|F3|]
[V:2]F, G, A,|B,2 A,|G, F, E,|F,3|]
w:Lyr-ics with a | bar in them
"""

LONG_BARS = """X:3
T:Bars longer than a patch
M:12/8
K:Am
abcdefgabcdefgabcdefgabcdefgabcdefgabcdefg|[CEG][CEG][CEG][CEG][CEG][CEG][CEG][CEG]abc|
A16|(3abc (3def (3gab (3cde (3fga (3bcd|z16|]
% a closing comment, and no newline at the end"""


@pytest.fixture(scope="session")
def tunes() -> list[str]:
    """Three hand-written tunes that stress patching: repeats, multi-voice, bars longer than a patch."""
    return [REEL, CHORALE, LONG_BARS]


@pytest.fixture(scope="session")
def essen_tunes() -> list[str]:
    """The first twelve tunes of an Essen collection file (music21's corpus), as raw ABC."""
    import music21

    from musegen_cli.notation.formats import split_abc_tunes

    path = Path(music21.__file__).parent / "corpus" / "essenFolksong" / "altdeu10.abc"
    return split_abc_tunes(path.read_bytes().decode("latin-1"))[:12]


@pytest.fixture(scope="session")
def abc_folder(tmp_path_factory, essen_tunes) -> Path:
    """Six Essen tunes in one ABC file: a dataset folder for debug training runs."""
    folder = tmp_path_factory.mktemp("abc-family-data")
    (folder / "tunes.abc").write_text("\n\n".join(essen_tunes[:6]), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def cli_model(abc_folder, tmp_path_factory) -> Path:
    """A debug model trained for 20 steps through `musegen train`."""
    import torch
    from typer.testing import CliRunner

    from musegen_cli.cli.app import app
    from musegen_cli.registry import reset_registry

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("cli") / "m"
    reset_registry()
    result = CliRunner().invoke(app, [
        "train", "--family", "abc-transformer", "--data", str(abc_folder), "--preset", "debug", "-o", str(out),
        "--set", "max_steps=20", "--set", "batch_size=4", "--seed", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return out
