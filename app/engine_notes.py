"""What the engine says while it works, on the window's status bar.

The engine logs a line when a step will take a while for a reason the user cannot see: another
DecorLens holds the catalog's write lock (an import there can hold it for minutes), an index is rebuilt
from stored vectors, vectors are computed for products a bundle brought. The CLI prints those lines; the
app dropped them, so a blocked import showed only its busy bar, for up to two minutes. Pipelines log from
worker threads: ``note`` emits a signal, queued to the window's thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.remedies import in_app


class EngineNotes(QObject):
    noted = Signal(str)

    def note(self, line: str) -> None:
        """A pipeline's ``log``: safe from any thread."""
        self.noted.emit(line)


def as_status(line: str) -> str:
    """An engine note as the status bar says it: a sentence, one line, any fix named the app's way."""
    flat = " ".join(in_app(line).split())
    return flat[:1].upper() + flat[1:]
