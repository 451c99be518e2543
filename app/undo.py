"""Undo and redo of a photo's tag edits: each edit is a ``QUndoCommand`` holding the tag before and after.

Every edit (remove, recategorise, confirm, draw) changes one tag, so a command keeps two snapshots of
that tag and puts one or the other back; the scene is then saved at once, as for the edit itself, so
the corrections file always holds what the window shows. Searches behind an edit (a new category's
matches, a drawn box's region) are done before the command is pushed, so undo and redo never search.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from engine.corrections import Tag

Apply = Callable[[int, Tag | None], None]


class TagEdit(QUndoCommand):
    """One edit of tag ``number``: ``before`` and ``after`` are its snapshots (``None``: not in the scene)."""

    def __init__(self, text: str, number: int, before: Tag | None, after: Tag | None, apply: Apply):
        super().__init__(text)
        self.number = number
        self.before, self.after = before, after
        self.apply = apply

    def redo(self) -> None:
        """Also runs when the command is pushed: it re-applies the state the edit just produced, and saves."""
        self.apply(self.number, self.after)

    def undo(self) -> None:
        self.apply(self.number, self.before)
