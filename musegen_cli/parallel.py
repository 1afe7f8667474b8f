"""Run a function over many small jobs in worker processes, with a progress bar.

Used where one job costs a parse or a render (tenths of a second to seconds each) and there
are thousands: building a dataset, tokenizing a corpus for muser. Jobs go out in chunks so
the pickling cost stays small next to the work.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

CHUNK = 32

#: Wraps the chunks' iteration to show progress: (items, total, description) -> items.
Progress = Callable[..., Iterator]


def _quiet(items: Iterable, *, total: int | None = None, description: str = "") -> Iterator:
    yield from items


_progress: Progress = _quiet


def show_progress_with(reporter: Progress) -> None:
    """Draw the progress of every later `map_chunks` with ``reporter`` (called with the
    chunks' iterator and keyword ``total`` and ``description``). The CLI installs its progress
    bar here, so this ground-floor module draws nothing itself and imports nothing above it."""
    global _progress
    _progress = reporter


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers() -> int:
    """Worker processes for parsing and rendering: every core, up to four (beyond that the
    jobs wait on memory and music21's start-up more than on cores)."""
    return min(4, available_cores())


def map_chunks(function: Callable[[list], list], jobs: Sequence, workers: int, description: str,
               chunk: int = CHUNK) -> list:
    """``function`` over chunks of ``jobs`` in ``workers`` processes (here when 1); flattened, in order.

    ``function`` takes a list of jobs and returns one result per job; it must be importable
    at module level so worker processes can find it.
    """
    progress = _progress
    if not jobs:
        return []
    chunks = [list(jobs[i : i + chunk]) for i in range(0, len(jobs), chunk)]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            done = list(progress(pool.map(function, chunks), total=len(chunks), description=description))
    else:
        done = [function(part) for part in progress(chunks, total=len(chunks), description=description)]
    return list(itertools.chain.from_iterable(done))
