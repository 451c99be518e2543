"""What a walk of the app in the dark theme found, switching theme with windows open (Settings' Look): a match row's
score and its check's points, and Check Installation's steps, kept the colours of the theme they were first shown
in (2.3:1 to 2.7:1 after a switch); the photo's focus ring was the accent alone on the view's dark ground (2.65:1);
and SKUs that differ by an invisible character read the same. Offscreen (pytest-qt), no models, no workers."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, SWITCHES, TEXT_CONTRAST, colours_drawn, contrast
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app import theme
from app.dialogs.install_check import InstallCheckWindow
from app.labels import product_detail
from app.thumbnails import Thumbnails
from app.widgets.catalog_view import ProductModel
from app.widgets.results_panel import MatchRow, explained
from app.widgets.scene_view import GROUND, SceneView
from app.workers import Runner
from decorlens.terminal import escape_controls
from engine.catalog import Product
from engine.results import Match
from engine.selfcheck import Step

pytestmark = pytest.mark.gui




@pytest.mark.parametrize(("first", "then"), SWITCHES)
def test_scores_points_and_install_steps_follow_a_switch_of_theme(qtbot, restore_light, first, then, qapp):
    """The score's muted colour and the points' green were written into the row's rich text, built once; the
    steps' green and red set once on their items. Each is the switched-to theme's, 4.5:1 or more on its ground."""
    theme.apply(restore_light, first)
    runner = Runner(1, qapp)
    row = MatchRow(1, Match(1, "702.922.98", "FEJKA", "plant", 0.62, "similar"), False, Thumbnails(runner),
                   same_points=14)
    check = InstallCheckWindow(None)  # its pipeline is for running the check; the steps are given here
    for widget in (row, check):
        qtbot.addWidget(widget)
        widget.show()
        qtbot.waitExposed(widget)
    check._step(Step("models", True, "found"))
    check._step(Step("runtime", False, "no onnxruntime"))
    theme.apply(restore_light, then)
    QApplication.processEvents()
    c, stale = theme.colours(), (theme.DARK if theme.colours() is theme.LIGHT else theme.LIGHT)
    for label, colour, old in ((row.badge, c.muted, stale.muted), (row.evidence, c.success, stale.success)):
        drawn = colours_drawn(label)
        assert QColor(colour).name() in drawn and QColor(old).name() not in drawn, (label.text(), colour, old)
        assert contrast(colour, c.base) >= TEXT_CONTRAST  # the row's ground (QFrame#matchRow)
    ground = check.steps.palette().color(QPalette.ColorRole.Base)
    steps = [check.steps.item(n, 0).foreground().color() for n in range(2)]
    assert [s.name() for s in steps] == [QColor(c.success).name(), QColor(c.error).name()]
    assert min(contrast(s, ground) for s in steps) >= TEXT_CONTRAST, [s.name() for s in steps]
    runner.shutdown()


@pytest.mark.parametrize("look", ["dark", "light"])
def test_the_photos_focus_ring_stands_out_from_its_ground(qtbot, restore_light, look, qapp):
    """The accent ring (the one every focused control has, at the edge) and a white line inside it: white on the
    view's ground is 3:1 or more, where the accent alone stood 2.65:1."""
    theme.apply(restore_light, look)
    runner = Runner(1, qapp)
    view = SceneView(Thumbnails(runner))
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(view.hasFocus)
    image = view.viewport().grab().toImage()
    across = [image.pixelColor(x, image.height() // 2).name() for x in range(8)]
    accent = view.palette().color(QPalette.ColorRole.Highlight).name()
    assert across[:2] == [accent, accent] and across[6] == QColor(GROUND).name(), across
    assert max(contrast(colour, GROUND) for colour in across[:6]) >= SHAPE_CONTRAST, across
    runner.shutdown()


def test_skus_differing_by_an_invisible_character_read_apart(qapp):
    """A feed's "ABC-1" + U+200B (or a byte order mark, a word joiner, a tag character) beside the catalog's "ABC-1":
    the catalog's tooltip, its cards, the hover card and the match rows (``product_detail``) and Why this match?
    (``explained``) showed them the same; the CLI escapes the same characters (one list, ``engine.invisible``)."""
    skus = ["ABC-1", "ABC-1\u200b", "\ufeffABC-1", "ABC-1\u2060", "ABC-1\U000e0041"]
    details = [product_detail("Shelf", sku, "shelf", "9 €") for sku in skus]
    assert details[1] == "ABC-1⟨U+200B⟩ · Shelf · 9 €" and details[4].startswith("ABC-1⟨U+E0041⟩")
    assert len(set(details)) == len(skus)
    assert len({explained(Match(1, sku, "Shelf", "shelf", 0.9, "exact")) for sku in skus}) == len(skus)
    runner = Runner(1, qapp)
    model = ProductModel(Thumbnails(runner))
    model.set_products([Product(sku, "Shelf", "shelf", "") for sku in skus])
    tips = {model.data(model.index(n), Qt.ItemDataRole.ToolTipRole) for n in range(len(skus))}
    assert len(tips) == len(skus) and "SKU ABC-1⟨U+2060⟩" in "".join(tips)
    assert product_detail("FEJKA", "702.922.98", "plant") == "702.922.98 · Plant"  # an ordinary SKU as it was
    assert [escape_controls(sku) for sku in skus[1:]] == ["ABC-1\\u200b", "\\ufeffABC-1", "ABC-1\\u2060",
                                                          "ABC-1\\udb40\\udc41"]
    runner.shutdown()
