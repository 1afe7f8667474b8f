"""How subcommands talk to people and scripts.

Results go to stdout (so pipelines work); messages, tables meant for people and progress bars
go to stderr. Progress bars are shown only when stderr is a terminal; logs get a plain line
every half minute of long work instead, so quick commands and CI stay clean.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")

#: Messages, warnings and tables for people: always on stderr.
console = Console(stderr=True, highlight=False)
#: Tables that are the command's result (e.g. `musegen models`): stdout.
stdout_console = Console(highlight=False)


def emit_json(obj: Any) -> None:
    """Print a JSON document on stdout, for scripts (`--json`)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    """One warning line on stderr; the message is text (it may quote ABC or file names with
    brackets), not rich markup."""
    from rich.markup import escape

    console.print(f"[yellow]warning:[/yellow] {escape(message)}")


#: Without a terminal, long work reports a plain progress line this often (seconds).
LOG_EVERY = 30.0


def progress(items: Iterable[T], *, total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate with a progress bar on stderr when it is a terminal. Otherwise (a log file, CI)
    a plain line every `LOG_EVERY` seconds, so quick work stays silent and long work in a
    background job still shows it is moving."""
    if not console.is_terminal:
        yield from _logged(items, total, description)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def _logged(items: Iterable[T], total: int | None, description: str) -> Iterator[T]:
    import time

    start = last = time.monotonic()
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= LOG_EVERY:
            last = now
            of = f"/{total}" if total is not None else ""
            console.print(f"{description or 'working'}: {done}{of} done, {now - start:.0f} s", soft_wrap=True)


def print_table(table: Any) -> None:
    """A result table on stdout; piped output is not folded into 80 columns, so each row
    stays on one line for grep and friends."""
    from rich.console import Console

    console = stdout_console
    if not console.is_terminal:
        console = Console(file=stdout_console.file, width=10_000, highlight=False, color_system=None)
    console.print(table)
