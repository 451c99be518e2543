"""The main window's drop-downs each have a visible label set as its buddy, with an Alt key of its own: on Linux
(AT-SPI) a screen reader says a combo box's current entry and nothing of the accessible name set in code, so the
buddy label is what names it; and the Alt key reaches it. Offscreen (pytest-qt), over an empty catalog."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QGroupBox, QLabel, QTabBar, QWidget

pytestmark = pytest.mark.gui


@pytest.fixture
def window(main_window, fresh_pipeline):
    return main_window(fresh_pipeline)


def alt_key(text: str) -> str:
    """The Alt key an &-letter in ``text`` makes ("" for none; "&&" is a plain ampersand)."""
    return QKeySequence.mnemonic(text).toString()


def window_alt_keys(win: QWidget) -> list[str]:
    """Every Alt key the window answers: its menu bar's, its labels', buttons', tabs' and group boxes'."""
    texts = [action.text() for action in win.menuBar().actions()]
    texts += [label.text() for label in win.findChildren(QLabel) if label.buddy() is not None]
    texts += [button.text() for button in win.findChildren(QAbstractButton)]
    texts += [bar.tabText(i) for bar in win.findChildren(QTabBar) for i in range(bar.count())]
    texts += [box.title() for box in win.findChildren(QGroupBox)]
    return [key for key in map(alt_key, texts) if key]


def buddy_label(win: QWidget, box: QComboBox) -> QLabel:
    labels = [label for label in win.findChildren(QLabel) if label.buddy() is box]
    assert len(labels) == 1, (box.accessibleName(), [label.text() for label in labels])
    return labels[0]


def test_every_drop_down_has_a_buddy_label_naming_it_with_an_alt_key_of_its_own(window):
    """The Catalog tab's category filter had no label, Where used's label was not its box's buddy and the tag's
    Category label had no Alt key: a screen reader said "All categories (1,955)" or "Sofa" alone."""
    words = {window.catalog.category: "Category", window.panel.category: "Category",
             window.catalog.where_used.category: "Compare with objects of"}
    assert set(window.findChildren(QComboBox)) == set(words) | {window.catalog.order}  # none left out
    keys = window_alt_keys(window)
    for box, name in words.items():
        label = buddy_label(window, box)
        assert label.text().replace("&", "").rstrip(":") == name
        key = alt_key(label.text())
        assert key and keys.count(key) == 1, (label.text(), key, sorted(keys))


def test_alt_g_puts_the_keyboard_on_the_catalog_category_filter(window, qtbot):
    """Alt+C would open the Catalog menu: the filter's key is Alt+G."""
    window.tabs.setCurrentWidget(window.catalog)
    window.catalog.search.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.catalog.search)
    qtbot.keyClick(window.catalog.search, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is window.catalog.category
