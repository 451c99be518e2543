"""A feed that looks cut short is not reported in the green of an import done well (session 51)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ikea_feed import write_feed
from test_feed51 import WAIT_MS, _cut_short

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_a_feed_cut_short_is_reported_as_news_to_look_at_not_as_done(
        qtbot, fresh_pipeline, tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]):
    """"was it cut short?" came in the green bar of an import that went well, beside nine tenths of the range
    listed as no longer in the feed; it comes in the bar's news colour, as a whole feed's import keeps green."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from app.settings import AppSettings

    lamps = [r for r in ikea_products if r["category"] == "lamp"][:20]
    win = MainWindow(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                           QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    levels: dict[str, str] = {}
    win.catalog.message.connect(lambda text, level: levels.update({text.split("\n")[0]: level}))
    for feed in (write_feed(ikea, lamps, tmp_path / "feed.csv"), _cut_short(ikea, lamps, tmp_path)):
        with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
            win.catalog.import_from(feed)
    assert levels["Catalog import done: 20 added."] == "done"
    assert levels["Catalog import done: 2 unchanged."] == "info"
