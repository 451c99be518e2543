"""The app on scaled screens (150 %, 200 %) and to a screen reader: sharp pictures, windows that fit, names.

Qt reads a screen's scale (``QT_SCALE_FACTOR``) and size only when the QApplication starts, so what is
checked at 200 % and 150 % runs in a child process (``SCALED``) on an offscreen screen of the sizes the
audit found broken, 1920 × 1200 at 200 % and 1920 × 1080 at 150 % (960 × 600 and 1280 × 720 logical
pixels): it builds the widgets as the window does, waits for their pictures, and prints what it finds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from conftest import run_on_scaled_screen  # noqa: E402  (tests/ is on sys.path)
from PySide6.QtCore import QPoint, QRect, QSettings, QSize  # noqa: E402
from PySide6.QtGui import QAccessible, QPixmap  # noqa: E402

from app.dialogs.settings import SettingsDialog  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.thumbnails import SIZE, Thumbnails, fit  # noqa: E402
from app.widgets.catalog_view import ICON, CatalogView  # noqa: E402
from app.widgets.map_view import MapView  # noqa: E402
from app.widgets.photo_strip import PhotoStrip  # noqa: E402
from app.widgets.where_used import CROP, object_image  # noqa: E402
from app.workers import Runner  # noqa: E402
from engine.categories import CategoryMap  # noqa: E402
from engine.scene_memory import Sighting  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
TITLE_BAR = 40  # what a window's title bar and frame take on the screen, about


# -- the pictures are made for the screen's pixel ratio -----------------------------------------------------


def _product_photos(ikea: Path, count: int) -> list[str]:
    return [str(p) for p in sorted((ikea / "products").glob("*/*.jpg"))[:count]]


def test_a_thumbnail_is_decoded_at_its_size_times_the_pixel_ratio(qtbot, ikea, qapp):
    """At 200 % a 128 px tile covers 256 screen pixels: decoded at 256 and marked 2, Qt draws it pixel for pixel
    (decoded at a fixed 160 px and stretched, it was blurred). Each size and ratio is a picture of its own."""
    (path,) = _product_photos(ikea, 1)  # 500 x 500
    thumbnails = Thumbnails(Runner(1, qapp))
    assert thumbnails.get(path, ICON, 2.0) is None  # decoded in the worker
    qtbot.waitUntil(lambda: thumbnails.get(path, ICON, 2.0) is not None, timeout=WAIT_MS)
    sharp = thumbnails.get(path, ICON, 2.0)
    assert sharp.devicePixelRatio() == 2.0 and sharp.size() == ICON * 2
    assert sharp.deviceIndependentSize().toSize() == ICON
    qtbot.waitUntil(lambda: thumbnails.get(path, QSize(100, 60), 1.5) is not None, timeout=WAIT_MS)
    wide = thumbnails.get(path, QSize(100, 60), 1.5)
    assert wide.devicePixelRatio() == 1.5 and wide.size() == QSize(90, 90)  # fits 150 x 90 device pixels
    qtbot.waitUntil(lambda: thumbnails.get(path) is not None, timeout=WAIT_MS)
    plain = thumbnails.get(path)  # asked without a size: as before, SIZE pixels at ratio 1
    assert plain.devicePixelRatio() == 1.0 and plain.size() == QSize(SIZE, SIZE)


def test_the_thumbnail_cache_is_bounded_in_bytes_not_only_in_pictures(qtbot, ikea, monkeypatch, qapp):
    """Big thumbnails (a 200 % screen) take four times the memory: the cache keeps a byte budget, dropping the
    least recently used, as it kept a number of pictures before."""
    from app import thumbnails as module

    photos = _product_photos(ikea, 5)
    big = 4 * 256 * 256  # one 256 x 256 thumbnail, 32 bits a pixel
    monkeypatch.setattr(module, "BUDGET", 3 * big)
    thumbnails = Thumbnails(Runner(1, qapp))
    for path in photos:
        thumbnails.get(path, 128, 2.0)
        qtbot.waitUntil(lambda p=path: thumbnails.get(p, 128, 2.0) is not None, timeout=WAIT_MS)
    kept = [thumbnails.get(path, 128, 2.0) is not None for path in photos]  # asking again queues a decode: last
    assert kept == [False, False, True, True, True]


def test_fit_scales_a_pixmap_for_a_widget_on_a_scaled_screen():
    """What a widget scaling a thumbnail itself (the match rows' and hover card's ``Thumb``) needs: ``size`` logical
    pixels, times the ratio in device pixels. ``QPixmap.scaled`` alone gives ``size`` device pixels."""
    source = QPixmap(400, 300)
    sharp = fit(source, QSize(80, 80), 2.0)
    assert sharp.size() == QSize(160, 120) and sharp.devicePixelRatio() == 2.0
    assert sharp.deviceIndependentSize().toSize() == QSize(80, 60)
    assert fit(source, QSize(80, 80), 1.0).size() == QSize(80, 60)


def test_a_where_used_object_is_cut_for_the_panels_pixel_ratio():
    """The Catalog tab's Where used pictures: the object fitted into 96 logical pixels, twice that in pixels at
    200 %, centred on a transparent square so that every row's name starts at the same place; a photo moved since
    it was tagged gives the square empty."""
    pixels = np.full((400, 300, 3), 255, dtype=np.uint8)  # a tall white object
    seen = Sighting("room.jpg", (0, 0, 300, 400), "chair", 1, 0.9, "exact", False, "1", "")
    for dpr in (1.0, 2.0):
        image = object_image(pixels, seen, dpr)
        assert image.devicePixelRatio() == dpr and image.size() == CROP * dpr
        middle, side = image.height() // 2, round(image.width() * 0.05)  # the object is 3/4 as wide as tall
        assert image.pixelColor(image.width() // 2, middle).alpha() == 255
        assert image.pixelColor(side, middle).alpha() == 0 and image.pixelColor(image.width() - 1 - side, middle).alpha() == 0
    empty = object_image(None, seen, 2.0)
    assert empty.size() == CROP * 2.0 and empty.pixelColor(empty.width() // 2, empty.height() // 2).alpha() == 0


SCALED = r"""
import json, sys, time, traceback
from pathlib import Path
from PySide6.QtCore import QRect, QSettings
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QStyle, QStyleOptionViewItem
app = QApplication([])
from app.dialogs.settings import SettingsDialog
from app.settings import AppSettings
from app.thumbnails import Thumbnails
from app.widgets.before_after import BeforeAfterView, load_thumbnails
from app.widgets.catalog_view import ICON as TILE_PICTURE, CatalogView
from app.widgets.duplicates_view import PICTURE, DuplicatesView, ProductCard
from app.widgets.photo_strip import ICON as STRIP_PICTURE, PhotoStrip
from app.workers import Runner
from engine.catalog import Product
from engine.categories import CategoryMap

work, photos, products = Path(sys.argv[1]), sys.argv[2].split("|"), sys.argv[3].split("|")
screen = app.primaryScreen()
found = {"dpr": screen.devicePixelRatio(), "screen": screen.availableGeometry().getRect()}
thumbnails = Thumbnails(Runner(2, app))
decoded = set()
thumbnails.ready.connect(decoded.add)

def part(check):
    # Each part's findings, or the error that stopped it: one part failing fails its own test only.
    try:
        found[check.__name__] = check()
    except Exception:
        found[check.__name__] = {"error": traceback.format_exc(limit=3)}

def wait(done):
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, "timed out"
        app.processEvents()
        time.sleep(0.005)

def pixmap(p):
    return {"size": p.size().toTuple(), "dpr": p.devicePixelRatio()}

def strip():
    strip = PhotoStrip(thumbnails)
    strip.show()
    strip.show_photos([Path(p) for p in photos])
    wait(lambda: all(not strip.item(i).icon().isNull() for i in range(strip.count())))
    return {"widget": strip.devicePixelRatioF(), "logical": STRIP_PICTURE.toTuple(),
            "icons": [pixmap(strip.item(i).icon().pixmap(STRIP_PICTURE, strip.devicePixelRatioF()))
                      for i in range(strip.count())]}

class Spy(QPainter):
    def __init__(self, device):
        super().__init__(device)
        self.drawn = []
    def drawPixmap(self, *args):
        self.drawn.append(args[-1])
        super().drawPixmap(*args)

def tiles():
    # Catalog tiles, as the grid's delegate paints them
    catalog = CatalogView(None, Runner(1, app), Runner(1, app), thumbnails)
    catalog.resize(900, 500)
    catalog.show()
    catalog.model.set_products([Product(str(i), f"product {i}", "chair", p) for i, p in enumerate(products)])
    grid = catalog.grid
    def drawn(row):
        index = catalog.model.index(row)
        option = QStyleOptionViewItem()
        option.rect, option.widget, option.palette = grid.visualRect(index), grid, grid.palette()
        option.fontMetrics, option.state = grid.fontMetrics(), QStyle.StateFlag.State_Enabled
        image = QImage(grid.viewport().size() * 2, QImage.Format.Format_ARGB32)
        painter = Spy(image)
        grid.itemDelegate().paint(painter, option, index)
        painter.end()
        return painter.drawn[0]
    for row in range(len(products)):
        drawn(row)  # asks for the picture
    wait(lambda: set(products) <= decoded)
    return {"widget": grid.devicePixelRatioF(), "logical": TILE_PICTURE.toTuple(),
            "drawn": [pixmap(drawn(row)) for row in range(len(products))]}

def examples():
    # The Train window's examples (training writes them at most 128 px)
    examples, files = [], []
    for i, p in enumerate(products[:2]):
        for side in ("crop", "right", "before", "after"):
            files.append(str(work / f"{i}-{side}.jpg"))
            QImage(p).scaled(128, 128).save(files[-1])
        examples.append({"category": "chair", "crop": files[-4], "right": {"sku": "1", "thumb": files[-3]},
                         "before": {"sku": "2", "thumb": files[-2], "right": False},
                         "after": {"sku": "1", "thumb": files[-1], "right": True}})
    view = BeforeAfterView()
    view.show()
    view.show_examples(examples, load_thumbnails({"examples": examples}))
    labels = [view.examples.itemAtPosition(r, c).widget().findChild(QLabel) for r in (1, 2) for c in range(4)]
    return {"widget": view.devicePixelRatioF(), "logical": [labels[0].width(), labels[0].height()],
            "pictures": [pixmap(label.pixmap()) for label in labels]}

def duplicate():
    card = ProductCard(Product("1", "product", "chair", products[0]), thumbnails)
    card.show()
    wait(lambda: not card.picture.pixmap().isNull())
    return {"widget": card.picture.devicePixelRatioF(), "logical": PICTURE.toTuple(),
            "picture": pixmap(card.picture.pixmap())}

def in_view(widget):
    # Wholly shown: not scrolled out or cut by its dialog, and on the screen
    seen = widget.visibleRegion().boundingRect().size() == widget.size()
    return seen and screen.availableGeometry().contains(QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size()))

def settings():
    # Settings, then Advanced opened
    chosen = AppSettings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(chosen, CategoryMap.load(work).categories, work)
    dialog.show()
    closed = dialog.frameGeometry().getRect()
    dialog.advanced_toggle.setChecked(True)
    for _ in range(3):
        app.processEvents()  # the resize, then the scroll to what Advanced opened
    return {"closed": closed, "open": dialog.frameGeometry().getRect(), "ok": in_view(dialog.ok),
            "cancel": in_view(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)),
            "toggle": in_view(dialog.advanced_toggle), "threshold": in_view(dialog.threshold)}

def duplicates():
    window = DuplicatesView(None, Runner(1, app), thumbnails)
    window.show()
    app.processEvents()
    return {"frame": window.frameGeometry().getRect()}

for check in (strip, tiles, examples, duplicate, settings, duplicates):
    part(check)
print(json.dumps(found))
"""

SCREENS = {"1920x1200 at 200 %": (1920, 1200, 2), "1920x1080 at 150 %": (1920, 1080, 1.5)}


@pytest.fixture(scope="module", params=SCREENS, ids=list(SCREENS))
def scaled(request, ikea: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What ``SCALED`` found on one of the audit's screens."""
    width, height, scale = SCREENS[request.param]
    photos = [str(p) for p in sorted((ikea / "scenes").glob("*.jpg"))[:3]]
    return run_on_scaled_screen(SCALED, ["|".join(photos), "|".join(_product_photos(ikea, 3))],
                                tmp_path_factory.mktemp("scaled"), width, height, scale)


def _sharp(picture: dict, widget_dpr: float, logical: tuple[int, int] | list[int]) -> bool:
    """Marked with the widget's ratio, and as many device pixels as it covers along its fitted side."""
    (w, h), dpr = picture["size"], picture["dpr"]
    fills = max(w / math.ceil(logical[0] * dpr), h / math.ceil(logical[1] * dpr))
    return dpr == widget_dpr and fills > 0.99


def test_photos_strip_thumbnails_are_sharp_on_a_scaled_screen(scaled):
    strip = scaled["strip"]
    assert "error" not in strip, strip["error"]
    assert strip["widget"] == scaled["dpr"]
    assert all(_sharp(icon, strip["widget"], strip["logical"]) for icon in strip["icons"]), strip


def test_catalog_tiles_are_painted_sharp_on_a_scaled_screen(scaled):
    tiles = scaled["tiles"]
    assert "error" not in tiles, tiles["error"]
    assert all(_sharp(drawn, tiles["widget"], tiles["logical"]) for drawn in tiles["drawn"]), tiles


def test_train_examples_are_sharp_on_a_scaled_screen(scaled):
    examples = scaled["examples"]
    assert "error" not in examples, examples["error"]
    assert all(_sharp(p, examples["widget"], examples["logical"]) for p in examples["pictures"]), examples


def test_a_duplicate_products_picture_is_sharp_on_a_scaled_screen(scaled):
    duplicate = scaled["duplicate"]
    assert "error" not in duplicate, duplicate["error"]
    assert _sharp(duplicate["picture"], duplicate["widget"], duplicate["logical"]), duplicate


# -- windows fit short screens --------------------------------------------------------------------------------


def _inside(frame: list[int], screen: list[int]) -> bool:
    x, y, w, h = frame
    sx, sy, sw, sh = screen
    return x >= sx and y >= sy and x + w <= sx + sw and y + h <= sy + sh


def test_settings_with_advanced_open_fit_a_short_screen_with_ok_on_it(scaled):
    """Advanced open made Settings 737 px tall at the least: OK and Cancel went below a 600 and a 720 px tall screen.
    The settings scroll above the buttons instead, and what Advanced opened is scrolled into view."""
    settings = scaled["settings"]
    assert "error" not in settings, settings["error"]
    assert _inside(settings["closed"], scaled["screen"]) and _inside(settings["open"], scaled["screen"]), settings
    assert settings["ok"] and settings["cancel"], settings
    assert settings["toggle"] and settings["threshold"], settings


def test_the_duplicates_window_fits_a_short_screen(scaled):
    """It was 900 x 640, whatever the screen: taller than a 600 px one."""
    duplicates = scaled["duplicates"]
    assert "error" not in duplicates, duplicates["error"]
    assert _inside(duplicates["frame"], scaled["screen"]), (duplicates, scaled["screen"])


def test_settings_shrink_to_a_short_screen_with_advanced_open(qtbot, tmp_path):
    """However short the dialog is made, OK stays in it and the Advanced fields scroll into reach."""
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, CategoryMap.load(tmp_path).categories, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.advanced_toggle.setChecked(True)
    assert dialog.minimumSizeHint().height() + TITLE_BAR <= 600 - 120  # room to spare on a 600 px screen
    dialog.resize(dialog.width(), 600 - TITLE_BAR)
    qtbot.waitUntil(lambda: dialog.height() == 600 - TITLE_BAR, timeout=WAIT_MS)
    assert dialog.rect().contains(QRect(dialog.ok.mapTo(dialog, QPoint(0, 0)), dialog.ok.size()))
    bar = dialog.body.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT_MS)
    bar.setValue(bar.maximum())
    viewport = dialog.body.viewport()
    bottom = dialog.threshold.mapTo(viewport, dialog.threshold.rect().bottomLeft())
    assert viewport.rect().contains(bottom)


# -- names a screen reader says ---------------------------------------------------------------------------------


def _spoken(widget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def test_catalog_map_and_photos_controls_have_names_for_screen_readers(qtbot, qapp):
    """The audit's controls a screen reader announced with no name (a placeholder is no name)."""
    thumbnails = Thumbnails(Runner(1, qapp))
    catalog = CatalogView(None, Runner(1, qapp), Runner(1, qapp), thumbnails)
    map_view = MapView(None, Runner(1, qapp), thumbnails)
    strip = PhotoStrip(thumbnails)
    for widget in (catalog, map_view, strip):
        qtbot.addWidget(widget)
    names = {
        "search": _spoken(catalog.search), "grid": _spoken(catalog.grid),
        "where used": _spoken(catalog.where_used.sightings), "goes with": _spoken(catalog.where_used.together),
        "map": _spoken(map_view.canvas), "compared map": _spoken(map_view.compare_canvas),
        "map selection": _spoken(map_view.chosen), "photos": _spoken(strip),
    }
    assert all(name.strip() for name in names.values()), names
    assert names["map"] != names["compared map"]


def test_settings_fields_in_a_row_have_names_for_screen_readers(qtbot, tmp_path):
    """The form's label named the row holding the field and its button (or checkbox), not the field."""
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, [], tmp_path)
    qtbot.addWidget(dialog)
    assert _spoken(dialog.models_dir) == "Models folder"
    assert "threshold" in _spoken(dialog.threshold).lower()

