"""Reading one ABC tune into a `model.Tune`, by the ABC 2.1 standard.

The header runs to the first `K:`; then each body line is a field line (`K:`, `M:`, `L:`,
`Q:`, `V:`, `P:`, `T:` ...), a `%%` directive, or music, which `music.MusicLine` reads
character by character. A voice keeps its own key, unit length and meter, so interleaved
`[V:1]...|[V:2]...|` bodies and classic per-voice blocks read alike. Lyrics (`w:`, `W:`)
and other text fields are not music and are skipped.

What is not ABC raises `AbcReadError`, which names the tune, the line and the column and
says what was expected; unknown characters inside music are skipped with a warning (as
abc2midi does), kept in `Tune.warnings` for the strict piece check.
"""

from __future__ import annotations

import re
from fractions import Fraction

from musegen_cli.errors import UserError
from musegen_cli.notation.abc import fields
from musegen_cli.notation.abc.model import KeyChange, MeterChange, Tune, Voice
from musegen_cli.notation.abc.music import MusicLine
from musegen_cli.notation.abc.text import strip_comment
from musegen_cli.notation.abc.voice_state import VoiceState

_FIELD_LINE = re.compile(r"^([A-Za-z+]):(.*)$")
_VOICE_NAME = re.compile(r'\b(?:name|nm)\s*=\s*"([^"]*)"')
_VOICE_OPTION = re.compile(r"\b(transpose|octave)\s*=\s*([+-]?\d+)")
#: Fields whose body lines hold text, not music.
_TEXT_FIELDS = set("wWNRSZBDFGHOATCrsU+IX")


class AbcReadError(UserError):
    """A tune that is not ABC: the message names the tune, the line, the column and what
    the reader expected there."""


def read_tune(text: str) -> Tune:
    """Read one tune (text with at most one `X:`)."""
    return _TuneReader(text).read()


class _TuneReader:
    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.header: dict[str, str] = {}
        self.voices: dict[str, VoiceState] = {}
        self.current: VoiceState | None = None
        self.staff_groups: list[list[str]] = []
        self.directives: list[str] = []
        self.propagation = "pitch"
        self.broken_ratio = Fraction(3, 2)
        self.warnings: list[str] = []
        self.pending_part: str | None = None
        self.voice_specs: dict[str, str] = {}

    # -- the header -------------------------------------------------------------------------

    def read(self) -> Tune:
        body_start = self._read_header()
        meter_text = self.header.get("M")
        self.meter = MeterChange(meter_text, fields.meter_value(meter_text)) if meter_text is not None else None
        self.unit = fields.unit_length(self.header.get("L"), meter_text)
        key = fields.read_key(strip_comment(self.header.get("K", "")))
        self.key = key
        self.tempo = fields.read_tempo(self.header["Q"], self.unit) if "Q" in self.header else None
        for voice_id, spec in self.voice_specs.items():
            self._voice(voice_id, spec)
        self._read_body(body_start)
        voices = [voice for state in self.voices.values() for voice in state.finish()]
        overlaid = [[s.voice.id] + [o.voice.id for o in s.overlays] for s in self.voices.values() if s.overlays]
        voices = [v for v in voices if any(bar.has_music for bar in v.bars)] or voices[:1]
        if not voices or not any(bar.has_music for bar in voices[0].bars):
            raise UserError("no notes found in the ABC input")
        self._apply_directives(voices)
        return Tune(
            number=int(self.header["X"]) if self.header.get("X", "").isdigit() else None,
            title=self.header.get("T") or None,
            composer=self.header.get("C") or None,
            meter=self.meter,
            unit_length=self.unit,
            key=KeyChange(strip_comment(self.header.get("K", "")).strip(), key.signature, key.tonic, key.mode),
            tempo=self.tempo,
            voices=voices,
            play_order=fields.read_play_order(self.header["P"]) if self.header.get("P") else [],
            staff_groups=self.staff_groups + overlaid,
            warnings=self.warnings,
        )

    def _read_header(self) -> int:
        """Read fields up to and including the first `K:`; return the index of the body."""
        for index, raw in enumerate(self.lines):
            line = raw.strip()
            if line.startswith("%%"):
                self._directive(line)
                continue
            line = strip_comment(line).strip()
            match = _FIELD_LINE.match(line)
            if not match:
                if line:
                    self.warn(index + 1, 1, "a header line that is no field (such as T:, M:, L: or K:) skipped")
                continue
            name, value = match.group(1), match.group(2).strip()
            if name == "V":
                voice_id, _, spec = value.partition(" ")
                if voice_id:
                    self.voice_specs.setdefault(voice_id, spec)
            elif name in "XTC" and name in self.header:
                continue  # the first title and composer name the tune
            else:
                self.header[name] = value
            if name == "K":
                return index + 1
        raise AbcReadError(f"not valid ABC ({self._label()}): no K: (key) field, which every tune must have")

    # -- the body ---------------------------------------------------------------------------

    def _read_body(self, start: int) -> None:
        for index in range(start, len(self.lines)):
            raw = self.lines[index]
            if raw.startswith("%%"):
                self._directive(raw.strip())
                continue
            line = strip_comment(raw)
            match = _FIELD_LINE.match(line)
            if match and not _looks_like_music(match.group(1), match.group(2)):
                self._field(match.group(1), match.group(2).strip(), index + 1)
                continue
            if not line.strip():
                continue
            voice = self.current or self._voice(self._first_voice_id(), "")
            MusicLine(self, line, index + 1).read(voice)

    def _field(self, name: str, value: str, line: int) -> None:
        if name == "V":
            voice_id, _, spec = value.partition(" ")
            self.current = self._voice(voice_id or "1", spec)
            return
        if name == "P":
            self.pending_part = value.strip() or None
            for state in self.voices.values():
                state.start_part(self.pending_part)
            return
        if name in "KMLQ":
            voice = self.current or self._voice(self._first_voice_id(), "")
            voice.field(name, value)
            return
        if name == "T" and "T" not in self.header:
            self.header["T"] = value
        # other fields (w:, W:, N:, T: section titles, I:, ...) carry no notes

    def _first_voice_id(self) -> str:
        return next(iter(self.voice_specs), "1")

    def _voice(self, voice_id: str, spec: str) -> VoiceState:
        state = self.voices.get(voice_id)
        if state is None:
            name = _VOICE_NAME.search(spec)
            options = dict(_VOICE_OPTION.findall(spec))
            transpose = int(options.get("transpose", self.key.transpose))
            voice = Voice(voice_id, name.group(1) if name else None, transpose=transpose)
            state = VoiceState(
                voice,
                signature=self.key.signature,
                octave=self.key.octave + int(options.get("octave", 0)),
                unit=self.unit,
                meter=self.meter.value if self.meter else None,
                compound=fields.is_compound(self.meter.text if self.meter else None),
                propagation=self.propagation,
                broken_ratio=self.broken_ratio,
            )
            if self.pending_part:
                state.start_part(self.pending_part)
            self.voices[voice_id] = state
        return state

    def _directive(self, line: str) -> None:
        words = line[2:].split()
        if not words:
            return
        if words[0] in ("score", "staves"):
            self.staff_groups = [g.split() for g in re.findall(r"\(([^)]*)\)", line) if len(g.split()) > 1]
        elif words[0] == "propagate-accidentals" and len(words) > 1 and words[1] in ("not", "octave", "pitch"):
            self.propagation = words[1]
            for state in self.voices.values():
                state.propagation = words[1]
        elif words[:2] == ["MIDI", "ratio"] and len(words) == 4 and words[2].isdigit() and words[3].isdigit():
            a, b = int(words[2]), int(words[3])
            if a and b:
                self.broken_ratio = Fraction(2 * a, a + b)
                for state in self.voices.values():
                    state.broken_ratio = self.broken_ratio
        elif words[0] == "MIDI" and len(words) > 2:
            voice_id = self.current.voice.id if self.current else None
            self.directives.append(f"{voice_id or ''} {' '.join(words[1:])}")

    def _apply_directives(self, voices: list[Voice]) -> None:
        """`%%MIDI program N` and `%%MIDI transpose N` (in the header: every voice)."""
        by_id = {voice.id: voice for voice in voices}
        for directive in self.directives:
            voice_id, command, *arguments = directive.split()
            if directive.startswith(" "):
                voice_id, command, arguments = "", voice_id, [command, *arguments]
            targets = [by_id[voice_id]] if voice_id in by_id else voices
            numbers = [int(a) for a in arguments if re.fullmatch(r"[+-]?\d+", a)]
            if not numbers:
                continue
            for voice in targets:
                if command == "program":
                    voice.program = numbers[-1] if len(numbers) == 1 or numbers[-1] < 128 else None
                    if len(numbers) == 2:
                        voice.channel, voice.program = numbers[0] - 1, numbers[1]
                elif command == "channel":
                    voice.channel = numbers[0] - 1
                elif command == "transpose":
                    voice.transpose += numbers[0]

    # -- shared helpers ---------------------------------------------------------------------

    def warn(self, line: int, column: int, message: str) -> None:
        self.warnings.append(f"line {line}, column {column}: {message}")

    def error(self, line: int, column: int, expected: str) -> AbcReadError:
        return AbcReadError(f"cannot read ABC {self._label()}, line {line}, column {column}: expected {expected}")

    def _label(self) -> str:
        """How messages name the tune: `X:3 "The Kesh"`."""
        label = f"X:{self.header['X']}" if self.header.get("X") else "tune"
        return label + (f' "{self.header["T"]}"' if self.header.get("T") else "")


def _looks_like_music(name: str, value: str) -> bool:
    """`G:|` at the start of a line is a note and a repeat, not a field."""
    return name.upper() in "ABCDEFG" and value.startswith(("|", ":"))
