"""engine.advice words library errors for the app as for the CLI: one line, naming what it can, saying what
to do, whatever the library put in its message. The app has no data folder in its context and shows the
line as it is (no terminal shortening), so these check ``describe`` itself, on errors SQLite and the OS
raise for real where a test can cause them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from engine.advice import DETAIL_MAX, Context, describe


def _error_of(work) -> BaseException:
    try:
        work()
    except BaseException as exc:  # noqa: BLE001 - the error is what is tested
        return exc
    raise AssertionError("no error raised")


def _locked(path: Path) -> BaseException:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    try:
        return _error_of(lambda: other.execute("INSERT INTO t VALUES (1)"))
    finally:
        other.close()
        holder.close()


def _read_only(path: Path) -> BaseException:
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return _error_of(lambda: db.execute("INSERT INTO t VALUES (1)"))
    finally:
        db.close()


def _full(path: Path) -> BaseException:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE t (x)")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 1}")  # a full disk, as SQLite reports one
    try:
        return _error_of(lambda: db.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,)))
    finally:
        db.close()


@pytest.mark.parametrize("cause", [_locked, _read_only, _full])
def test_a_catalog_error_without_a_data_folder_names_the_catalog_once_and_no_none(cause, tmp_path: Path):
    """The app's tasks pass no data folder: it read 'the catalog the catalog is locked' and 'check the
    permissions of None'."""
    exc = cause(tmp_path / "catalog.sqlite")
    assert isinstance(exc, sqlite3.Error)
    line = describe(exc, Context())
    assert line.startswith(("the catalog is", "no space left to write the catalog (")), line
    assert "the catalog the catalog" not in line and "None" not in line


def test_with_a_data_folder_the_catalog_is_named_by_its_path(tmp_path: Path):
    line = describe(_read_only(tmp_path / "catalog.sqlite"), Context(data_dir=tmp_path))
    assert line == (f"the catalog {tmp_path / 'catalog.sqlite'} is read-only; check the permissions of {tmp_path}")


def test_a_library_message_with_newlines_or_of_any_length_is_one_bounded_line(tmp_path: Path):
    """SQLite repeats a table name it cannot find, the OS the file name it could not open: both can hold
    newlines (a name from a feed or a folder) and be any length."""
    db = sqlite3.connect(":memory:")
    long_name = "x" * 5_000
    for exc in (_error_of(lambda: db.execute('SELECT * FROM "first\nsecond"')),
                _error_of(lambda: db.execute(f'SELECT * FROM "{long_name}"')),
                _error_of(lambda: (tmp_path / "room\nphoto.jpg").read_bytes())):
        line = describe(exc, Context(data_dir=tmp_path))
        assert "\n" not in line and len(line) < DETAIL_MAX + 200, line[:300]
    assert describe(exc, Context()).endswith("room photo.jpg: no such file or folder; check the path")


def test_an_os_error_without_a_number_or_a_reason_still_says_something_and_what_to_do():
    line = describe(OSError(), Context(inputs=("room.jpg",)))
    assert line.startswith("room.jpg: OSError;") and "try again" in line


def test_a_decoding_error_that_points_past_its_bytes_is_described_not_raised():
    """A hostile or hand-made UnicodeDecodeError: indexing its byte raised IndexError inside the error
    handler, so the CLI printed a traceback and the app's task ended without a word."""
    exc = UnicodeDecodeError("utf-8", b"", 0, 1, "unexpected end of data")
    assert "not UTF-8 text" in describe(exc, Context(inputs=("feed.csv",)))


def test_a_catalog_on_a_read_only_file_system_is_not_sent_to_check_permissions(tmp_path: Path):
    """SQLite says "attempt to write a readonly database" for a file system mounted read-only too, where
    the advice to check the folder's permissions sends the user the wrong way."""
    made, folder = tmp_path / "made", tmp_path / "mounted"
    made.mkdir()
    folder.mkdir()
    sqlite3.connect(made / "catalog.sqlite").execute("CREATE TABLE t (x)").connection.close()
    if os.geteuid() != 0 or subprocess.run(["mount", "--bind", str(made), str(folder)], capture_output=True,
                                           check=False).returncode:
        pytest.skip("no read-only file system can be mounted here (needs root and mount)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True, check=True)
        db = sqlite3.connect(folder / "catalog.sqlite")
        exc = _error_of(lambda: db.execute("INSERT INTO t VALUES (1)"))
        db.close()
        line = describe(exc, Context(data_dir=folder))
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    assert "readonly" in str(exc)
    assert "on a read-only file system" in line and "permissions" not in line
    assert "permissions" in describe(exc, Context(data_dir=made))  # the same error where the mount is writable


def test_a_file_on_a_read_only_file_system_is_not_sent_to_data_dir(tmp_path: Path):
    """The advice for any path there said "choose another location (e.g. --data-dir)": the app has no such
    option, and neither a batch's output folder nor an export moves with the data folder."""
    folder = tmp_path / "mounted"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True,
                                           check=False).returncode:
        pytest.skip("no read-only file system can be mounted here (needs root and mount)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True, check=True)
        exc = _error_of(lambda: (folder / "room.json").write_text("{}"))
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    for context in (Context(), Context(data_dir=tmp_path)):  # the app's, and the CLI's
        line = describe(exc, context)
        assert line == f"{folder / 'room.json'}: the file system is read-only; choose another location"
