"""How subcommands talk to people and scripts.

Results go to stdout (so pipelines work); messages, tables meant for people and progress bars
go to stderr. Progress bars are shown only when stderr is a terminal, so logs and CI stay clean.
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
    console.print(f"[yellow]warning:[/yellow] {message}")


def progress(items: Iterable[T], *, total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate with a progress bar on stderr when it is a terminal; silently otherwise."""
    if not console.is_terminal:
        yield from items
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


def print_table(table: Any) -> None:
    """A result table on stdout; piped output is not folded into 80 columns, so each row
    stays on one line for grep and friends."""
    from rich.console import Console

    console = stdout_console
    if not console.is_terminal:
        console = Console(file=stdout_console.file, width=10_000, highlight=False, color_system=None)
    console.print(table)
