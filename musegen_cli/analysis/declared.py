"""What a score says about itself: title, key and mode, tempo.

Declared values come from the notation (an ABC header, a MusicXML key and metronome mark, a
MIDI key-signature and tempo event), as opposed to values the analyzer infers. ABC tunes are
read by `abc_header`, because music21 drops some of what ABC declares (modes written as
`K:C dorian` are kept, but inline `[K:]` fields, `K:none` and the legacy `Q:120` are not read
as written); other formats are read from the music21 score by `declared_from_score`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from music21.key import KeySignature
    from music21.stream import Score


@dataclass(frozen=True)
class DeclaredKey:
    """A declared key. `tonic` ("F#", "Bb") and `mode` (a name from `modes.MODES`) are None
    when the notation gives no tonal centre (ABC `K:none`, bagpipe `K:HP`, a MusicXML key
    signature without a mode) or an unrecognised mode word; `text` is what was written.
    `mode_stated` is False when the mode is only ABC's default: `K:G` reads as G major, but
    it names no mode, and collections such as Essen write minor tunes that way."""

    text: str
    tonic: str | None = None
    mode: str | None = None
    mode_stated: bool = False

    @property
    def name(self) -> str:
        """ "D mixolydian" when tonic and mode are known, else the written text."""
        if self.tonic and self.mode:
            return f"{self.tonic} {self.mode}"
        return self.text


@dataclass(frozen=True)
class Declared:
    """Declarations of one piece. `key` is the opening key; `final_key` the last key in
    force (they differ when the key changes), used to judge the ending. `tempo_qpm` is in
    quarter notes per minute, None when no tempo is given."""

    title: str | None = None
    key: DeclaredKey | None = None
    final_key: DeclaredKey | None = None
    tempo_qpm: float | None = None


def resolve_mode(key: DeclaredKey | None, analyzed_tonic: str, analyzed_mode: str) -> tuple[str, str]:
    """The mode of a piece and where it comes from ("declared" or "analyzed"):

    - a stated mode (K:Em, K:Dmix, K:C dorian, a MusicXML or MIDI mode) is used as declared;
    - a bare tonic (K:G) takes the analyzed mode when the analysis finds the same tonic (a
      G minor tune written K:G with explicit flats), else ABC's default, major: the usual
      analysis error there is the relative minor (E minor for a G major reel ending on G);
    - no tonic (K:none, K:HP, a bare key signature) or an unknown mode word: analyzed.
    """
    from musegen_cli.notation.abc.modes import pitch_class

    if key is None or key.tonic is None or key.mode is None:
        return analyzed_mode, "analyzed"
    same_tonic = pitch_class(key.tonic) == pitch_class(analyzed_tonic)
    if not key.mode_stated and same_tonic and analyzed_mode != key.mode:
        return analyzed_mode, "analyzed"
    return key.mode, "declared"


def declared_from_score(score: Score) -> Declared:
    """Read title, first/last key and first explicit metronome mark from a music21 score
    (MusicXML, MIDI, Humdrum). Tempo words without a number ("Allegro") count as no tempo."""
    from music21 import key, tempo

    keys = [_from_music21_key(k) for k in score.recurse().getElementsByClass(key.KeySignature)]
    qpm = None
    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        if mark.number is not None and not mark.numberImplicit:
            qpm = float(mark.getQuarterBPM())
            break
    title = score.metadata.title if score.metadata is not None else None
    return Declared(
        title=title or None,
        key=keys[0] if keys else None,
        final_key=keys[-1] if keys else None,
        tempo_qpm=qpm,
    )


def _from_music21_key(signature: KeySignature) -> DeclaredKey:
    from music21 import key

    from musegen_cli.notation.abc.modes import canonical_mode

    if isinstance(signature, key.Key):
        tonic = signature.tonic.name.replace("-", "b")
        mode = canonical_mode(signature.mode)
        return DeclaredKey(text=f"{tonic} {signature.mode}", tonic=tonic, mode=mode, mode_stated=mode is not None)
    sharps = signature.sharps
    count = f"{abs(sharps)} {'sharp' if sharps > 0 else 'flat'}{'s' if abs(sharps) != 1 else ''}"
    return DeclaredKey(text="no sharps or flats" if sharps == 0 else count)
