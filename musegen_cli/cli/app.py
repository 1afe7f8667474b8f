"""The `musegen` command: the Typer app, global flags, and turning errors into exit codes.

Each subcommand lives in its own module with a `register(app)` function. Errors raised as
`MusegenError` become one line on stderr and exit code 2 (bad input) or 1; anything else is
an internal failure: one line, exit 1, and the traceback only with `--debug`.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from musegen_cli import __version__
from musegen_cli.errors import MusegenError

DEBUG_ENV = "MUSEGEN_DEBUG"


def _debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in {"", "0"}


def _fail(message: str, code: int) -> None:
    typer.echo(f"musegen: error: {message}", err=True)
    raise typer.Exit(code)


class MusegenGroup(TyperGroup):
    """Runs subcommands and maps exceptions to the design's one-line errors and exit codes."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MusegenError as exc:
            if _debug_enabled():
                raise
            _fail(str(exc), exc.exit_code)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # usage errors and deliberate exits: Typer prints and exits as usual
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head`): not an error worth a message.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:
            if _debug_enabled():
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1)


app = typer.Typer(
    name="musegen",
    cls=MusegenGroup,
    help="Train, generate, steer, align and evolve music models; convert and score music.",
    epilog=(
        "Examples:\n\n"
        "  musegen generate --emotion Q1\n\n"
        "  cat tune.abc | musegen convert --to musicxml - > tune.musicxml\n\n"
        "  musegen score tunes/ --features --json\n\n"
        "  musegen plugins"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"musegen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    if debug:
        os.environ[DEBUG_ENV] = "1"
    from musegen_cli import parallel
    from musegen_cli.cli.output import progress

    parallel.show_progress_with(progress)


def _register_subcommands() -> None:
    from musegen_cli.cli import (config, convert, data, dpo, evolve, generate, models, plugins, score, scorer, steer,
                                 train)

    for module in (train, generate, dpo, steer, evolve, convert, score, scorer, data, models, plugins, config):
        module.register(app)


_register_subcommands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="musegen")
