import os

import pytest

from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write, read_bytes


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        target = atomic_write(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("precious")

    def explode(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", explode)
    with pytest.raises(OSError):
        atomic_write(target, "new")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_a_user_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(UserError, match="cannot write"):
        atomic_write(locked / "x.txt", "x")


def test_output_folder_that_is_a_file_is_a_user_error(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(UserError, match="cannot write"):
        atomic_write(tmp_path / "plain" / "x.txt", "x")


def test_missing_and_folder_inputs(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_bytes(tmp_path / "nope.abc")
    with pytest.raises(UserError, match="is a folder"):
        read_bytes(tmp_path)
