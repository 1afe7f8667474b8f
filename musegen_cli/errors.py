"""Exceptions that the command line turns into a one-line message and an exit code.

Library code raises these instead of printing; `musegen_cli.cli.app.main` catches them.
Exit codes follow the design: 2 for bad input (the user can fix it), 1 for internal failure.
"""

from __future__ import annotations


class MusegenError(Exception):
    """Base class: an error with a message meant for a person and an exit code."""

    exit_code = 1


class UserError(MusegenError):
    """Bad input: a missing file, an unknown name, an invalid value. Exit code 2."""

    exit_code = 2


class UnsupportedError(UserError):
    """The request is valid but no installed model family can serve it. Exit code 2."""
