"""An error line naming a path, checked whatever the length of the test's temporary folder.

The CLI shortens a line's paths to their last folders ("…/rooms/room.jpg") when the line would pass MAX_LINE: a
line compared with its whole path failed where pytest's folders are longer (pytest-xdist's ``popen-gw0``)."""

from __future__ import annotations

from pathlib import Path


def assert_names(line: str, before: str, path: Path, after: str) -> None:
    """``line`` is ``before``, then ``path`` whole or as the "…/" end of it the CLI keeps, then ``after``."""
    assert line.startswith(before) and line.endswith(after), line
    shown = line[len(before):len(line) - len(after)]
    assert shown == str(path) or shown.startswith("…/") and str(path).endswith(shown[1:]), line
