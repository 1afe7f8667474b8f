"""The emotion rule: a Russell quadrant (Q1-Q4, as in EMusicGen) from mode, density, register.

This docstring is the rule's documentation; the constants below are its parameters.

Valence comes from the mode: major-like modes (major/ionian, lydian, mixolydian) are
positive, minor-like modes (minor/aeolian, dorian, phrygian, locrian) negative. The mode is
the declared one when the declaration names it (ABC `K:Em`, `K:Dmix`, `K:C dorian`, a
MusicXML or MIDI mode), else the analyzed one (major or minor): with no key (`K:none`), and
with a bare tonic (`K:G`) when the analysis finds that same tonic, e.g. a G minor tune written
`K:G` with explicit flats, as Essen does (see `declared.resolve_mode`). Measured on music21's
ABC corpus: of the bare-tonic tunes the analysis calls minor, in Essen the largest group
shares the declared tonic (800 of 1,866; 777 of them end on it), while in O'Neill's 268 of
279 are the relative minor, 195 of them in tunes ending on the declared tonic: an analysis
error, so there `K:G` stays major. A declared mode counts only when the music closes on
that key's tonic triad (`features`: the declared key is the piece's tonal centre); otherwise
the analyzed key's mode decides, so a `K:` line rewritten by a header plan cannot make a
piece minor by itself.

Arousal comes from the density of notes as performed, `notes_per_second` (repeats
expanded, at the declared tempo or the default of 120 quarter notes per minute):

- above `AROUSAL_THRESHOLD_NPS + REGISTER_BAND_NPS`: high;
- below `AROUSAL_THRESHOLD_NPS - REGISTER_BAND_NPS`: low;
- within that band density is too close to call, and register breaks the tie: high when
  the mean MIDI pitch is at or above `REGISTER_MIDPOINT`, else low.

Quadrants (Russell's circumplex): Q1 = positive valence, high arousal (happy);
Q2 = negative, high (tense, angry); Q3 = negative, low (sad); Q4 = positive, low (calm).

Calibration, on all 12,978 tunes of music21's bundled ABC corpus (Essen 8,514, O'Neill's
2,009, Aird's 1,180, Ryan's Mammoth 1,059, others 216; all parse; 1,222 declare a tempo), at
their declared tempo or the default:

- `AROUSAL_THRESHOLD_NPS` is the corpus median of notes per second (3.125; quartiles 2.34
  and 3.83), so the corpus splits evenly between high and low arousal (6,542 / 6,436);
- `REGISTER_BAND_NPS` is about +-8% of the threshold, within the just-noticeable difference
  of tempo (5-10%): densities that close are not heard as faster or slower. 16% of the
  corpus falls inside the band, where register decides;
- `REGISTER_MIDPOINT` is the corpus median of the per-tune mean pitch (70.2), rounded to a
  semitone.

The resulting quadrants over the corpus: Q1 45.7%, Q2 4.7%, Q3 6.5%, Q4 43.1%. The corpus
is overwhelmingly major (valence is the skewed axis, not arousal), so labelled training sets
need balancing per quadrant.
"""

from __future__ import annotations

from dataclasses import dataclass

from musegen_cli.notation.abc.modes import MAJOR_LIKE, MINOR_LIKE

#: Notes per second dividing low from high arousal (corpus median: 3.125).
AROUSAL_THRESHOLD_NPS = 3.1
#: Half-width, in notes per second, of the band around the threshold where register decides.
REGISTER_BAND_NPS = 0.25
#: Mean MIDI pitch at or above which a piece in the band counts as high arousal: B-flat 4
#: (corpus median of the per-tune mean pitch: 70.2).
REGISTER_MIDPOINT = 70.0

#: (valence, arousal) -> quadrant.
QUADRANTS = {
    ("positive", "high"): "Q1",
    ("negative", "high"): "Q2",
    ("negative", "low"): "Q3",
    ("positive", "low"): "Q4",
}


@dataclass(frozen=True)
class Emotion:
    """The outcome of the rule; a part is None when its input is missing."""

    valence: str | None
    arousal: str | None
    quadrant: str | None


def valence(mode: str | None) -> str | None:
    """"positive" for a major-like mode, "negative" for a minor-like one, else None."""
    if mode in MAJOR_LIKE:
        return "positive"
    if mode in MINOR_LIKE:
        return "negative"
    return None


def arousal(notes_per_second: float | None, pitch_mean: float | None) -> str | None:
    """"high" or "low" from density, with register deciding inside the band."""
    if notes_per_second is None:
        return None
    if abs(notes_per_second - AROUSAL_THRESHOLD_NPS) <= REGISTER_BAND_NPS:
        if pitch_mean is None:
            return None
        return "high" if pitch_mean >= REGISTER_MIDPOINT else "low"
    return "high" if notes_per_second > AROUSAL_THRESHOLD_NPS else "low"


def classify(mode: str | None, notes_per_second: float | None, pitch_mean: float | None) -> Emotion:
    """Apply the rule (module docstring) to a mode name (see `modes.MODES`) and measurements."""
    feeling_valence = valence(mode)
    feeling_arousal = arousal(notes_per_second, pitch_mean)
    if feeling_valence is None or feeling_arousal is None:
        return Emotion(valence=feeling_valence, arousal=feeling_arousal, quadrant=None)
    return Emotion(feeling_valence, feeling_arousal, QUADRANTS[(feeling_valence, feeling_arousal)])
