import json

from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.data.build import build
from musegen_cli.data.scores import convert_score_file, instrumentation
from musegen_cli.data.sources import corpus_root


def _rows(folder):
    return [json.loads(line) for name in ("train", "valid", "test") for line in (folder / f"{name}.jsonl").open()]


def test_balance_adds_minor_copies_of_training_pieces_only(tmp_path):
    result = CliRunner().invoke(
        app,
        ["data", "build", "corpus:oneills1850", "--limit", "60", "--balance", "0.4", "--workers", "1", "-o", str(tmp_path), "--json"],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    rows = _rows(tmp_path)
    by_id = {row["id"]: row for row in rows}
    augmented = [row for row in rows if row["augmentation"]]
    summary = manifest["augmentation"]["parallel_minor"]
    assert augmented and summary["added"] == len(augmented) and manifest["originals"] == 60
    for row in augmented:
        parent = by_id[row["derived_from"]]
        assert row["split"] == "train" and parent["split"] == "train"
        assert row["augmentation"] == "parallel_minor" and row["labels"]["quadrant"] in ("Q2", "Q3")
        assert parent["labels"]["mode"] == "major" and row["labels"]["mode"] == "minor"
    assert all(row["derived_from"] is None for row in rows if row["split"] != "train")
    train = [row for row in rows if row["split"] == "train"]
    share = sum(row["labels"]["quadrant"] in ("Q2", "Q3") for row in train) / len(train)
    assert summary.get("duplicate", 0) == 0  # a minor copy is not its major parent
    assert share >= 0.4 and summary["added"] == summary["needed"]
    assert abs(manifest["augmentation"]["minor_share_train_after"] - share) < 1e-3


def test_transposed_copies_are_deterministic_and_train_only(tmp_path):
    first = build(["corpus:airdsAirs"], tmp_path / "a", command="t", limit=12, transpose=1, seed=3)
    second = build(["corpus:airdsAirs"], tmp_path / "b", command="t", limit=12, transpose=1, seed=3)
    assert first["hash"] == second["hash"] and first["augmentation"]["transposed"]["added"] > 0
    rows = _rows(tmp_path / "a")
    copies = [row for row in rows if row["augmentation"]]
    assert all(row["split"] == "train" and row["augmentation"].startswith("transpose:") for row in copies)


def test_a_bach_chorale_becomes_interleaved_abc_with_score_labels(tmp_path):
    chorale = corpus_root() / "bach" / "bwv66.6.mxl"
    text, kind = convert_score_file(chorale, "Baroque")
    assert kind == "Choral" and text.parts == 4
    assert "\n[V:1]" in text.abc and "[V:4]" in text.abc and "T:" not in text.abc
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bwv66.6.mxl").write_bytes(chorale.read_bytes())
    (folder / "broken.musicxml").write_text("<score-partwise><part-list/></score-partwise>")
    manifest = build([str(folder)], tmp_path / "out", command="t")
    assert manifest["scores"]["converted"] == 1 and manifest["scores"]["failed"] == 1
    (row,) = _rows(tmp_path / "out")
    assert row["labels"]["instrumentation"] == "Choral" and row["labels"]["quadrant"] in {"Q1", "Q2", "Q3", "Q4"}


def test_corpus_scores_carry_composer_and_period(tmp_path):
    manifest = build(["corpus:bach"], tmp_path, command="t", limit=2)
    rows = _rows(tmp_path)
    assert manifest["scores"]["files"] == 2 and rows
    assert all(row["labels"]["composer"].startswith("Bach") and row["labels"]["period"] == "Baroque" for row in rows)
    assert all("[V:" in row["abc"] for row in rows)


def test_instrumentation_rule():
    assert instrumentation(["Soprano", "Alto", "Tenor", "Bass"]) == "Choral"
    assert instrumentation(["Horn 2", "Soprano", "Alto", "Tenor", "Bass"]) == "Choral"
    assert instrumentation(["Voice", "Piano", "Piano"]) == "Vocal"
    assert instrumentation(["Piano", "Piano"]) == "Keyboard"
    assert instrumentation(["Violin I", "Violin II", "Viola", "Cello"]) == "Chamber"
    assert instrumentation(["Flute", "Oboe", "Clarinet", "Bassoon", "Horn", "Violin", "Viola", "Double Bass"]) == "Orchestral"
    assert instrumentation(["MusicXML Part"] * 3, "Renaissance") == "Choral"
    assert instrumentation(["MusicXML Part"] * 2, "Romantic") == "Keyboard"
