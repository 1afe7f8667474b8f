"""Where training pieces come from: music21's bundled corpus and users' folders.

A source yields `RawPiece`s: text or a file, plus what is known about the piece before any
analysis (collection, composer, period, instrumentation). The corpus is music21's, shipped
inside its wheel and licensed for non-commercial research use only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: The folk collections of music21's corpus, all ABC.
FOLK_COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "nottingham-dataset")

#: Composer folders of the corpus -> (composer, period), periods as NotaGen names them.
COMPOSERS: dict[str, tuple[str, str]] = {
    "bach": ("Bach, Johann Sebastian", "Baroque"),
    "handel": ("Handel, George Frideric", "Baroque"),
    "corelli": ("Corelli, Arcangelo", "Baroque"),
    "cpebach": ("Bach, Carl Philipp Emanuel", "Classical"),
    "haydn": ("Haydn, Joseph", "Classical"),
    "mozart": ("Mozart, Wolfgang Amadeus", "Classical"),
    "beethoven": ("Beethoven, Ludwig van", "Classical"),
    "weber": ("Weber, Carl Maria von", "Romantic"),
    "schubert": ("Schubert, Franz", "Romantic"),
    "chopin": ("Chopin, Frederic", "Romantic"),
    "schumann_robert": ("Schumann, Robert", "Romantic"),
    "schumann_clara": ("Schumann, Clara", "Romantic"),
    "verdi": ("Verdi, Giuseppe", "Romantic"),
    "beach": ("Beach, Amy", "Romantic"),
    "liliuokalani": ("Liliuokalani", "Romantic"),
    "joplin": ("Joplin, Scott", "Romantic"),
    "johnson_j_r": ("Johnson, J. Rosamond", "20th century"),
    "schoenberg": ("Schoenberg, Arnold", "20th century"),
    "webern": ("Webern, Anton", "20th century"),
    "palestrina": ("Palestrina, Giovanni Pierluigi da", "Renaissance"),
    "josquin": ("Josquin des Prez", "Renaissance"),
    "lusitano": ("Lusitano, Vicente", "Renaissance"),
    "monteverdi": ("Monteverdi, Claudio", "Renaissance"),
    "ciconia": ("Ciconia, Johannes", "Medieval"),
    "luca": ("Luca, Gaius", "Medieval"),
    "trecento": ("Trecento (various)", "Medieval"),
}

#: Formats a corpus score may come in; Roman-numeral analyses (.rntxt) are not music to learn.
SCORE_SUFFIXES = {".mxl", ".xml", ".musicxml", ".krn", ".abc"}
USER_SUFFIXES = {".abc", ".mxl", ".xml", ".musicxml", ".krn", ".mid", ".midi"}


@dataclass(frozen=True)
class RawPiece:
    """One file's worth of music before cleaning; ABC files may hold many tunes."""

    path: Path
    collection: str
    metadata: dict[str, str] = field(default_factory=dict)


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def _collection_of(path: Path, root: Path) -> str:
    return path.relative_to(root).parts[0]


def corpus_folk() -> Iterator[RawPiece]:
    """ABC files of the folk collections (about 13,000 tunes in all)."""
    root = corpus_root()
    for collection in FOLK_COLLECTIONS:
        for path in sorted((root / collection).rglob("*.abc")):
            yield RawPiece(path, collection)


def corpus_scores() -> Iterator[RawPiece]:
    """Classical scores of the composer folders, with composer and period."""
    root = corpus_root()
    for folder, (composer, period) in sorted(COMPOSERS.items()):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix.lower() in SCORE_SUFFIXES:
                yield RawPiece(path, folder, {"composer": composer, "period": period})


def corpus_all() -> Iterator[RawPiece]:
    """The folk collections, then the composer folders."""
    yield from corpus_folk()
    yield from corpus_scores()


def user_folder(folder: Path) -> Iterator[RawPiece]:
    """Every music file under a user's folder; the collection is the folder's name."""
    files = [folder] if folder.is_file() else sorted(folder.rglob("*"))
    for path in files:
        if path.suffix.lower() in USER_SUFFIXES:
            yield RawPiece(path, folder.name or "user")
