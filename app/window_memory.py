"""Windows that open as they were left: size, place, maximized or full-screen, and splitters, between sessions.

Every start opened each window at its first-start size (``theme.resize_to_screen``), its panels at their first
widths: a merchandiser who widened the matches panel or maximized the window did it again each morning. That size
stays the default where nothing was saved, or where what was saved cannot be used.

Qt's ``saveGeometry`` / ``restoreGeometry`` carry the place and state; restoring is kept safe on a desktop that
changed since. Qt refuses a geometry saved on a screen more than 25 % wider or narrower than the one it now lands
on (another resolution, another scale), moves a window whose screen is gone (a second monitor unplugged) to the
edge of the first screen, and shrinks one larger than that screen to its very edges, where the window's own frame
went past them. So here: what Qt refuses, a window it had to shrink, and a value it would read though cut short or
edited by hand (it opened a window of no size) open at the first-start size, which leaves room for the frame; a
window it had to move opens centred on the screen it lands on.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QDataStream, QEvent, QObject, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSplitter, QWidget

from app.settings import AppSettings

GEOMETRY_MAGIC = 0x1D9D0CB  # the first 4 bytes of what QWidget.saveGeometry writes


def remember(window: QWidget, settings: AppSettings, name: str) -> bool:
    """Open ``window`` (sized for a first start, not yet shown) as the window ``name`` was left, and save it
    each time it hides (closed, or its app quitting); whether a saved geometry was used."""
    restored = restore(window, settings, name)
    _SavedOnHide(window, settings, name)
    return restored


def restore(window: QWidget, settings: AppSettings, name: str) -> bool:
    """The saved geometry of ``name`` on ``window`` where it fits a screen now; else ``window`` left as it was
    (its first-start size, placed by the window manager)."""
    data = settings.window_geometry(name)
    saved = saved_rect(data)
    if saved is None:
        return False
    before, state, moved = window.geometry(), window.windowState(), window.testAttribute(Qt.WidgetAttribute.WA_Moved)
    if window.restoreGeometry(data) and _settled(window, saved):
        return True
    window.setWindowState(state)
    window.setGeometry(before)
    window.setAttribute(Qt.WidgetAttribute.WA_Moved, moved)  # unmoved: placed as on a first start
    return False


def saved_rect(data: QByteArray) -> QRect | None:
    """Where ``data`` (as ``saveGeometry`` writes it, format 2 or 3) has the window when neither maximized nor full
    screen, frame left out; None where it is not such a value read whole: Qt reads one cut short as zeros."""
    stream = QDataStream(data)
    stream.setVersion(QDataStream.Version.Qt_4_0)
    magic, major, _minor = stream.readUInt32(), stream.readUInt16(), stream.readUInt16()  # Qt reads every minor
    if magic != GEOMETRY_MAGIC or major not in (2, 3):
        return None
    frame, normal, inside = QRect(), QRect(), QRect()
    stream >> frame
    stream >> normal
    stream.readInt32()  # screen number
    maximized, full_screen = stream.readUInt8(), stream.readUInt8()
    stream.readInt32()  # that screen's width
    if major == 3:
        stream >> inside
    if stream.status() != QDataStream.Status.Ok:
        return None
    rect = normal if maximized or full_screen or major == 2 else inside
    return rect if rect.isValid() else None


def _settled(window: QWidget, saved: QRect) -> bool:
    """Whether what Qt restored can stand: not shrunk to this screen (the first-start size then), centred on its
    screen where Qt moved it onto it, and wholly on one screen."""
    rect = normal_geometry(window)
    if rect.size() != saved.size():
        return False
    if rect.topLeft() != saved.topLeft():
        rect.moveCenter((QGuiApplication.screenAt(rect.center()) or window.screen()).availableGeometry().center())
        state = window.windowState()
        window.setWindowState(state & ~(Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen))
        window.setGeometry(rect)
        window.setWindowState(state)  # maximized or full screen again, returning to ``rect``
    return fits_a_screen(rect)


def save(window: QWidget, settings: AppSettings, name: str) -> None:
    settings.set_window_geometry(name, window.saveGeometry())


def save_open(root: QWidget) -> None:
    """Save ``root`` and each remembered window of its own that is open, as the app quits: a window with a parent
    stays open while the main window closes, then goes with the app, never hidden, so never saved."""
    for saver in root.findChildren(_SavedOnHide):
        if saver.window.isVisible():
            save(saver.window, saver.settings, saver.name)


def normal_geometry(window: QWidget) -> QRect:
    """Where ``window`` is when neither maximized nor full screen (what it returns to)."""
    return window.normalGeometry() if window.isMaximized() or window.isFullScreen() else window.geometry()


def fits_a_screen(rect: QRect) -> bool:
    """Whether ``rect`` lies wholly in the free area (less task bars and docks) of one screen."""
    return any(screen.availableGeometry().contains(rect) for screen in QGuiApplication.screens())


class SplitterMemory(QObject):
    """Splitters' parts at the sizes they were left at (where sizes were saved for as many parts), and ``save`` for
    those a user dragged since, under their names. Only those: a splitter on a tab never shown has sizes it was
    never laid out at, and would overwrite the ones saved in an earlier session."""

    def __init__(self, splitters: dict[str, QSplitter], settings: AppSettings, parent: QObject):
        super().__init__(parent)
        self.splitters, self.settings = splitters, settings
        self.moved: set[str] = set()
        for name, splitter in splitters.items():
            if len(sizes := settings.splitter_sizes(name)) == splitter.count():
                splitter.setSizes(sizes)
            splitter.splitterMoved.connect(lambda _pos, _index, name=name: self.moved.add(name))

    def save(self) -> None:
        for name in sorted(self.moved):
            self.settings.set_splitter_sizes(name, self.splitters[name].sizes())


class _SavedOnHide(QObject):
    """A window's geometry saved as it hides: closed by its button, Escape or the window manager."""

    def __init__(self, window: QWidget, settings: AppSettings, name: str):
        super().__init__(window)
        self.window, self.settings, self.name = window, settings, name
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Hide and isinstance(watched, QWidget):
            save(watched, self.settings, self.name)
        return False
