"""The message along the bottom of the window: errors, news and calls to action, never a modal box."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget
from shiboken6 import isValid

from app import theme
from app.labels import plain_label

INFO_SECONDS = 8


class MessageBar(QFrame):
    """A message floating along the bottom of the content: errors stay until closed, other news fades.

    Used instead of modal boxes so a failed file never blocks the window (or a test). It floats over its
    host rather than sitting in a layout, so showing one never moves the photo under the mouse.

    A message may belong to one page (the window's tabs): it shows only while that page does, as a
    browser's bar belongs to its tab. An error about the catalog stayed on the photo and the map, where it
    no longer applied and hid the photo's bottom. An error or call to action not yet answered comes back
    with its page; news (fading anyway) is gone once its page is left. A message of no page (the models,
    the whole catalog) shows on every one.

    A message replaces the one shown ("Importing…" by its result), except news shown ``kept``: what a designer
    must not miss (the files a drop left out) stays on top while it shows, later news said below it, and news
    already shown stays below it. "Restored your edits to …" of the photo opening replaced "Left out notes.txt"
    at once. Only news of the same page (or of none) joins. An error or a call to action replaces what shows, but
    not kept news: it comes below that, in its own colour with its button (a damaged catalog's error, found as the
    models a setup-page install brought were loaded, replaced the install's note of what it set aside).

    By keyboard: Tab reaches its button and Dismiss; Escape there dismisses it, and the keyboard goes back to where
    it was before it came to the bar (it fell to the tab bar, the next control after the hidden button). A screen
    reader is told each message as it comes (``announce``): it showed in silence, the keyboard elsewhere.
    """

    action = Signal()
    moved = Signal()  # shown, hidden or fitted again: what lies under it may move out of its way

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = plain_label()  # messages quote file names and catalog text
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.clicked.connect(self.action)
        self.button.clicked.connect(self.dismiss)  # the call to action is answered: it would stay, stale
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss")  # a screen reader said "✕", or "multiplication x"
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True, timeout=self.dismiss)
        self.level = ""
        self.page: int | None = None  # the page the message belongs to; None: the whole window
        self.waiting = False  # an error or a call to action the user has not answered yet
        self.kept = ""  # the lines of news shown ``kept``, on top of what comes after them until dismissed
        self._came_from: QWidget | None = None  # what had the keyboard before it came to the bar
        QApplication.instance().focusChanged.connect(self._focus_moved)
        self.hide()

    def _focus_moved(self, old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self.isAncestorOf(new) and (old is None or not self.isAncestorOf(old)):
            self._came_from = old

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:  # on the bar's button or Dismiss (they leave the key to the bar)
            self.dismiss()
        else:
            super().keyPressEvent(event)

    def float_over(self, host: QWidget) -> None:
        """Lie over the bottom of ``host`` and follow its size."""
        self.setParent(host)
        host.installEventFilter(self)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._fit()
        return False

    def _fit(self) -> None:
        host = self.parentWidget()
        if host is None:
            return
        width = host.width()
        layout = self.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else self.sizeHint().height()
        self.setGeometry(0, host.height() - height, width, height)
        self.raise_()
        self.moved.emit()

    def show_message(self, text: str, level: str = "info", action: str = "", page: int | None = None,
                     kept: bool = False) -> None:
        """Show ``text`` now, whichever page is in front (it is news); ``page``: the one it belongs to. ``kept``:
        news later news does not replace while it shows (see the class)."""
        said = text  # this message alone, not the kept news it joins
        if self._joins(level, action, page, kept):
            below = self.text.text().removeprefix(self.kept).removeprefix("\n") if kept else text
            self.kept = "\n".join(filter(None, (self.kept, text))) if kept else self.kept
            text = "\n".join(filter(None, (self.kept, below)))
            if level == "error" or action:  # the kept news stays above it, on every page either shows on
                page = page if page == self.page else None
            else:
                page = self.page if page is None else page
                level = level if level == self.level else "info"  # not "done" in green beside a left-out file
        else:
            self.kept = text if kept else ""
        self.level, self.page = level, page
        # a report of several lines (an import's skipped rows, the products its feed no longer lists) is read, not
        # glanced at: it faded in 8 seconds mid-reading
        self.waiting = level == "error" or bool(action) or "\n" in text
        self._colour()
        self.text.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.show()
        self._fit()
        announce(self, said, level == "error")
        if self.waiting:  # errors, calls to action and reports wait for the user
            self._timer.stop()
        else:
            self._timer.start(INFO_SECONDS * 1000)

    def _joins(self, level: str, action: str, page: int | None, kept: bool) -> bool:
        """Whether a message joins the one shown rather than replacing it: both of one page or one of no page, the
        one shown neither an error nor a call to action, and either news with one of them kept, or an error or a
        call to action coming below kept news."""
        if self.isHidden() or not (kept or self.kept) or None not in (page, self.page) and page != self.page:
            return False
        if self.level == "error" or not self.button.isHidden():
            return False
        return level != "error" and not action or bool(self.kept) and not kept

    def _colour(self) -> None:
        """The level's tint in the theme in use: pale with dark text, or deep with light text in the dark theme
        (the pale tints were the one light strip of the dark window). The bar's own stylesheet, not the app's:
        rules there are matched against every widget the app polishes."""
        background, foreground = theme.MESSAGE_LEVELS[theme.colours()][self.level]
        sheet = f"MessageBar{{background:{background};border-top:1px solid {foreground};}}QLabel{{color:{foreground};}}"
        if sheet != self.styleSheet():  # a new sheet changes the palette: the same one again would loop
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and self.level:  # the theme changed under the bar
            self._colour()
        super().changeEvent(event)

    def let_go(self, text: str) -> None:
        """Kept news ``text`` has had its time (the drop it told of is done, another photo opened): it goes, and what
        was said below it stays, alone. "Left out notes.txt" of the last drop stayed on top of the next photo's news."""
        lines = self.kept.split("\n")
        if self.isHidden() or text not in lines:
            return
        below = self.text.text().removeprefix(self.kept).removeprefix("\n")
        self.kept = "\n".join(line for line in lines if line != text)
        if not self.kept and not below:
            self.dismiss()
            return
        self.text.setText("\n".join(filter(None, (self.kept, below))))
        self._fit()

    def dismiss(self) -> None:
        """Closed, answered or faded: gone, also from its page."""
        self.waiting, self.kept = False, ""
        self._timer.stop()
        self._give_back_focus()
        self.hide()
        self.moved.emit()

    def _give_back_focus(self) -> None:
        """The keyboard on the bar goes back where it came from, if that is still there to take it."""
        back, self._came_from = self._came_from, None
        focus = QApplication.focusWidget()
        if focus is None or not self.isAncestorOf(focus):
            return
        if back is not None and isValid(back) and back.isVisible() and back.window() is self.window():
            back.setFocus(Qt.FocusReason.OtherFocusReason)

    def page_shown(self, page: int) -> None:
        """``page`` came to the front: a message of another page hides (news for good, an unanswered one
        until its page is back), and this page's unanswered one shows again."""
        if self.page is None:
            return
        if self.page != page and self.waiting:
            self.hide()
            self.moved.emit()
        elif self.page != page:
            self.dismiss()
        elif self.waiting and self.isHidden():
            self.show()
            self._fit()


def announce(widget: QWidget, text: str, urgent: bool) -> None:
    """Have a screen reader say ``text`` now (``urgent``: over what it is saying, as for an error), for words that
    come up where the keyboard is not."""
    event = QAccessibleAnnouncementEvent(widget, text)
    politeness = QAccessible.AnnouncementPoliteness
    event.setPoliteness(politeness.Assertive if urgent else politeness.Polite)
    QAccessible.updateAccessibility(event)


def say(line: QLabel, text: str, urgent: bool = False) -> None:
    """``text`` on a window's own status line, and told to a screen reader: how a step the keyboard started ended
    (done, failed, stopped). A line's new words are not read out where the keyboard is elsewhere (on Start,
    Export, the list), so a blind user pressed Export and heard nothing of the folder that did not exist."""
    line.setText(text)
    if text:
        announce(line, text, urgent)
