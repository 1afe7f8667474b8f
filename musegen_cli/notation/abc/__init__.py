"""musegen's ABC reader: ABC 2.1 text to a `Tune`, to what it plays, to MIDI and music21.

`read_tune` reads the text (`reader.py`, `music.py`); `perform` plays it (`playback.py`);
`tune_to_midi` writes the performance as a Standard MIDI File (`midi.py`); `tune_to_score`
builds the written form as a music21 Score for MusicXML, ABC and the analyzer
(`to_music21.py`). One reading serves every command, so conversion, analysis and the
training data agree about the notes.
"""

from musegen_cli.notation.abc.model import Tune
from musegen_cli.notation.abc.playback import Performance, perform
from musegen_cli.notation.abc.reader import AbcReadError, read_tune

__all__ = ["AbcReadError", "Performance", "Tune", "perform", "read_tune"]
