"""What a new user sees around the photo: display names, light and dark theme, toolbar, status bar in plain
words, and the About box with the licences of the real models. Offscreen (pytest-qt).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from app import theme
from app.dialogs.about import about_html
from app.labels import pretty, product_detail, product_title, rich_tooltip
from app.widgets.setup_page import shortcuts_html
from app.widgets.toolbar import TRAIN_MISSING, training_available
from engine.models import available_models

pytestmark = pytest.mark.gui
WAIT_MS = 90_000


def test_category_and_product_names_read_as_words():
    assert pretty("box_basket") == "Boxes & baskets"
    assert pretty("tv_bench") == "TV bench"
    assert pretty("garden_sofa") == "Garden sofa"  # a category of the user's own
    # a folder import knows only the SKU: the category is the title, the SKU shows once
    assert product_title("503.056.16", "503.056.16", "armchair") == "Armchair"
    assert product_detail("503.056.16", "503.056.16", "armchair") == "503.056.16"
    assert product_title("STRANDMON", "503.056.16", "armchair") == "STRANDMON"
    assert product_detail("STRANDMON", "503.056.16", "armchair", "€199") == "503.056.16 · Armchair · €199"


@pytest.fixture
def window(main_window, pipeline):
    yield main_window(pipeline)
    theme.apply(QApplication.instance(), "light")


def test_themes_toolbar_and_status_bar(qtbot, window):
    app = QApplication.instance()
    theme.apply(app, "dark")
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 60
    theme.apply(app, "light")
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200

    shown = [a for a in window.toolbar.actions() if a.iconText()]
    assert [a.iconText() for a in shown] == [
        "Open", "Open folder", "Batch", "Catalog", "Train", "Undo", "Redo", "Settings"
    ]  # fmt: skip
    assert all(not a.icon().isNull() for a in shown)
    assert window.train_action.isEnabled() == training_available()
    if not training_available():
        assert window.train_action.toolTip() == TRAIN_MISSING

    # plain words: where the models run, the catalog's size; model names only in the tooltip
    visible = [w.text() for w in window.statusBar().findChildren(QLabel) if w.isVisible() and w.text()]
    assert window.status_line.device.text() in visible and window.status_line.device.text().startswith("Running on ")
    assert not any(".onnx" in text or "Models:" in text for text in visible)
    assert window.engine_info.embedder in window.status_line.device.toolTip()


def test_every_toolbar_button_shows_whole_at_the_least_window_width(qtbot, window):
    """At the window's least width the toolbar was 18 px short: Settings went into the overflow (»), out of sight.
    Each button now shows whole inside the toolbar, light and dark, its words beside its icon."""
    app = QApplication.instance()
    for choice in ("light", "dark"):
        theme.apply(app, choice)
        for _ in range(2):
            window.resize(window.minimumSize())
            qtbot.wait(50)
        bar = window.toolbar
        assert window.width() == window.minimumSize().width()
        for action in (a for a in bar.actions() if a.iconText()):
            button = bar.widgetForAction(action)
            assert button.isVisible() and bar.rect().contains(button.geometry()), (choice, action.iconText())


def test_about_names_the_licences_of_the_app_and_its_models(shared_models):
    models = available_models(shared_models)
    text = about_html(models)
    assert "AGPL-3.0-or-later" in text
    kinds = {m.card.kind for m in models}
    assert kinds == {"detector", "embedder"}
    assert "AGPL-3.0 (Ultralytics)" in text and "Apache-2.0 (Google)" in text
    assert all(m.card.name in text for m in models)


def test_a_message_floats_and_never_moves_the_photo(qtbot, window):
    window.resize(1200, 800)
    qtbot.waitUntil(lambda: window.view.width() > 0)
    before = window.view.mapTo(window, window.view.rect().topLeft()), window.view.size()
    window.show_message("Could not open broken.jpg: not an image " * 6, "error")
    qtbot.waitUntil(window.message.isVisible)
    assert (window.view.mapTo(window, window.view.rect().topLeft()), window.view.size()) == before
    central = window.centralWidget()
    assert window.message.geometry().bottom() == central.rect().bottom()
    assert window.message.width() == central.width() and window.message.height() < central.height() // 3
    window.resize(900, 700)
    qtbot.waitUntil(lambda: window.message.width() == window.centralWidget().width())


def test_a_message_shows_on_the_tab_it_is_about(qtbot, main_window, fresh_pipeline, scene_path):
    """An error from the Catalog tab stayed on the photo and the map, where it no longer applied. A tab's error
    hides on the other tabs and comes back with its own until dismissed; a tab's news shows where the user
    is when it comes and goes once its tab is left; a message about the whole window shows on every tab."""
    from PySide6.QtWidgets import QPushButton

    from app.main_window import CATALOG_TAB, MAP_TAB, PHOTO_TAB

    window = main_window(fresh_pipeline)
    bar, tabs = window.message, window.tabs
    window.open_paths([scene_path("bed-that-folds")])  # the empty catalog's page said it until a photo came
    qtbot.waitUntil(lambda: bar.isVisible() and bar.button.text() == "Open catalog", timeout=WAIT_MS)
    tabs.setCurrentIndex(CATALOG_TAB)
    assert not bar.isVisible()  # the empty catalog's call to action, on the tab it calls to
    window.catalog.message.emit("products.csv has no sku column.", "error")
    for tab, shown in ((PHOTO_TAB, False), (MAP_TAB, False), (CATALOG_TAB, True)):
        tabs.setCurrentIndex(tab)
        assert bar.isVisible() == shown, tab
    assert bar.text.text() == "products.csv has no sku column."
    next(b for b in bar.findChildren(QPushButton) if b.toolTip() == "Dismiss").click()
    tabs.setCurrentIndex(PHOTO_TAB)
    tabs.setCurrentIndex(CATALOG_TAB)
    assert not bar.isVisible()  # dismissed: it does not come back with its tab

    window.catalog.message.emit("Catalog import done: 3 added.", "done")
    tabs.setCurrentIndex(MAP_TAB)
    assert not bar.isVisible()
    tabs.setCurrentIndex(CATALOG_TAB)
    assert not bar.isVisible()  # news is gone once its tab is left
    tabs.setCurrentIndex(PHOTO_TAB)
    window.catalog.message.emit("Catalog import done: 3 added.", "done")
    assert bar.isVisible()  # news shows wherever the user is when it comes

    window.show_message("The catalog file is damaged.", "error")
    for tab in (MAP_TAB, CATALOG_TAB, PHOTO_TAB):
        tabs.setCurrentIndex(tab)
        assert bar.isVisible(), tab


def test_the_legend_and_the_hover_card_follow_the_dark_theme(qtbot, window):
    """Both float over the photo: in the dark theme they stayed white, their grey numbers in the dark theme's
    light grey (a match's score all but unreadable). A legend already shown takes the new colours at once."""
    from dataclasses import replace

    from engine.corrections import Tag
    from engine.results import Match, SceneObject

    app, view = QApplication.instance(), window.view
    window.photo_stack.setCurrentWidget(window.splitter)
    match = Match(1, "702.611.50", "AINA", "curtain_blind", 0.71, "similar")
    tag = Tag(5, SceneObject("curtain_blind", "curtain", 0.8, (10, 10, 200, 200), (100, 100), [match]))
    viewport = view.viewport()
    theme.apply(app, "light")
    view.legend.show_tags([tag, replace(tag, number=6)], view.colours)
    view.legend.place([], [], viewport.rect(), 0)
    assert f"color:{theme.LIGHT.muted};" in view.legend.label.text()

    def lightness(widget) -> int:
        """Of the widget's background as drawn over the photo: a point inside, right of its text."""
        inside = widget.geometry().topRight() + QPoint(-6, widget.height() // 2)
        return viewport.grab().toImage().pixelColor(inside).lightness()

    assert lightness(view.legend) > 200
    theme.apply(app, "dark")
    assert f"color:{theme.DARK.muted};" in view.legend.label.text() and lightness(view.legend) < 80
    view.card.show_tag(tag, "#008f7a", viewport.rect().center(), viewport.rect())
    assert lightness(view.card) < 80
    assert f"color:{theme.DARK.muted};" in view.card.badge.text()
    theme.apply(app, "light")
    view.card.show_tag(tag, "#008f7a", viewport.rect().center(), viewport.rect())
    assert lightness(view.card) > 200


def test_the_match_why_this_match_explains_is_framed(qtbot, window, scene_path):
    """A click on a match row showed nothing of the choice but the heat on its small picture: the row
    explained is framed in the accent colour, the others not."""
    theme.apply(QApplication.instance(), "light")
    window.open_paths([scene_path("a-living-space-to-snuggle")])
    qtbot.waitUntil(lambda: window.controller.scene is not None and bool(window.view.pins), timeout=WAIT_MS)
    window.view.activate(next(t for t in window.controller.scene.visible if t.obj.matches).number)
    qtbot.waitUntil(lambda: len(window.panel.rows) > 2, timeout=WAIT_MS)
    window.panel.why.click()
    second, third = window.panel.rows[1], window.panel.rows[2]
    qtbot.mouseClick(second, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.panel.why_view.note.text().startswith("Bright"), timeout=WAIT_MS)
    accent = QApplication.instance().palette().highlight().color().name()

    def top_edge(row) -> str:
        return row.grab().toImage().pixelColor(row.width() // 2, 0).name()

    assert top_edge(second) == accent != top_edge(third)


def test_the_message_bar_follows_the_dark_theme(qtbot, window):
    """The bar kept its pale pink, blue and green in the dark theme: the one light strip of the window. A bar
    already shown takes the other theme's colours at once."""
    app, bar = QApplication.instance(), window.message

    def lightness() -> tuple[int, int]:
        """Of the bar's background (a point right of its text, left of ✕) and of its text's colour."""
        image = bar.grab().toImage()
        return image.pixelColor(bar.width() - 60, bar.height() // 2).lightness(), \
            bar.text.palette().color(bar.text.foregroundRole()).lightness()

    theme.apply(app, "light")
    window.show_message("catalog.sqlite is locked by another program", "error")
    back, text = lightness()
    assert back > 200 and text < 120
    theme.apply(app, "dark")
    back, text = lightness()
    assert back < 80 and text > 150
    for level in ("info", "done"):
        window.show_message("Imported 3 products", level)
        assert lightness()[0] < 80
    theme.apply(app, "light")
    assert lightness()[0] > 200


def test_the_windows_open_inside_a_screen_smaller_than_their_size(qtbot, main_window, fresh_pipeline):
    """Offscreen, the screen is 800 × 800: like a laptop at 1366 × 768, or 1920 × 1080 at 150 %, smaller
    than the size the windows ask for (1360 × 860, the Train window 1180 × 880)."""
    window = main_window(fresh_pipeline)
    free = window.screen().availableGeometry()
    assert free.height() < 860
    assert window.width() <= free.width() and window.height() <= free.height()
    if training_available():
        from app.dialogs.train import TrainWindow

        train = TrainWindow(fresh_pipeline, window)
        qtbot.addWidget(train)
        assert train.width() <= free.width() and train.height() <= free.height()


def test_the_train_window_says_what_epochs_and_views_are_without_hovering(qtbot, fresh_pipeline):
    """Epochs, views and two networks were explained only in tooltips: a user who did not hover had bare numbers. The
    words under the row wrap to the window's width (never widening it) and are whole at its narrowest; with a
    detector-only run, whose training picks its own epochs, both are off and the words say why."""
    from app.dialogs.train import TrainWindow

    train = TrainWindow(fresh_pipeline)
    qtbot.addWidget(train)
    train.show()
    shown = [label for label in train.findChildren(QLabel) if label.isVisible()]
    said = [label for label in shown if "passes over the photos" in label.text() and "varied copies" in label.text()
            and "twice the training time" in label.text()]
    assert said, "epochs, views and two networks are explained where the user sees it (not in a tooltip only)"
    words = said[0]
    assert {label.buddy() for label in shown} >= {train.epochs, train.views}  # screen readers name the fields
    width = train.minimumSizeHint().width()
    words.hide()
    assert train.minimumSizeHint().width() == width
    words.show()
    train.resize(width, train.height())
    qtbot.waitUntil(lambda: train.width() == width and words.height() >= words.heightForWidth(words.width()))

    train.what.setCurrentIndex(train.what.findData("detector"))
    assert not train.epochs.isEnabled() and not train.views.isEnabled() and not train.two_networks.isEnabled()
    assert "finding objects sets its own" in words.text()
    train.what.setCurrentIndex(train.what.findData("embedder"))
    assert train.epochs.isEnabled() and "finding objects" not in words.text()


def test_the_review_queue_shows_its_numbers_whole_and_each_photo_by_its_path(qtbot, fresh_pipeline):
    """The tag's number, category and margin are never cut off; a long photo name is cut in its middle, whole in
    its tooltip (the products' names share the width with the photo's: test_app_review_names)."""
    from app.dialogs.review_queue import Listing, ReviewWindow
    from engine.review_queue import ReviewItem

    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    photo = "/photos/ikea-a-contemporary-kitchen-for-big-chefs-and-little-helpers__1364316013714-s4.jpg"
    items = [ReviewItem(Path(photo), n, "storage_furniture", "502.316.30", 0.699, "503.286.65-BLACK",
                        runner_up, (0, 0, 10, 10)) for n, runner_up in ((1, 0.697), (12, 0.6987), (13, 0.699))]
    qtbot.waitUntil(lambda: "Nothing to review" in window.summary.text())  # the empty catalog's queue is in
    window._show(Listing(items, {}, len(items), [("similar", "similar")] * len(items), 1))
    table = window.table
    metrics = table.fontMetrics()
    for row in range(table.rowCount()):
        assert table.item(row, 0).toolTip() == rich_tooltip(photo)
        for column in (1, 2, 5):
            assert table.columnWidth(column) > metrics.horizontalAdvance(table.item(row, column).text())
    # "Margin 0.000" read as no difference on a row whose scores differ past the third decimal; a word staff use
    assert table.horizontalHeaderItem(5).text() == "Gap" and "runner-up" in table.horizontalHeaderItem(5).toolTip()
    assert [table.item(row, 5).text() for row in range(3)] == ["0.002", "under 0.001", "a tie"]


def test_the_review_queue_opens_without_training(qtbot, monkeypatch, main_window, fresh_pipeline):
    """The packaged app carries no ``training``: Review Uncertain Tags stays on and its queue is read (it was
    greyed out there, and its window imported the queue from ``training``)."""
    import sys

    import app.main_window

    for name in ("training", "training.review", "torch"):
        monkeypatch.setitem(sys.modules, name, None)  # as in the packaged app
    monkeypatch.setattr(app.main_window, "training_available", lambda: False)
    window = main_window(fresh_pipeline)
    review = next(a for a in window.menuBar().findChildren(type(window.train_action))
                  if a.text() == "&Review Uncertain Tags…")
    assert review.isEnabled() and not window.train_action.isEnabled()
    review.trigger()
    qtbot.waitUntil(lambda: "Nothing to review" in window.review_window.summary.text(), timeout=WAIT_MS)


def test_the_keyboard_help_lists_the_map_tab_and_undo(main_window, fresh_pipeline):
    """Help ▸ Keyboard Shortcuts (F1) names the shortcuts the menus have, the Map tab and Undo / Redo included."""
    window, text = main_window(fresh_pipeline), shortcuts_html()
    for action in (window.undo_action, window.redo_action):
        assert action.shortcut().toString() in text
    assert "Ctrl+3" in text and "F1" in text


def test_closing_during_work_shows_why_the_window_waits(qtbot, main_window, fresh_pipeline):
    """Closing waits for running work to stop (seconds at most); the window used to set its message and then
    block without painting it, so it looked hung. The message must be on screen before the wait."""
    import threading

    from PySide6.QtCore import QEvent, QObject

    window = main_window(fresh_pipeline)
    release = threading.Event()
    window.io.start(lambda job: release.wait(10) or job.cancelled())
    painted: list[str] = []

    class Watch(QObject):
        def eventFilter(self, _watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(window.statusBar().currentMessage())
                release.set()  # the work stops once the message is on screen
            return False

    watch = Watch()
    window.statusBar().installEventFilter(watch)
    window.close()
    assert painted and painted[0] == "Finishing running work…"
    assert window.io.pool.activeThreadCount() == 0 and QApplication.overrideCursor() is None


def test_progress_bars_draw_no_percentage_and_a_disabled_default_button_is_not_blue(qtbot, window):
    """The theme's bars are 6 px tall: a percentage drawn on them was cut to an unreadable sliver. A default
    button (the batch's Start, while it runs) kept its accent blue when disabled, with grey text on it."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QProgressBar, QPushButton

    bars = window.findChildren(QProgressBar)
    assert bars and not any(bar.isTextVisible() for bar in bars)
    button = QPushButton("Start", window)
    button.setDefault(True)
    button.resize(120, 32)
    theme.apply(QApplication.instance(), "light")
    accent = QColor(theme.colours().accent)
    button.setEnabled(False)
    assert button.grab().toImage().pixelColor(10, 16) != accent
    button.setEnabled(True)
    assert button.grab().toImage().pixelColor(10, 16) == accent  # the sample is the button's face


def test_the_window_fits_1000_px_with_the_photo_strip_open(qtbot, window):
    """Opening a folder shows the Photos strip beside the tabs; the window then could not be narrower than
    1,034 px (the Catalog tab's row of search, category and buttons), wider than a 1,000 px layout."""
    window.photo_dock.show()
    qtbot.waitUntil(window.photo_dock.isVisible, timeout=WAIT_MS)
    assert window.minimumSizeHint().width() <= 1000


def test_the_dark_look_keeps_radio_buttons_and_scores_readable(qtbot):
    """In the dark look a radio button was a dark circle on a dark panel and a match's score grey on grey."""
    from PySide6.QtWidgets import QRadioButton

    from app.labels import badge_html
    from engine.results import Match

    app = QApplication.instance()
    theme.apply(app, "dark")
    try:
        radio = QRadioButton("Any category")
        qtbot.addWidget(radio)
        radio.resize(radio.sizeHint())
        picture = radio.grab().toImage()
        indicator = [picture.pixelColor(x, y).lightness() for x in range(16) for y in range(picture.height())]
        assert max(indicator) - min(indicator) > 60, "the indicator's ring stands out from the panel"
        score = badge_html(Match(1, "SKU", "name", "chair", 0.51, "similar"))
        assert f"color:{theme.colours().muted};\">0.51" in score
    finally:
        theme.apply(app, "light")


def _luminance(colour) -> float:
    """WCAG relative luminance of a QColor."""
    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def _text_contrast(button) -> float:
    """The WCAG contrast of a rendered button's label against its face: the face is its commonest colour, the
    label the darkest pixel on a light face and the lightest on a dark one."""
    image = button.grab().toImage()
    pixels = [image.pixelColor(x, y) for x in range(2, image.width() - 2) for y in range(2, image.height() - 2)]
    face = _luminance(QColor.fromRgb(Counter(p.rgb() for p in pixels).most_common(1)[0][0]))
    levels = sorted(map(_luminance, pixels))
    label = levels[0] if face > 0.5 else levels[-1]
    return (max(label, face) + 0.05) / (min(label, face) + 0.05)


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_a_disabled_button_looks_unlike_an_enabled_one(qtbot, choice: str):
    """The Batch dialog's *Open results folder* and *Cancel*, disabled until a run, read like *Close* beside them:
    their label was the muted text colour, 5.3:1 on the button's face, which must stay readable where it is
    text. A disabled button's label is now under 3:1, an enabled one's stays over 4.5:1."""
    from PySide6.QtWidgets import QPushButton

    app = QApplication.instance()
    theme.apply(app, choice)
    try:
        enabled, disabled = QPushButton("Open results folder"), QPushButton("Open results folder")
        disabled.setEnabled(False)
        for button in (enabled, disabled):
            qtbot.addWidget(button)
            button.show()
        assert _text_contrast(enabled) > 4.5 and _text_contrast(disabled) < 3.0
    finally:
        theme.apply(app, "light")


def test_a_likely_match_is_badged_blue_as_on_the_shoppable_page():
    """"Likely the same" was drawn in Similar's grey in the app while the shoppable page marks it blue: three words,
    two colours, and the one a merchandiser looks for (nearly sure) looked like the weakest."""
    from app.labels import EXACT, SIMILAR, badge_html
    from engine.results import Match
    from tests.contrast import contrast

    badges = {kind: badge_html(Match(1, "SKU", "name", "chair", 0.7, kind)) for kind in ("exact", "likely", "similar")}
    backgrounds = {kind: html.split("background:")[1].split(";")[0] for kind, html in badges.items()}
    assert backgrounds["exact"] == EXACT and backgrounds["similar"] == SIMILAR
    assert len(set(backgrounds.values())) == 3 and ">&nbsp;Likely the same&nbsp;<" in badges["likely"]
    assert contrast("#ffffff", backgrounds["likely"]) >= 4.5
