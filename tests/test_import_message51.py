"""The Catalog tab's import message names the backup a re-import took (session 51)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ikea_feed import write_feed

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
WAIT_MS = 90_000
BACKED_UP = "The catalog as it was before this import is backed up: Catalog ▸ Restore a Backup… brings it back."


def test_a_reimport_that_changed_products_says_it_can_be_undone(
        qtbot, fresh_pipeline, tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]):
    """A weekly re-import that renamed products took a backup (``backed_up_import``), and the CLI named it, but the
    app's message said nothing: a merchandiser who saw wrong names had no hint that they could go back. An import
    that changed nothing the catalog held keeps no backup and says none."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from app.settings import AppSettings

    lamps = [r for r in ikea_products if r["category"] == "lamp"][:6]
    renamed = [{**r, "name": r["name"] + " (new)"} for r in lamps]
    win = MainWindow(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                           QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    said: list[str] = []
    win.catalog.message.connect(lambda text, _level: said.append(text))
    for rows in (lamps, renamed, renamed):
        with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
            win.catalog.import_from(write_feed(ikea, rows, tmp_path / "feed.csv"))
    first, changed, same = [text for text in said if text.startswith("Catalog import done")]
    assert BACKED_UP not in first and BACKED_UP in changed.splitlines() and BACKED_UP not in same
