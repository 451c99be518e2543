"""A progress bar on stderr for long commands (silent with --quiet or when not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from decorlens.errors import MAX_LINE, one_line
from engine.importer import Progress


@contextmanager
def bar(description: str, quiet: bool = False, unit: str = "img") -> Iterator[Progress]:
    """Yields a ``(done, total)`` callback that drives a tqdm bar."""
    progress = tqdm(desc=description, unit=unit, disable=quiet or not sys.stderr.isatty(), file=sys.stderr)

    def update(done: int, total: int) -> None:
        progress.total = total
        progress.n = done
        progress.refresh()

    try:
        yield update
    finally:
        progress.close()


def note(message: str) -> None:
    """A remark for the user on stderr, keeping stdout clean for results and JSON.

    Each line is kept within the width of an error line: a batch's "failed: <photo>: <why>" must not
    become a paragraph when both the photo's and the catalog's paths are long.
    """
    print("\n".join(one_line(line, MAX_LINE) for line in str(message).splitlines()), file=sys.stderr)
