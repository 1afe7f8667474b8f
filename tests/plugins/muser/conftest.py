"""Shared fixtures of the muser tests: corpus tunes as a dataset folder and as MIDI files,
and one debug model trained on them (session-scoped: trained once, a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

#: Short training runs: the debug preset, a handful of steps per stage.
DEBUG_OPTIONS = {"vae_steps": 40, "prior_steps": 20, "batch_size": 8, "eval_every": 20, "lr": 3e-3,
                 "prior_lr": 3e-3, "warmup": 4}


@pytest.fixture(scope="session")
def corpus_dataset(tmp_path_factory, essen_tunes) -> Path:
    """Ten Essen tunes built into a dataset folder (labels and splits as `musegen data build`)."""
    import music21

    from musegen_cli.data.build import build
    from musegen_cli.notation.formats import split_abc_tunes

    path = Path(music21.__file__).parent / "corpus" / "essenFolksong" / "altdeu10.abc"
    tunes = split_abc_tunes(path.read_bytes().decode("latin-1"))[:10]
    source = tmp_path_factory.mktemp("muser-abc") / "tunes.abc"
    source.write_text("\n\n".join(tunes), encoding="utf-8")
    out = tmp_path_factory.mktemp("muser-dataset")
    build([str(source)], out, command="test")
    return out


@pytest.fixture(scope="session")
def corpus_midi(tmp_path_factory, essen_tunes) -> list[Path]:
    """Four corpus tunes rendered to MIDI files by the notation code."""
    from musegen_cli.notation.conversion import convert

    folder = tmp_path_factory.mktemp("muser-midi")
    files = []
    for index, tune in enumerate(essen_tunes[6:10]):
        (piece,) = convert(tune.encode("utf-8"), "abc", "midi")
        files.append(folder / f"tune-{index}.mid")
        files[-1].write_bytes(piece.outputs[0])
    return files


@pytest.fixture(scope="session")
def trained(corpus_dataset, tmp_path_factory) -> Path:
    """A debug muser model trained on the corpus dataset (both stages)."""
    from musegen_cli.contract import TrainRequest
    from musegen_plugins.muser.training import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("muser-model") / "m"
    request = TrainRequest(data=str(corpus_dataset), output=out, preset="debug", seed=1,
                           device=torch.device("cpu"), options=DEBUG_OPTIONS)
    return train(request, lambda figures: None)
