"""SQLite connections that another thread may close while this one is using them.

The catalog keeps one connection per thread and closes them all at once (``Catalog.close``: the app's quit, a
bundle import or a restore releasing the file). Python's ``sqlite3`` lets a connection opened with
``check_same_thread=False`` be closed from any thread, but a close while another thread is inside a statement
(``sqlite3_step`` runs with the GIL released) crashes the process: the C code goes on with a connection that
is gone (a segfault in CI, the window's workers still counting the catalog when it closed). Here every call that
steps a statement holds the connection's lock, and so does ``close``: a close waits for the step in progress,
and the thread's next call gets ``sqlite3.ProgrammingError`` ("Cannot operate on a closed database").
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose statements run under its connection's lock, row by row when iterated."""

    connection: GuardedConnection

    def execute(self, *args: Any) -> GuardedCursor:
        with self.connection.guard:
            return super().execute(*args)

    def executemany(self, *args: Any) -> GuardedCursor:
        with self.connection.guard:
            return super().executemany(*args)

    def executescript(self, *args: Any) -> GuardedCursor:
        with self.connection.guard:
            return super().executescript(*args)

    def fetchone(self) -> Any:
        with self.connection.guard:
            return super().fetchone()

    def fetchmany(self, *args: Any) -> list[Any]:
        with self.connection.guard:
            return super().fetchmany(*args)

    def fetchall(self) -> list[Any]:
        with self.connection.guard:
            return super().fetchall()

    def __next__(self) -> Any:
        with self.connection.guard:
            return super().__next__()


class GuardedConnection(sqlite3.Connection):
    """A connection whose statements, commits, backups and close take ``guard`` (re-entrant: a callback
    SQLite runs inside a statement may query the same connection)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = threading.RLock()

    def cursor(self, factory: type[sqlite3.Cursor] = GuardedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, *args: Any) -> GuardedCursor:
        return self.cursor().execute(*args)

    def executemany(self, *args: Any) -> GuardedCursor:
        return self.cursor().executemany(*args)

    def executescript(self, *args: Any) -> GuardedCursor:
        return self.cursor().executescript(*args)

    def commit(self) -> None:
        with self.guard:
            super().commit()

    def rollback(self) -> None:
        with self.guard:
            super().rollback()

    def backup(self, *args: Any, **kwargs: Any) -> None:
        with self.guard:
            super().backup(*args, **kwargs)

    def close(self) -> None:
        with self.guard:
            super().close()


def connect(path: Path, **kwargs: Any) -> GuardedConnection:
    """``sqlite3.connect`` for a connection any thread may close (``check_same_thread=False``)."""
    return sqlite3.connect(path, check_same_thread=False, factory=GuardedConnection, **kwargs)
