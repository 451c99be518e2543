"""The dialogs and secondary windows, looked at in the light and the dark theme: readable, not cut, aligned, titled
alike.

Found by a walk of every dialog under Xvfb in both themes and at 150 %: red and amber notes at 2.2:1 and 2.9:1 on
the dark panels, unticked check boxes with no box in the dark theme, the export dialog's fields squeezed through
their text once its note took a second line, the About box's link to the guide never shown, fields of Settings'
groups starting at three places, Review's Refresh stretched across its window, window titles in other words than
the menu items that open them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from contrast import SHAPE_CONTRAST, TEXT_CONTRAST, contrast
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QAction, QColor, QImage
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QLabel,
    QStyle,
    QStyleOptionButton,
    QWidget,
)
from test_app_shoppable_title import ROOM, open_photo

from app import theme
from app.dialogs.about import DOCS, GUIDE_LINK, about_html
from app.dialogs.batch import BatchDialog
from app.dialogs.settings import SettingsDialog
from app.dialogs.shoppable import PageExportDialog
from app.settings import AppSettings
from app.workers import Runner

WAIT_MS = 90_000


@pytest.fixture(params=["light", "dark"])
def themed(request, qapp):
    """The app styled in each theme, and back to light after (other tests expect it)."""
    theme.apply(qapp, request.param)
    yield theme.colours(qapp)
    theme.apply(qapp, "light")


def label_colour(label: QLabel) -> QColor:
    label.ensurePolished()
    return label.palette().color(label.foregroundRole())


def test_every_themes_text_colours_are_readable_on_its_panels(themed):
    for name in ("text", "muted", "link", "error", "warning"):
        for ground in ("window", "base", "alternate"):
            ratio = contrast(getattr(themed, name), getattr(themed, ground))
            assert ratio >= TEXT_CONTRAST, f"{name} on {ground}: {ratio:.2f}:1"


def test_green_words_and_badges_are_readable(qtbot, themed):
    """Confirm match was #2e9d49 on a match row: 3.5:1 in the light theme, 4.1:1 in the dark; white on it (an
    "Exact" or "✓ Confirmed" badge, a confirmed pin) 3.5:1."""
    from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton

    row = QFrame(objectName="matchRow")
    qtbot.addWidget(row)
    confirm = QPushButton("Confirm match", objectName="confirm")
    QHBoxLayout(row).addWidget(confirm)
    confirm.ensurePolished()
    ratio = contrast(confirm.palette().color(confirm.foregroundRole()).name(), themed.base)  # rows are base
    assert ratio >= TEXT_CONTRAST, f"{ratio:.2f}:1"
    assert contrast("#ffffff", theme.GREEN) >= TEXT_CONTRAST


def test_settings_models_note_is_readable_on_its_group(qtbot, themed, tmp_path: Path, pipeline):
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, pipeline.categories.categories, pipeline.data_dir)
    qtbot.addWidget(dialog)
    dialog.models_note.setText("Choose at least one detector.")
    ratio = contrast(label_colour(dialog.models_note), themed.base)  # the advanced group is drawn in base
    assert ratio >= TEXT_CONTRAST, f"{ratio:.2f}:1"


def test_train_warning_is_readable_on_its_group(qtbot, themed, pipeline):
    from app.dialogs.train import TrainWindow

    window = TrainWindow(pipeline)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: not window.io.busy(), timeout=WAIT_MS)
    ratio = contrast(label_colour(window.warning), themed.base)
    assert ratio >= TEXT_CONTRAST, f"{ratio:.2f}:1"
    window.close()


def test_an_unticked_check_box_shows_its_square(qtbot, themed):
    """The square's outline stands out from the dialog around it (Fusion's own was 1.2:1 in the dark theme)."""
    holder = QWidget()
    qtbot.addWidget(holder)
    box = QCheckBox("Two networks", holder)
    holder.resize(200, 40)
    holder.show()
    qtbot.waitExposed(holder)
    option = QStyleOptionButton()
    box.initStyleOption(option)
    square = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    image = box.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    ratio = image.devicePixelRatio()
    ground = QColor(themed.window)
    seen = max(contrast(image.pixelColor(int(x * ratio), int(y * ratio)), ground)
               for x in range(square.left(), square.right() + 1) for y in range(square.top(), square.bottom() + 1))
    assert seen >= SHAPE_CONTRAST, f"the square's outline is at most {seen:.2f}:1 on the dialog"


def squeezed(dialog: QWidget) -> list[str]:
    """The dialog's visible fields and labels that are lower than they need: their text cut through."""
    found = []
    for widget in dialog.findChildren(QWidget):
        if not widget.isVisible() or widget.sizeHint().height() <= 0 or isinstance(widget.parent(), QAbstractSpinBox):
            continue  # a spin box's own line edit is sized by the box, on purpose lower than a free one
        need = widget.heightForWidth(widget.width()) if widget.hasHeightForWidth() else widget.sizeHint().height()
        if widget.height() < need and type(widget).__name__ in {"QLineEdit", "QLabel", "QPushButton", "QSpinBox"}:
            found.append(f"{type(widget).__name__} {widget.accessibleName() or getattr(widget, 'text', str)()!r}: "
                         f"{widget.height()} of {need} px")
    return found


def test_export_page_dialog_grows_when_its_note_takes_two_lines(qtbot, tmp_path: Path):
    """Opened with no folder (one line of note), then a folder chosen: the note names the page and takes two lines;
    the dialog kept its height and squeezed the title and folder fields through their text."""
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = PageExportDialog(store, tmp_path / "ikea-an-urban-oasis-in-4-metres-square.jpg")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert squeezed(dialog) == []
    dialog.folder.setText(str(tmp_path))
    qtbot.waitUntil(lambda: dialog.note.text().startswith("Writes"))
    qtbot.wait(50)
    assert dialog.note.heightForWidth(dialog.note.width()) > dialog.note.fontMetrics().height() * 1.5, \
        "the note fits one line: the test shows nothing"
    assert squeezed(dialog) == []


def test_batch_dialog_grows_for_a_long_message(qtbot, tmp_path: Path, pipeline, qapp):
    """Start with the photos folder as the results folder: the message names it twice (a long path) and takes
    lines the dialog did not have."""
    photos = tmp_path / "a-season-of-room-photos-for-the-spring-catalogue" / "living-rooms-and-kitchens-shot-in-may"
    photos.mkdir(parents=True)
    dialog = BatchDialog(pipeline, Runner(1, qapp), 5)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.source.setText(str(photos))
    dialog.target.setText(str(photos))
    dialog.start()
    qtbot.wait(50)
    assert dialog.status.text().endswith("(left out of the tagging)")
    assert dialog.status.heightForWidth(dialog.status.width()) > 3 * dialog.status.fontMetrics().height()
    assert squeezed(dialog) == []


def test_settings_fields_start_at_one_place_in_every_group(qtbot, tmp_path: Path, pipeline):
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, pipeline.categories.categories, pipeline.data_dir)
    qtbot.addWidget(dialog)
    dialog.advanced_toggle.setChecked(True)
    dialog.show()
    qtbot.waitExposed(dialog)
    fields = {"Tags on a photo": dialog.max_tags, "Look": dialog.theme, "Run the models on": dialog.device,
              "Embedder": dialog.embedder, "Detectors": dialog.detectors}
    starts = {name: field.mapTo(dialog, field.rect().topLeft()).x() for name, field in fields.items()}
    assert len(set(starts.values())) == 1, starts


def test_about_links_the_app_guide():
    """To the guide in the app's own window (app.dialogs.guide): a file:// link to the .md found no program to open
    it on a store PC."""
    assert DOCS.is_file(), DOCS
    assert f'href="{GUIDE_LINK}"' in about_html([]) and "User Guide" in about_html([])


def opened_title(qtbot, win, action) -> str:
    """The title of what ``action`` opens: a modal dialog or box (closed again), else the new window."""
    before = {w for w in QApplication.topLevelWidgets() if w.isVisible()}
    seen: list[str] = []

    def catch(tries: int) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None:
            seen.append(modal.windowTitle())
            modal.reject()
        elif tries:
            QTimer.singleShot(20, lambda: catch(tries - 1))

    QTimer.singleShot(0, lambda: catch(50))
    action.trigger()
    qtbot.wait(1200)
    if seen:
        return seen[0]
    opened = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w not in before]
    assert len(opened) == 1, [w.windowTitle() for w in opened]
    opened[0].close()
    return opened[0].windowTitle()


def test_each_window_is_titled_with_its_menu_items_words(qtbot, active_window, scene_path):
    """"Export Shoppable Page…" opened "Export shoppable page", "Batch Tag Folder…" "Batch tag a folder": a window
    is found again by the words that opened it."""
    open_photo(qtbot, active_window, scene_path(ROOM))
    actions = {action.text(): action for action in active_window.findChildren(QAction)}
    wrong = {}
    for text in ("Export &Shoppable Page…", "&Batch Tag Folder…", "&Settings…", "&Train on My Photos…",
                 "&Review Uncertain Tags…", "&Export a Catalog Bundle…", "&Import a Catalog Bundle…",
                 "Restore a &Backup…", "&About DecorLens"):
        words = text.replace("&", "").removesuffix("…")
        title = opened_title(qtbot, active_window, actions[text])
        if title != words:
            wrong[words] = title
    assert wrong == {}


def test_review_windows_refresh_is_a_button_at_the_right(qtbot, pipeline):
    """Refresh was stretched across the whole window, a bar rather than a button; every other window's buttons are
    their own width, at the right."""
    from PySide6.QtWidgets import QPushButton

    from app.dialogs.review_queue import ReviewWindow

    window = ReviewWindow(pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    refresh = next(b for b in window.findChildren(QPushButton) if b.text() == "Refresh")
    assert refresh.width() == refresh.sizeHint().width()
    assert refresh.geometry().right() == window.table.geometry().right()
    window.close()


def test_the_default_button_and_the_keyboards_ring_are_readable(themed):
    """A default button (OK, Export, Start) and a selected row are white on the accent: 3.2:1 in the dark theme; the
    accent is also the keyboard's ring around a control, and the text colour the ring on a default button."""
    assert contrast(themed.accent_text, themed.accent) >= TEXT_CONTRAST
    for ground in ("window", "base"):
        assert contrast(themed.accent, getattr(themed, ground)) >= SHAPE_CONTRAST, ground
    assert contrast(themed.text, themed.accent) >= SHAPE_CONTRAST


def ring_width(widget: QWidget, colour: str) -> int:
    """How many of the widget's outermost columns of pixels, on the left at mid-height, are ``colour``."""
    image, wanted, middle = widget.grab().toImage(), QColor(colour).name(), widget.height() // 2
    return next((x for x in range(6) if image.pixelColor(x, middle).name() != wanted), 6)


def test_a_focused_spin_box_has_the_2_px_ring_a_combo_box_has(qtbot, themed):
    """Settings' and Batch's "Matches per tag", Train's epochs and views: Fusion's 1 px line beside
    the 2 px ring of the combo box above them."""
    from PySide6.QtWidgets import QComboBox, QSpinBox, QVBoxLayout

    holder = QWidget()
    qtbot.addWidget(holder)
    combo, spin = QComboBox(), QSpinBox()
    combo.addItem("Every object found")
    layout = QVBoxLayout(holder)
    layout.addWidget(combo)
    layout.addWidget(spin)
    holder.show()
    qtbot.waitExposed(holder)
    holder.activateWindow()
    widths = {}
    for box in (combo, spin):
        box.setFocus()
        qtbot.waitUntil(box.hasFocus)
        widths[type(box).__name__] = ring_width(box, themed.accent)
    assert widths == {"QComboBox": 2, "QSpinBox": 2}


def test_a_toggle_button_shows_when_it_is_on(qtbot, themed):
    """"Why this match?" stays pressed while it explains, but was drawn the same on and off in both themes: on, it is
    filled with an accent tint its words read on; "✓ Confirmed" (a checked button too) keeps its plain look."""
    from PySide6.QtWidgets import QPushButton

    def fill(button: QPushButton) -> QColor:
        image = button.grab().toImage()
        return image.pixelColor(image.width() // 2, 4)  # above the words, inside the border

    why = QPushButton("Why this match?", checkable=True)
    qtbot.addWidget(why)
    why.show()
    off = fill(why)
    why.setChecked(True)
    on = fill(why)
    assert contrast(on, off) >= 1.1, f"on {on.name()} and off {off.name()} look alike"
    assert contrast(themed.text, on) >= TEXT_CONTRAST
    confirmed = QPushButton("✓ Confirmed", objectName="confirm", checkable=True, checked=True)
    qtbot.addWidget(confirmed)
    confirmed.show()
    assert fill(confirmed) == QColor(themed.base)
