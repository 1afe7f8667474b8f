"""Reading inputs (paths or `-` for stdin) and writing outputs atomically.

Every file musegen writes goes through `atomic_write`: the data lands in a temporary file in
the same folder and is renamed over the target only when complete, so an interrupted or
failed write never leaves a partial file or destroys what the user had.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from musegen_cli.errors import UserError

STDIO = "-"


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write `data` to `path` all at once; create parent folders; return the path."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write to {target.parent}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def read_bytes(source: str | os.PathLike[str]) -> bytes:
    """Read a whole input: a file path, or `-` for standard input."""
    if str(source) == STDIO:
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder; expected a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_stdout(data: bytes | str) -> None:
    """Write a result to standard output (text or bytes), for use in shell pipelines."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    sys.stdout.flush()
    sys.stdout.buffer.write(payload)
    sys.stdout.buffer.flush()
