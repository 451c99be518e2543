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
from keys import press, shown
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
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
    from PySide6.QtCore import QSettings
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


# -- how a step ended, told to a screen reader ----------------------------------------------------------------------

POLITE, URGENT = QAccessible.AnnouncementPoliteness.Polite, QAccessible.AnnouncementPoliteness.Assertive


@pytest.fixture
def told(monkeypatch) -> list[tuple[str, QAccessible.AnnouncementPoliteness]]:
    """What the app asks a screen reader to say, as Qt hands it to the platform's accessibility (passed on)."""
    heard: list[tuple[str, QAccessible.AnnouncementPoliteness]] = []
    update = QAccessible.updateAccessibility

    def hear(event) -> None:
        if event.type() == QAccessible.Event.Announcement:
            heard.append((event.message(), event.politeness()))
        update(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(hear))
    return heard


def test_export_to_a_folder_that_is_not_there_is_told_not_only_shown(qtbot, tmp_path, told):
    """Enter on Export Shoppable Page with a mistyped folder wrote "…: no such folder" under the fields and kept
    the keyboard on the title: a screen reader said nothing, and the dialog seemed to ignore Enter."""
    from PySide6.QtCore import QSettings

    from app.dialogs.shoppable import PageExportDialog

    dialog = PageExportDialog(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), tmp_path / "room.jpg")
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "not-made"))
    shown(qtbot, dialog)
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert told == [(f"{tmp_path / 'not-made'}: no such folder; choose one with Choose…", URGENT)]


def test_batch_start_without_folders_is_told(qtbot, fresh_pipeline, told, qapp):
    """Start (Enter) with no folders chosen wrote what to choose under the form, unsaid."""
    from app.dialogs.batch import BatchDialog
    from app.workers import Runner

    dialog = BatchDialog(fresh_pipeline, Runner(1, qapp), 5)
    qtbot.addWidget(dialog)
    shown(qtbot, dialog)
    dialog.source.clear()
    press(qtbot, Qt.Key.Key_Return)
    assert told == [("Choose the photos folder and where to save the results.", URGENT)]


def test_words_not_in_the_guide_are_told_once_as_typed_and_at_each_enter(qtbot, told):
    from app.dialogs.guide import GUIDE, GuideWindow

    window = GuideWindow(GUIDE)
    qtbot.addWidget(window)
    shown(qtbot, window)
    window.focus_find()
    qtbot.keyClicks(window.find_box, "sofaxq")  # "sofa" is found, "sofax" is not, nor "sofaxq"
    press(qtbot, Qt.Key.Key_Return)
    assert told == [("“sofax” is not in the guide.", POLITE), ("“sofaxq” is not in the guide.", POLITE)]


def test_a_cancelled_installation_check_says_how_it_ended(qtbot, fresh_pipeline, told):
    """Check Installation's last line (passed, failed, cancelled) came under the list in silence."""
    from app.dialogs.install_check import CANCELLED, InstallCheckWindow

    window = InstallCheckWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.start()
    shown(qtbot, window)
    window.again.setFocus()
    press(qtbot, Qt.Key.Key_Space)  # Cancel
    qtbot.waitUntil(lambda: not window.running(), timeout=90_000)
    assert [(text.split(" after ")[0], how) for text, how in told] == [(CANCELLED, POLITE)]


def test_the_windows_progress_bars_say_what_they_measure(qtbot, fresh_pipeline, qapp):
    """A screen reader's object review said "progress bar, 40 percent" of Check Installation's, a bundle's, the
    batch's and a restore's bars: of what, it did not say."""
    from PySide6.QtWidgets import QWidget

    from app.dialogs.backups import BackupsWindow
    from app.dialogs.batch import BatchDialog
    from app.dialogs.bundles import BundleProgress
    from app.dialogs.install_check import InstallCheckWindow
    from app.workers import Runner

    owner = QWidget()
    qtbot.addWidget(owner)
    windows = [InstallCheckWindow(fresh_pipeline, owner), BundleProgress(owner, "Export a Catalog Bundle", "…"),
               BatchDialog(fresh_pipeline, Runner(1, qapp), 5, owner), BackupsWindow(fresh_pipeline, owner)]
    bars = [bar for window in windows for bar in window.findChildren(QProgressBar)]
    assert len(bars) == len(windows)
    assert all(QAccessible.queryAccessibleInterface(bar).text(QAccessible.Text.Name) for bar in bars)


def test_each_duplicates_button_names_its_product_or_group(qtbot, ikea_products, qapp):
    """Tab in Duplicates in the catalog walked "Keep this one", "Keep this one", "Not duplicates"… 153 groups of
    them: which product a Keep kept, and what told it from the other (the card's words), a screen reader never
    said."""
    from app.thumbnails import Thumbnails
    from app.widgets.duplicates_view import GroupRow
    from app.workers import Runner
    from engine.catalog import Product
    from engine.duplicates import DuplicateGroup

    rows = ikea_products[:2]
    products = [Product(r["product_id"], r["name"], r["category"], "", extra={"color": r["color"]}) for r in rows]
    row = GroupRow(DuplicateGroup(products, identical=False, score=0.97), Thumbnails(Runner(1, qapp)),
                   {products[0].sku: 2, products[1].sku: 0})
    qtbot.addWidget(row)
    said = [(name_of(card.keep), QAccessible.queryAccessibleInterface(card.keep).text(QAccessible.Text.Description))
            for card in row.cards]
    assert said[0][0].startswith(f"Keep {rows[0]['name']}, {rows[0]['product_id']}")
    assert said[1][0].startswith(f"Keep {rows[1]['name']}, {rows[1]['product_id']}")
    assert said[0][1].startswith(f"In 2 tagged photos. color: {rows[0]['color']}")
    assert said[1][1].startswith("In no tagged photo")
    assert name_of(row.not_duplicates) == f"Not duplicates: {rows[0]['name']}, {rows[1]['name']}"


def name_of(widget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def test_a_catalog_tile_is_said_with_its_sku_category_and_price(qtbot, ikea_products, qapp):
    """The Catalog grid's tiles were said by their name alone: "ALINA", "ALINA" of two bedding products, the SKU,
    category and price the tooltip shows out of a screen reader's reach."""
    from PySide6.QtWidgets import QListView

    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import ProductModel
    from app.workers import Runner
    from engine.catalog import Product

    rows = [r for r in ikea_products if r["name"] == "ALINA"][:2]
    assert len(rows) == 2
    model = ProductModel(Thumbnails(Runner(1, qapp)))
    model.set_products([Product(r["product_id"], r["name"], r["category"], "", price="19.99") for r in rows])
    grid = QListView()
    qtbot.addWidget(grid)
    grid.setModel(model)
    tiles = QAccessible.queryAccessibleInterface(grid)
    said = [tiles.child(row).text(QAccessible.Text.Name) for row in range(tiles.childCount())]
    assert said == [f"ALINA, {r['product_id']} · Bedding · 19.99" for r in rows]


def test_the_catalog_and_map_tabs_cancel_buttons_say_what_they_stop(qtbot, fresh_pipeline, qapp):
    """Tab on the Map tab went from the tab to "Cancel" while a map was drawn, and the Catalog tab's import had
    a "Cancel" too: in the main window, beside a search and a grid, a screen reader said not what it stops."""
    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.widgets.map_view import MapView
    from app.workers import Runner

    catalog = CatalogView(None, Runner(1, qapp), Runner(1, qapp), Thumbnails(Runner(1, qapp)))
    map_view = MapView(fresh_pipeline, Runner(1, qapp), Thumbnails(Runner(1, qapp)))
    for view in (catalog, map_view):
        qtbot.addWidget(view)
    assert (name_of(catalog.cancel), name_of(map_view.cancel)) == ("Cancel the import", "Cancel drawing the map")


def test_settings_list_of_kinds_is_named_by_what_its_ticks_do(qtbot, fresh_pipeline):
    """Settings' list of categories to tag was said as "Tags and matches" (its group's title): what a tick does
    ("Tags are shown for the checked kinds…") is a label a screen reader does not reach by Tab."""
    from PySide6.QtCore import QSettings

    from app.dialogs.settings import SettingsDialog
    from app.settings import AppSettings

    settings = AppSettings(QSettings(str(fresh_pipeline.data_dir / "s.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, ["sofa", "chair"], fresh_pipeline.data_dir)
    qtbot.addWidget(dialog)
    assert name_of(dialog.categories) == "Kinds shown as tags (checked ones)"
