"""Shared fixtures for the abc-transformer tests."""

from pathlib import Path

import pytest
import torch

@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models step fastest on one thread; thread hand-offs dominate on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def tiny_model():
    from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer

    torch.manual_seed(0)
    return AbcTransformer(PRESETS["debug"]).eval()


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
