import json

import pytest
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.data.abc_clean import body_fingerprint, clean_abc_tune, keyed_fingerprint
from musegen_cli.data.dataset import split_of

RYAN_STYLE = """X:7
T:Some Strathspey
B:Ryan's Mammoth Collection
Z: transcriber note
M:C
L:1/8
K:Am
u"4"e|\\
v(c<A)(A>.B) "Am"c2 !trill!A>f | c"^SEGUE"A A2 :| % comment
w: some lyrics
"""


def test_clean_keeps_music_and_drops_annotations():
    clean = clean_abc_tune(RYAN_STYLE)
    assert clean == 'X:1\nM:C\nL:1/8\nK:Am\ne| (c<A)(A>.B) "Am"c2 A>f | cA A2 :|\n'


def test_tune_without_notes_or_key_is_dropped():
    assert clean_abc_tune("X:1\nT:empty\nK:C\n|]\n") is None
    assert clean_abc_tune("X:1\nT:no key\nABC|\n") is None


def test_fingerprint_ignores_header_and_spacing():
    a = clean_abc_tune("X:1\nT:A\nM:4/4\nK:G\nGABc | d4 |]\n")
    b = clean_abc_tune("X:9\nT:B\nM:4/4\nK:G\nGABc|d4|]\n")
    assert body_fingerprint(a) == body_fingerprint(b)


def test_keyed_fingerprint_tells_a_tune_from_its_parallel_minor():
    major = clean_abc_tune("X:1\nM:4/4\nK:G\nGABc | d4 |]\n")
    minor = clean_abc_tune("X:1\nM:4/4\nK:Gm\nGABc | d4 |]\n")
    respaced = clean_abc_tune("X:2\nT:t\nM:4/4\nK:G\nGA Bc|d4|]\n")
    assert body_fingerprint(major) == body_fingerprint(minor)
    assert keyed_fingerprint(major) != keyed_fingerprint(minor)
    assert keyed_fingerprint(major) == keyed_fingerprint(respaced)


def test_splits_are_deterministic_and_roughly_90_5_5():
    fingerprints = [f"{i * 2654435761 % 2**64:016x}" for i in range(4000)]
    counts = {s: sum(split_of(f) == s for f in fingerprints) for s in ("train", "valid", "test")}
    assert counts["train"] > 3400 and 100 < counts["valid"] < 300 and 100 < counts["test"] < 300
    assert [split_of(f) for f in fingerprints[:50]] == [split_of(f) for f in fingerprints[:50]]


def test_build_command_on_a_corpus_collection(tmp_path):
    result = CliRunner().invoke(
        app, ["data", "build", "corpus:airdsAirs", "--limit", "40", "--workers", "1", "-o", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["pieces"] == 40 and "non-commercial" in manifest["licence"]
    rows = [json.loads(line) for name in ("train", "valid", "test") for line in (tmp_path / f"{name}.jsonl").open()]
    assert len(rows) == 40 and len({r["id"] for r in rows}) == 40
    assert all(r["abc"].startswith("X:1\n") and r["collection"] == "airdsAirs" for r in rows)
    assert all(r["labels"]["quadrant"] in {"Q1", "Q2", "Q3", "Q4"} for r in rows)
    assert sum(manifest["quadrants"].values()) == 40


@pytest.mark.parametrize(("source", "message"), [("corpus:nope", "unknown corpus collection"), ("/no/such", "no such file")])
def test_bad_sources_are_one_line_errors(tmp_path, source, message):
    result = CliRunner().invoke(app, ["data", "build", source, "-o", str(tmp_path)])
    assert result.exit_code == 2 and message in result.stderr
