"""The worked third-party plugin in examples/markov_plugin, driven through the real CLI.

The plugin is not installed: its `src` folder goes on sys.path and a hand-made entry point
stands in for the one its pyproject.toml declares, so discovery runs the same code path as
for an installed package (`registry.discover` -> `EntryPoint.load`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musegen_cli import registry
from musegen_cli.cli.app import app
from musegen_cli.notation.formats import split_abc_tunes

PLUGIN_ROOT = Path(__file__).resolve().parents[1] / "examples" / "markov_plugin"
PLUGIN_SRC = PLUGIN_ROOT / "src"
ENTRY_POINT = metadata.EntryPoint(name="bar-markov", value="musegen_markov.family:FAMILY", group="musegen.plugins")


def corpus_file(name: str) -> Path:
    """A real ABC file from music21's bundled corpus (offline, ships with music21)."""
    from music21 import corpus

    matches = [Path(p) for p in corpus.getCorePaths() if Path(p).as_posix().endswith(name)]
    assert matches, f"music21's corpus has no {name}"
    return matches[0]


TRAINING_FILE = "essenFolksong/ballad10.abc"  # 107 German ballads, several meters and keys


@contextlib.contextmanager
def plugin_installed(mp: pytest.MonkeyPatch, home: Path) -> Iterator[None]:
    """The example plugin visible to discovery, and musegen's files kept under `home`."""
    for name in [n for n in os.environ if n.startswith("MUSEGEN_")]:
        mp.delenv(name)
    mp.setenv("MUSEGEN_HOME", str(home))
    mp.chdir(home)  # no ./musegen.toml from wherever pytest runs
    mp.syspath_prepend(str(PLUGIN_SRC))
    mp.setattr(registry, "_entry_points", lambda: [ENTRY_POINT])
    registry.reset_registry()
    try:
        yield
    finally:
        registry.reset_registry()


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One debug model trained through `musegen train`, shared by the generate tests."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp, plugin_installed(mp, home):
        output = home / "m"
        result = invoke(
            "train", "--family", "bar-markov", "--data", corpus_file(TRAINING_FILE),
            "--preset", "debug", "-o", output, "--seed", "1",
        )
        assert result.exit_code == 0, result.output
    return output


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with plugin_installed(monkeypatch, tmp_path):
        yield tmp_path


def tunes_of(text: str) -> list[str]:
    return [t for t in split_abc_tunes(text) if t.strip()]


def header_value(tune: str, field: str) -> str:
    return next(line[2:].strip() for line in tune.splitlines() if line.startswith(f"{field}:"))


# ----- discovery --------------------------------------------------------------------------


def test_plugins_lists_the_family_with_its_capabilities(cli: Path) -> None:
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["load_errors"] == {}
    (family,) = [f for f in listing["families"] if f["name"] == "bar-markov"]
    assert {"trainer", "sampler", "conditions", "presets"} <= set(family["capabilities"])
    assert family["presets"] == ["debug", "small"]
    assert family["conditions"] == ["meter", "key"]
    assert "entry point 'bar-markov'" in family["origin"]


def test_family_module_does_not_import_torch() -> None:
    code = "import sys, musegen_markov.family; sys.exit('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_SRC), os.environ.get("PYTHONPATH", "")])}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def test_pyproject_declares_the_entry_point() -> None:
    import tomllib

    project = tomllib.loads((PLUGIN_ROOT / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"]["musegen.plugins"]
    assert declared == {ENTRY_POINT.name: ENTRY_POINT.value}


# ----- training ---------------------------------------------------------------------------


def test_train_writes_a_self_describing_model_dir(model_dir: Path) -> None:
    from safetensors import safe_open

    manifest = json.loads((model_dir / "musegen.json").read_text())
    assert manifest["family"] == "bar-markov"
    assert manifest["config"]["order"] == 1
    assert manifest["config"]["vocabulary"][:2] == ["<start>", "<end>"]
    assert {t["M"] for t in manifest["config"]["templates"]} >= {"2/4", "3/4", "4/4"}
    assert manifest["provenance"]["seed"] == 1
    assert manifest["metrics"]["train_tunes"] + manifest["metrics"]["valid_tunes"] > 90
    with safe_open(model_dir / "model.safetensors", framework="pt") as weights:
        assert set(weights.keys()) == {"contexts", "context_template", "context_index", "next_index", "count"}
        assert weights.get_tensor("count").dtype.is_floating_point is False
        assert weights.get_tensor("count").min() >= 1


def test_train_reports_progress_and_options_change_the_order(cli: Path) -> None:
    data = corpus_file("essenFolksong/test0.abc")
    result = invoke("train", "--family", "bar-markov", "--data", data, "--preset", "small", "-o", cli / "s", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "tunes 16" in result.stderr  # the trainer's on_progress figures, shown by the command
    assert json.loads((cli / "s" / "musegen.json").read_text())["config"]["order"] == 2

    result = invoke("train", "--family", "bar-markov", "--data", data, "--preset", "small", "--set", "order=3", "-o", cli / "o3")
    assert result.exit_code == 0, result.output
    assert json.loads((cli / "o3" / "musegen.json").read_text())["config"]["order"] == 3


def test_init_from_adds_to_an_earlier_model(model_dir: Path, cli: Path) -> None:
    data = corpus_file("essenFolksong/test0.abc")
    args = ["train", "--family", "bar-markov", "--data", data, "--preset", "debug", "--set", "valid_fraction=0"]
    assert invoke(*args, "-o", cli / "alone").exit_code == 0
    result = invoke(*args, "--init-from", model_dir, "-o", cli / "both")
    assert result.exit_code == 0, result.output

    def tunes(path: Path) -> int:
        return sum(t["tunes"] for t in json.loads((path / "musegen.json").read_text())["config"]["templates"])

    assert tunes(cli / "both") == tunes(cli / "alone") + tunes(model_dir) == 16 + tunes(model_dir)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "no/such/folder", "--preset", "debug"], "no such file or folder"),
        (["--data", "TEST", "--preset", "debug", "--set", "order=0"], "order must be"),
        (["--data", "TEST", "--preset", "debug", "--set", "colour=blue"], "no option 'colour'"),
        (["--data", "TEST", "--preset", "huge"], "unknown preset 'huge'"),
    ],
)
def test_train_bad_input_is_a_one_line_error(cli: Path, args: list[str], message: str) -> None:
    args = [str(corpus_file("essenFolksong/test0.abc")) if a == "TEST" else a for a in args]
    result = invoke("train", "--family", "bar-markov", "-o", cli / "m", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (cli / "m").exists()


# ----- generating -------------------------------------------------------------------------


def test_generate_prints_abc_that_music21_reads(model_dir: Path, cli: Path) -> None:
    from music21 import converter

    result = invoke("generate", "--model", model_dir, "-n", "2", "--seed", "3")
    assert result.exit_code == 0, result.output
    tunes = tunes_of(result.stdout)
    assert len(tunes) == 2
    for tune in tunes:
        assert [line[:2] for line in tune.splitlines()[:5]] == ["X:", "T:", "M:", "L:", "K:"]
        assert list(converter.parse(tune, format="abc").recurse().notes)


def test_generate_is_repeatable_under_a_seed(model_dir: Path, cli: Path) -> None:
    first = invoke("generate", "--model", model_dir, "-n", "2", "--seed", "3").stdout
    again = invoke("generate", "--model", model_dir, "-n", "2", "--seed", "3").stdout
    other = invoke("generate", "--model", model_dir, "-n", "2", "--seed", "4").stdout
    assert first == again
    assert first != other


def test_conditions_restrict_the_tunes(model_dir: Path, cli: Path) -> None:
    result = invoke("generate", "--model", model_dir, "-n", "4", "--seed", "5", "-c", "meter=3/4")
    assert result.exit_code == 0, result.output
    assert {header_value(t, "M") for t in tunes_of(result.stdout)} == {"3/4"}

    result = invoke("generate", "--model", model_dir, "-n", "4", "--seed", "5", "-c", "key=G", "-c", "meter=2/4")
    assert result.exit_code == 0, result.output
    assert {(header_value(t, "M"), header_value(t, "K")) for t in tunes_of(result.stdout)} == {("2/4", "G")}


@pytest.mark.parametrize(
    ("condition", "message"),
    [("key=H#lydian", "invalid key 'H#lydian'; valid values: "), ("meter=11/8", "invalid meter '11/8'; valid values: ")],
)
def test_unknown_condition_value_is_a_one_line_error(model_dir: Path, cli: Path, condition: str, message: str) -> None:
    result = invoke("generate", "--model", model_dir, "-c", condition, "--seed", "1")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "2/4" in result.stderr or " G" in result.stderr  # the values the model knows
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_condition_the_family_does_not_accept(model_dir: Path, cli: Path) -> None:
    result = invoke("generate", "--model", model_dir, "--emotion", "Q1")
    assert result.exit_code == 2
    assert "accepts: key, meter" in result.stderr


def test_bars_caps_the_length(model_dir: Path, cli: Path) -> None:
    from musegen_markov.tunes import parse_tune

    result = invoke("generate", "--model", model_dir, "-n", "5", "--seed", "6", "--bars", "3")
    assert result.exit_code == 0, result.output
    assert all(1 <= len(parse_tune(t).bars) <= 3 for t in tunes_of(result.stdout))


def test_output_dir_gets_one_file_per_piece(model_dir: Path, cli: Path) -> None:
    result = invoke("generate", "--model", model_dir, "-n", "2", "--seed", "3", "-o", cli / "out")
    assert result.exit_code == 0, result.output
    files = sorted((cli / "out").iterdir())
    assert [f.name for f in files] == ["piece-001.abc", "piece-002.abc"]
    printed = invoke("generate", "--model", model_dir, "-n", "2", "--seed", "3").stdout
    assert [f.read_text() for f in files] == [t.rstrip("\n") + "\n" for t in tunes_of(printed)]


def test_prime_is_continued(model_dir: Path, cli: Path) -> None:
    from musegen_markov.tunes import parse_tune

    training_tune = parse_tune(tunes_of(corpus_file(TRAINING_FILE).read_text(encoding="latin-1"))[0])
    prime_bars = list(training_tune.bars[:3])
    prime = cli / "start.abc"
    header = "\n".join(f"{k}:{v}" for k, v in training_tune.header.items())
    prime.write_text(f"X:1\nT:Start\n{header}\n{' '.join(prime_bars)}\n")

    result = invoke("generate", "--model", model_dir, "--prime", prime, "--bars", "4", "--seed", "7")
    assert result.exit_code == 0, result.output
    (tune,) = tunes_of(result.stdout)
    continued = parse_tune(tune)
    assert continued.title == "Start"
    assert continued.header == training_tune.header
    assert list(continued.bars[:3]) == prime_bars
    assert 3 < len(continued.bars) <= 3 + 4

    # Bars the model never saw: it starts afresh after them, in a header it knows.
    prime.write_text("X:1\nT:Odd\nM:5/4\nL:1/8\nK:C\nc'8d'2 | c'8d'2 |\n")
    result = invoke("generate", "--model", model_dir, "--prime", prime, "--bars", "4", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("c'8d'2") == 2


# ----- the model itself -------------------------------------------------------------------


def test_bar_splitting_keeps_bar_lines_with_their_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    from musegen_markov.tunes import split_bars

    assert split_bars("|: GABc dedB | dedB dedB :|1 c2 A2 :|2 c2 G2 |] ") == [
        "|: GABc dedB |",
        "dedB dedB :|1",
        "c2 A2 :|2",
        "c2 G2 |]",
    ]
    assert split_bars("|ABC|\n|DEF") == ["ABC |", "DEF |]"]


def test_saved_chain_round_trips(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    from musegen_markov.chain import MarkovChain
    from musegen_markov.family import load_chain
    from musegen_markov.tunes import read_tunes

    loaded = load_chain(model_dir)
    rebuilt = MarkovChain.from_saved(loaded.to_config(), loaded.to_columns())
    assert rebuilt.counts == loaded.counts
    tunes, _ = read_tunes(corpus_file(TRAINING_FILE).read_text(encoding="latin-1"))
    assert 0.5 < loaded.seen_fraction(tunes) <= 1.0  # most tunes were in the training split


def test_damaged_model_is_a_user_error(model_dir: Path, cli: Path) -> None:
    import shutil

    broken = cli / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    result = invoke("generate", "--model", broken)
    assert result.exit_code == 2
    assert "safetensors" in result.stderr


def test_a_family_without_a_compiled_sampler_says_so(model_dir: Path, cli: Path) -> None:
    result = invoke("generate", "--model", model_dir, "--compile", "--seed", "1")
    assert result.exit_code == 2 and "no compiled sampler" in result.stderr


def test_a_family_without_reduced_precision_says_so(model_dir: Path, cli: Path) -> None:
    result = invoke("generate", "--model", model_dir, "--precision", "int8", "--seed", "1")
    assert result.exit_code == 2 and "fp32 only" in result.stderr
