"""A person as the rater: show each candidate, play it, read a key, save the answer at once.

Ratings already in the session file (a resumed session) are replayed without asking; a
replayed candidate must have been generated from the same seed, or the session was started
with other settings and resuming it would attach ratings to other music.

A piece already rated in the session (the same ABC text, which another genome may give) is
not asked again: its rating is shown and reused (`fitness` makes such a repeat worth a little
less). Repeats are not written to the session file: replaying it meets them in the same order
and reuses the same ratings again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from musegen_cli.errors import UserError
from musegen_cli.evolution.fitness import Candidate
from musegen_cli.evolution.rater import KEYS_HELP, KeySource, Player, ask
from musegen_cli.evolution.session import Key, Session, SessionState

#: Lines of a piece's music shown with it.
SHOWN_LINES = 4


class StopEvolution(Exception):
    """The person pressed q: the session is saved; the run ends cleanly."""


class Person:
    def __init__(self, session: Session, state: SessionState, keys: KeySource, player: Player,
                 say: Callable[[str], None], generations: int) -> None:
        self.session, self.state, self.keys, self.player, self.say = session, state, keys, player, say
        self.generations = generations
        self.best: float | None = max((r for r in state.ratings.values() if r is not None), default=None)
        self.heard: dict[str, tuple[Key, int]] = {}  # ABC text -> the candidate that was rated, its rating
        self.replayed = 0  # ratings taken from the session file
        self.skips_replayed = 0
        self._announced = False

    def rate(self, candidates: Sequence[Candidate]) -> list[float | None]:
        ratings: list[float | None] = [None] * len(candidates)
        repeats: set[int] = set()  # indices whose rating was reused, not asked
        index = 0
        while index < len(candidates):
            candidate = candidates[index]
            key = (candidate.generation, candidate.index)
            if key in self.state.ratings:
                ratings[index] = self._replayed(candidate)
                index += 1
                continue
            self.announce_replay()  # the replay, if any, ends here
            if candidate.abc in self.heard:
                ratings[index] = self._repeat(candidate, len(candidates))
                repeats.add(index)
                index += 1
                continue
            self._show(candidate, len(candidates))
            self._play(candidate)
            response = ask(self.keys, lambda c=candidate: self._play(c), self.say)
            if response.action == "quit":
                self.session.quit()
                raise StopEvolution
            if response.action == "undo":
                previous = max((i for i in range(index) if i not in repeats), default=None)
                if previous is None:
                    self.say("nothing to undo in this generation (earlier generations are already evaluated)")
                    continue
                self._undo(candidates[previous])
                repeats = {i for i in repeats if i < previous}  # later repeats may have reused the undone rating
                ratings[previous:index] = [None] * (index - previous)
                index = previous
                continue
            if response.favourite:
                self.session.favourite(key)
                self.state.favourites.append(key)
            ratings[index] = self._record(candidate, response.rating)
            index += 1
        return ratings

    def announce_replay(self) -> None:
        """Say once how many ratings a resumed session replayed: where the replay ends, or at the
        end of a run that found nothing new to ask."""
        if self._announced or not (self.replayed or self.skips_replayed):
            return
        self._announced = True
        skips = f" and {self.skips_replayed} skip{'s' if self.skips_replayed != 1 else ''}" if self.skips_replayed else ""
        self.say(f"replayed {self.replayed} rating{'s' if self.replayed != 1 else ''}{skips} from {self.session.path}")

    def _replayed(self, candidate: Candidate) -> float | None:
        key = (candidate.generation, candidate.index)
        recorded = self.state.records[key].get("seed")
        if recorded is not None and recorded != candidate.seed:
            raise UserError(f"the session's candidate {key[1] + 1} of generation {key[0] + 1} was another piece "
                            "(different seed): resume it with the settings it was started with")
        rating = self.state.ratings[key]
        if rating is None:
            self.skips_replayed += 1
        else:
            self.replayed += 1
            self.heard.setdefault(candidate.abc, (key, rating))
        return rating

    def _repeat(self, candidate: Candidate, population: int) -> int:
        (generation, index), rating = self.heard[candidate.abc]
        self.say(f"generation {candidate.generation + 1}/{self.generations} · candidate {candidate.index + 1}/"
                 f"{population} · heard before (generation {generation + 1}, candidate {index + 1}): rated {rating}")
        return rating

    def _record(self, candidate: Candidate, rating: int | None) -> int | None:
        key = (candidate.generation, candidate.index)
        details = {"seed": candidate.seed, "genome": candidate.genome, "controls": candidate.controls.describe()}
        if rating is None:
            self.session.skip(key, **details)
        else:
            self.session.rate(key, rating, **details)
            self.best = rating if self.best is None else max(self.best, rating)
            self.heard.setdefault(candidate.abc, (key, rating))
        self.state.ratings[key] = rating
        self.state.records[key] = {"seed": candidate.seed, **details}
        return rating

    def _undo(self, candidate: Candidate) -> None:
        key = (candidate.generation, candidate.index)
        self.session.undo(key)
        self.heard = {abc: heard for abc, heard in self.heard.items() if heard[0] != key}
        self.state.ratings.pop(key, None)
        self.state.records.pop(key, None)
        if key in self.state.favourites:
            self.state.favourites.remove(key)
        self.say(f"undone: candidate {key[1] + 1}; rate it again")

    def _play(self, candidate: Candidate) -> None:
        self.player.play(candidate.abc, f"g{candidate.generation + 1}-c{candidate.index + 1}")

    def _show(self, candidate: Candidate, population: int) -> None:
        f = candidate.features
        best = "-" if self.best is None else f"{self.best:g}"
        self.say(f"generation {candidate.generation + 1}/{self.generations} · candidate "
                 f"{candidate.index + 1}/{population} · best so far {best}")
        if f.parses:
            self.say(f"  {f.declared_key or f.analyzed_key or '?'}, {f.meter or 'free meter'}, {f.bars} bars, "
                     f"{f.notes_per_second or 0:.1f} notes/s, {f.quadrant or '-'}; {candidate.controls.describe()}")
        else:
            self.say(f"  (does not parse: {f.error}); {candidate.controls.describe()}")
        body = candidate.abc.split("\nK:", 1)[-1].split("\n")[1 : 1 + SHOWN_LINES]
        for line in body:
            self.say(f"    {line}")
        self.say(f"  {KEYS_HELP}")
