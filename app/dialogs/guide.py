"""Help ▸ User Guide: docs/app.md shown in the app, its screenshots in place, its links followed.

Retail staff have only the packaged app (build.spec copies docs/app.md and the pictures it shows beside
``resources/``). About linked the .md file itself, which a store PC often has no program to open, so the guide was
out of reach. Here Qt reads the Markdown (``QTextBrowser`` loads a ``.md`` source as Markdown, pictures relative to
it); what Qt's reader leaves out is added: an anchor on each heading, named as GitHub names it, so the guide's
``#section`` links go there, and pictures no wider than the window's text.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QKeySequence,
    QPalette,
    QPixmap,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextImageFormat,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app import theme
from app.dialogs.about import DOCS
from app.links import open_outside
from app.settings import AppSettings
from app.widgets.message_bar import say
from app.widgets.trackpad import PixelScroll
from app.window_memory import remember

GUIDE = DOCS  # docs/app.md beside resources/: the repo's, or the packaged app's _internal/docs
WEB_SCHEMES = ("http", "https", "mailto")  # the system's browser or mail program opens these
PICTURE_WIDTH = 760  # the widest a screenshot is shown (they are 1280 px and more); its own width where smaller


def guide_problem(path: Path) -> str | None:
    """Why the guide at ``path`` cannot be shown, in one line; None where it can (an empty window said nothing)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return f"The user guide is not part of this installation ({path} is missing)."
    except UnicodeDecodeError:
        return f"The user guide cannot be read ({path} is not UTF-8 text)."
    except OSError as exc:
        return f"The user guide cannot be read ({path}: {exc.strerror or exc})."
    return None if text.strip() else f"The user guide is empty ({path})."


def heading_anchor(text: str, taken: dict[str, int]) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation out, spaces to hyphens; a repeat gets ``-1``…
    (the guide's links are written for GitHub: ``#correct-it-this-becomes-training-data``)."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    count = taken.get(slug, 0)
    taken[slug] = count + 1
    return f"{slug}-{count}" if count else slug


class GuideBrowser(QTextBrowser):
    """The guide's text: links to other parts of the docs open here, web links in the browser, a picture in the
    system's viewer; one the installation lacks (docs beside app.md ship with the source only) is said, not shown
    as an empty page."""

    said = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setOpenExternalLinks(False)  # http(s) and mailto reach doSetSource, which hands them to the browser
        PixelScroll(self)  # a trackpad's 3 px moved the text 12 px
        self._fitted: tuple[int, float] | None = None  # the width and pixel ratio the pictures were last fitted to
        self._originals: dict[str, QPixmap] = {}  # each picture as loaded, before fitting
        self._refit = QTimer(self, singleShot=True, interval=100)  # once a resize by the mouse pauses
        self._refit.timeout.connect(self._fit_pictures)

    def doSetSource(self, name: QUrl, type: QTextDocument.ResourceType = QTextDocument.ResourceType.UnknownResource):
        if name.scheme() in WEB_SCHEMES:
            open_outside(name, self)
            return
        if not name.isLocalFile():
            super().doSetSource(name, type)
            return
        path = Path(name.toLocalFile())
        same = self.source().isLocalFile() and Path(self.source().toLocalFile()) == path
        if not same and not path.is_file():
            self.said.emit(f"{path.name} is not part of this installation's guide.")
            return
        if path.suffix.lower() != ".md":
            open_outside(name, self)  # a screenshot linked rather than shown
            return
        super().doSetSource(name, type)
        if not _anchored(self.document()):  # loaded again (Qt may, for a #link to the page shown)
            self._prepare()
        if name.hasFragment():
            self.scrollToAnchor(name.fragment())
        self.said.emit("")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._refit.start()

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the pictures are scaled again for its pixels."""
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._refit.start()
        return super().event(event)

    def changeEvent(self, event: QEvent) -> None:
        """The theme switched (Settings' Look, or the desktop under "Same as the system"): the links take its link
        colour. Qt's Markdown reader writes the colour of the time into each link, so a guide opened in the dark
        theme kept #7aaaff links on the light page (2.3:1), one opened in the light theme #1d5fd1 on the dark
        page (2.5:1)."""
        if event.type() == QEvent.Type.PaletteChange:
            _colour_links(self.document(), self.palette().color(QPalette.ColorRole.Link))
        super().changeEvent(event)

    def _prepare(self) -> None:
        """Anchors on the headings, pictures fitted to the text's width."""
        doc = self.document()
        doc.setUndoRedoEnabled(False)  # read only: each anchor and picture size would be kept to undo
        taken: dict[str, int] = {}
        block = doc.begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and block.length() > 1:
                cursor = QTextCursor(block)
                cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
                anchor = QTextCharFormat()
                anchor.setAnchor(True)
                anchor.setAnchorNames([heading_anchor(block.text(), taken)])
                cursor.mergeCharFormat(anchor)
            block = block.next()
        self._fitted = None
        self._originals.clear()
        self._fit_pictures()

    def _fit_pictures(self) -> None:
        """Each picture as wide as the text (at most ``PICTURE_WIDTH``, never wider than it is), scaled smoothly: the
        screenshots, at their 1,280 px and more, made the guide scroll sideways, and Qt's own scaling of a picture
        drawn smaller left its words unreadable. Scaled to the screen's pixels (``width`` × its pixel ratio): at
        150 % a picture scaled to 760 pixels was then stretched to 1,140, its words blurred again."""
        doc = self.document()
        width = max(120, min(PICTURE_WIDTH, self.viewport().width() - 2 * int(doc.documentMargin()) - 4))
        dpr = self.devicePixelRatioF()
        if (width, dpr) == self._fitted:
            return
        self._fitted = (width, dpr)
        cursor = QTextCursor(doc)
        for position, length, picture in _pictures(doc):
            url = doc.baseUrl().resolved(QUrl(picture.name()))  # as Qt looks it up: the relative name was never used
            if picture.name() not in self._originals:
                loaded = doc.resource(QTextDocument.ResourceType.ImageResource, url)
                if not isinstance(loaded, QPixmap) or loaded.isNull():
                    continue  # shown as Qt shows a missing picture
                self._originals[picture.name()] = loaded
            shown = fitted(self._originals[picture.name()], width, dpr)
            doc.addResource(QTextDocument.ResourceType.ImageResource, url, shown)
            picture.setWidth(shown.deviceIndependentSize().width())
            picture.setHeight(shown.deviceIndependentSize().height())
            cursor.setPosition(position)
            cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(picture)


def fitted(original: QPixmap, width: int, dpr: float) -> QPixmap:
    """``original`` shown at most ``width`` logical pixels wide (its own width where narrower), as many screen pixels
    as it covers at ``dpr``: never scaled up, and marked with the ratio, so Qt draws it pixel for pixel."""
    shown = min(original.width(), width)
    pixels = min(original.width(), math.ceil(shown * dpr))
    picture = QPixmap(original) if pixels == original.width() else original.scaledToWidth(
        pixels, Qt.TransformationMode.SmoothTransformation)
    picture.setDevicePixelRatio(pixels / shown)
    return picture


def _anchored(doc: QTextDocument) -> bool:
    """Whether the first heading of ``doc`` has its anchor (``_prepare`` was run on what is loaded now)."""
    block = doc.begin()
    while block.isValid() and not (block.blockFormat().headingLevel() and block.length() > 1):
        block = block.next()
    return not block.isValid() or bool(block.begin().fragment().charFormat().anchorNames())


def _colour_links(doc: QTextDocument, colour: QColor) -> None:
    """Every link of ``doc`` in ``colour``."""
    links, block = [], doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().isAnchor() and fragment.charFormat().anchorHref():
                links.append((fragment.position(), fragment.length()))
            it += 1
        block = block.next()
    cursor, link = QTextCursor(doc), QTextCharFormat()
    link.setForeground(colour)
    for position, length in links:  # after the walk: a change of format may split or join the fragments walked
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(link)


def _pictures(doc: QTextDocument) -> list[tuple[int, int, QTextImageFormat]]:
    """(position, length, format) of each picture in ``doc``."""
    found = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().isImageFormat():
                found.append((fragment.position(), fragment.length(), fragment.charFormat().toImageFormat()))
            it += 1
        block = block.next()
    return found


class GuideWindow(QWidget):
    """The guide in a window of its own beside the main one (not modal: staff follow it while they work), with a
    find box (Ctrl+F; Enter or F3 finds the next, Shift+F3 the one before) and Back; Escape closes it."""

    def __init__(self, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("User Guide")  # the menu item's words, as every window is
        self.browser = GuideBrowser()
        self.browser.setAccessibleName("User guide")
        self.find_box = QLineEdit(placeholderText="Find in the guide (Ctrl+F)")
        self.find_box.setAccessibleName("Find in the guide")
        self.find_box.setClearButtonEnabled(True)
        self.back = QPushButton("Back")
        self.back.setEnabled(False)
        self.note = QLabel()
        self.note.setObjectName("muted")  # the theme's, also after a switch (a colour set here stayed: 2.4:1)
        top = QHBoxLayout()
        top.addWidget(self.back)
        top.addWidget(self.find_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.note)
        self._wire()
        self.browser.setSource(QUrl.fromLocalFile(str(path)))
        theme.resize_to_screen(self, 900, 820)

    def _wire(self) -> None:
        self.back.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.back.setEnabled)
        self.browser.said.connect(self.note.setText)
        self.find_box.textEdited.connect(lambda _text: self.find(again=False))
        self.find_box.returnPressed.connect(self.find)
        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_find)
        QShortcut(QKeySequence.StandardKey.FindNext, self, self.find)
        QShortcut(QKeySequence.StandardKey.FindPrevious, self, lambda: self.find(backward=True))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)  # as every window of the app closes

    def focus_find(self) -> None:
        self.find_box.setFocus()
        self.find_box.selectAll()

    def find(self, backward: bool = False, again: bool = True) -> bool:
        """The next place the find box's words are (from where the last one starts as they are typed, so the
        match grows in place), round the end to the start; the note says where they are nowhere."""
        words = self.find_box.text()
        cursor = self.browser.textCursor()
        if not again:
            cursor.setPosition(cursor.selectionStart())
            self.browser.setTextCursor(cursor)
        if not words:
            self.note.setText("")
            return False
        flag = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        found = self.browser.find(words, flag)
        if not found:
            cursor.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
            self.browser.setTextCursor(cursor)
            found = self.browser.find(words, flag)
        missing = "" if found else f"“{words}” is not in the guide."
        if missing and (again or not self.note.text()):  # told as typing stops finding it, and at each Enter
            say(self.note, missing)
        else:
            self.note.setText(missing)
        return found


def open_guide(parent: QWidget, settings: AppSettings | None = None) -> str | None:
    """Show the guide (the window already open brought forward); the one-line reason where it cannot be.
    ``settings``: where its size and place are remembered between sessions."""
    window = parent.findChild(GuideWindow)
    if window is None:
        problem = guide_problem(GUIDE)
        if problem is not None:
            return problem
        window = GuideWindow(GUIDE, parent)
        if settings is not None:
            remember(window, settings, "guide")
    window.show()
    window.raise_()
    window.activateWindow()
    return None
