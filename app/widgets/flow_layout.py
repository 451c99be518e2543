"""A layout that flows its widgets left to right and wraps them onto new lines, as text wraps."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem


class Flow(QLayout):
    """Widgets in lines as wide as the layout, the next line below (Qt has no such layout of its own): in one row,
    a duplicates group of 15 products made every group as wide as 15 cards, and *Not duplicates* stood past the
    window's right edge."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[QLayoutItem] = []

    def addItem(self, item: QLayoutItem) -> None:
        self.items.append(item)

    def count(self) -> int:
        return len(self.items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self.items[index] if 0 <= index < len(self.items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self.items.pop(index) if 0 <= index < len(self.items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        """One card's room: the narrowest the group can be."""
        size = QSize()
        for item in self.items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, move: bool) -> int:
        """Lay the cards left to right, a new line where the next would pass ``rect``'s right; the height used."""
        area = rect.marginsRemoved(self.contentsMargins())
        x, y, line, gap = area.x(), area.y(), 0, self.spacing()
        for item in (item for item in self.items if not item.isEmpty()):  # a hidden widget takes no room, no gap
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, line = area.x(), y + line + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x, line = x + hint.width() + gap, max(line, hint.height())
        margins = self.contentsMargins()
        return y + line - rect.y() + margins.bottom()
