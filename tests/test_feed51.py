"""A merchandiser's weekly feed re-import (session 51): a feed cut short, a SKU given to another product."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ikea_feed import write_feed

from engine.pipeline import Pipeline
from engine.settings import Settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
WAIT_MS = 90_000


def _cut_short(ikea: Path, rows: list[dict[str, str]], tmp_path: Path) -> Path:
    """Last week's feed.csv, downloaded again this week under its own name but only its first tenth."""
    (tmp_path / "week2").mkdir()
    return write_feed(ikea, rows[: len(rows) // 10], tmp_path / "week2" / "feed.csv")


def test_a_feed_cut_to_a_tenth_is_called_so_before_its_missing_products_are_removed(
        tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]):
    """A feed.csv downloaded short (a tenth of its rows) said only "18 products of the catalog are not in feed.csv
    (kept)", and the app listed them all selected for one Remove selected, as if the supplier had dropped nine
    tenths of the range. A feed that dropped a few says nothing more."""
    lamps = [r for r in ikea_products if r["category"] == "lamp"][:20]
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "feed.csv"))
    report = pipe.import_catalog(_cut_short(ikea, lamps, tmp_path))
    assert len(report.absent) == 18 and pipe.catalog.count() == 20
    assert report.shrunk_line("feed.csv") == (
        "feed.csv lists only 2 of the 20 products its earlier imports left in the catalog (10 %): was it cut short "
        "(a failed or partial download)? Check the feed before removing the products it no longer lists")
    whole = pipe.import_catalog(write_feed(ikea, lamps[3:], tmp_path / "feed.csv"))
    assert len(whole.absent) == 3 and whole.shrunk_line("feed.csv") is None


def test_the_app_lists_a_short_feeds_missing_products_unselected_and_says_why(
        qtbot, fresh_pipeline, tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]):
    """The catalog tab selected the 18 products a feed cut short no longer listed, one Remove selected away from
    taking nine tenths of the range out; they are listed, none selected, under the warning."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from app.settings import AppSettings

    lamps = [r for r in ikea_products if r["category"] == "lamp"][:20]
    win = MainWindow(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                           QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    view = win.catalog
    said: list[str] = []
    view.message.connect(lambda text, _level: said.append(text))
    for feed in (write_feed(ikea, lamps, tmp_path / "feed.csv"), _cut_short(ikea, lamps, tmp_path)):
        with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
            view.import_from(feed)
    assert "feed.csv lists only 2 of the 20 products" in said[-1] and "listed now, not selected" in said[-1]
    qtbot.waitUntil(lambda: len(view.model.products) == 18, timeout=WAIT_MS)
    assert view.only_chip.text() == "Not in feed.csv: 18 ✕" and view.selected_skus() == []
    assert not view.remove.isEnabled() and fresh_pipeline.catalog.count() == 20


def test_a_sku_given_to_another_product_is_named_by_the_import(tmp_path: Path, ikea: Path,
                                                              ikea_products: list[dict[str, str]]):
    """Week 2 gave a lamp's SKU to a clock (its name, photo and category): the import counted it as "1 name,
    1 photo, 1 category" among the week's updates, naming no SKU, while every photo tagged with the lamp now
    showed the clock. A product renamed with a new photo in its own category is no other product."""
    lamps = [r for r in ikea_products if r["category"] == "lamp"][:4]
    clock = next(r for r in ikea_products if r["category"] == "clock")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "week1.csv"))
    reused = {**clock, "product_id": lamps[3]["product_id"]}
    restyled = {**lamps[0], "name": "NEW NAME", "image": lamps[1]["image"]}
    report = pipe.import_catalog(write_feed(ikea, [restyled, *lamps[1:3], reused], tmp_path / "week2.csv"))
    assert report.summary() == (
        f"2 updated (2 names, 2 photos, 1 category), 2 unchanged; 1 SKU names another product now (its name, photo "
        f"and category all changed; photos tagged with it show the new one): {lamps[3]['product_id']}")
