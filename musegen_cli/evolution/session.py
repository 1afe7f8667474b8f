"""The session file of `musegen evolve`: every rating is on disk the moment it is given.

One JSON object per line, appended and flushed to disk (fsync) before the next candidate
is shown, so Ctrl-C, a kill or a crash loses nothing already rated. Events:

    {"event": "start", "settings": {...}}                   once, first line
    {"event": "rate", "generation": 0, "candidate": 3, "rating": 4, "seed": 17, "genome": [...]}
    {"event": "skip", "generation": 0, "candidate": 4, ...}  no rating for that candidate
    {"event": "favourite", "generation": 0, "candidate": 3}
    {"event": "undo", "generation": 0, "candidate": 3}       takes back the last rate/skip
    {"event": "quit"}

`Session.state()` replays the events into what a resumed run needs: the rating (or skip) of
every candidate, the favourites, and the settings the session was started with; a resumed
search regenerates the same candidates from the same seeds and takes their ratings from
here instead of asking again. A truncated last line (a kill mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musegen_cli.errors import UserError

Key = tuple[int, int]  # (generation, candidate)


@dataclass
class SessionState:
    settings: dict[str, Any] = field(default_factory=dict)
    ratings: dict[Key, int | None] = field(default_factory=dict)  # None: skipped
    records: dict[Key, dict[str, Any]] = field(default_factory=dict)  # the rate/skip event of each
    favourites: list[Key] = field(default_factory=list)
    quit: bool = False

    @property
    def rated(self) -> int:
        return sum(value is not None for value in self.ratings.values())


class Session:
    """An append-only event log at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def start(cls, path: Path, settings: Mapping[str, Any]) -> Session:
        """A new session; an existing file is never overwritten (use --resume)."""
        session = cls(path)
        if session.path.exists():
            raise UserError(f"{path} already exists; continue it with --resume {path} or choose another file")
        session.path.parent.mkdir(parents=True, exist_ok=True)
        session._append({"event": "start", "settings": dict(settings)})
        return session

    @classmethod
    def resume(cls, path: Path) -> Session:
        """An existing session; a last line cut short by a kill is removed first, so new
        events start on a line of their own."""
        session = cls(path)
        if not session.path.is_file():
            raise UserError(f"no session file at {path}")
        data = session.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with session.path.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
        first = next(session.events(), None)
        if first is None or first.get("event") != "start":
            raise UserError(f"{path} is not a musegen evolve session (no start line)")
        return session

    def rate(self, key: Key, rating: int, **details: Any) -> None:
        if not 1 <= rating <= 5:
            raise ValueError(f"ratings are 1 to 5, not {rating}")
        self._append({"event": "rate", "generation": key[0], "candidate": key[1], "rating": rating, **details})

    def skip(self, key: Key, **details: Any) -> None:
        self._append({"event": "skip", "generation": key[0], "candidate": key[1], **details})

    def favourite(self, key: Key) -> None:
        self._append({"event": "favourite", "generation": key[0], "candidate": key[1]})

    def undo(self, key: Key) -> None:
        self._append({"event": "undo", "generation": key[0], "candidate": key[1]})

    def quit(self) -> None:
        self._append({"event": "quit"})

    def events(self) -> Iterator[dict[str, Any]]:
        lines = self.path.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    return  # a last line cut short by a kill (no newline): everything before it stands
                raise UserError(f"{self.path}:{number} is not a session event; the file is damaged") from None

    def state(self) -> SessionState:
        state = SessionState()
        for event in self.events():
            kind = event.get("event")
            key = (event.get("generation"), event.get("candidate"))
            if kind == "start":
                state.settings = dict(event.get("settings") or {})
            elif kind in ("rate", "skip"):
                rating = event.get("rating")
                if kind == "rate" and not (isinstance(rating, int) and 1 <= rating <= 5):
                    raise UserError(f"{self.path} holds a rating that is not 1 to 5 ({rating!r}); the file is damaged")
                state.ratings[key] = rating if kind == "rate" else None
                state.records[key] = event
                state.quit = False
            elif kind == "undo":
                state.ratings.pop(key, None)
                state.records.pop(key, None)
                if key in state.favourites:
                    state.favourites.remove(key)
            elif kind == "favourite" and key not in state.favourites:
                state.favourites.append(key)
            elif kind == "quit":
                state.quit = True
        return state

    def _append(self, event: Mapping[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
