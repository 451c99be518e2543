"""Session 48's walk of the app by keyboard and screen reader alone: what a person who cannot see the screen, or
uses no mouse, met in the dialogs, and one look each at a progress bar's fill and a form's labels. Offscreen
(pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, contrast, settle
from keys import shown
from PySide6.QtWidgets import QApplication, QProgressBar

from app import theme

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_a_progress_bars_fill_stands_3_to_1_on_its_track(qtbot, restore_light, choice):
    """Check Installation's bar (every bar: one stylesheet) filled in the accent blue, 2.8:1 on the dark theme's
    track, under WCAG's 3:1 for what a graphic says (how far the work is)."""
    theme.apply(QApplication.instance(), choice)
    bar = QProgressBar(textVisible=False)
    qtbot.addWidget(bar)
    bar.setRange(0, 100)
    bar.setValue(50)
    bar.resize(200, 6)
    settle(qtbot)
    image = bar.grab().toImage()
    fill, track = image.pixelColor(50, 3), image.pixelColor(150, 3)
    assert contrast(fill, track) >= SHAPE_CONTRAST, (choice, fill.name(), track.name())


def test_the_export_page_labels_sit_on_their_fields_line_and_alt_keys_reach_the_fields(qtbot, restore_light,
                                                                                         tmp_path):
    """Export Shoppable Page's "Title" and "Save to" sat a pixel above the words in their fields (the form put
    each 24 px label at the top of its 26 px field), and had no Alt key: a keyboard user tabbed round to them."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QFormLayout

    from app.dialogs.shoppable import PageExportDialog

    theme.apply(QApplication.instance(), "light")  # its fields' padding makes them taller than their labels
    dialog = PageExportDialog(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                              tmp_path / "ikea-a-room.jpg")
    qtbot.addWidget(dialog)
    shown(qtbot, dialog)
    form = dialog.findChild(QFormLayout)
    for row, field in enumerate((dialog.title, dialog.folder)):
        label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
        middle = field.mapTo(dialog, field.rect().center()).y()
        assert label.geometry().center().y() == middle, label.text()
        assert label.buddy() is field
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.folder
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.title
