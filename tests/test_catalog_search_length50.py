"""The Catalog tab's search box holds no more than the engine searches for (``engine.search_text.MAX_TEXT``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.search_text import MAX_TEXT


@pytest.mark.gui
def test_a_long_paste_is_cut_to_what_is_searched_and_lists_without_an_error(qtbot, qapp, tmp_path: Path):
    """A 5,000-character paste was refused by the engine ("the search text is 5,000 characters long") at each
    typing pause, an error in the message bar for as long as it stayed in the box."""
    from PySide6.QtCore import QSettings

    from app.settings import AppSettings
    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.workers import Runner
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    said: list[tuple[str, str]] = []
    view = CatalogView(pipeline, Runner(1, qapp), Runner(1, qapp), Thumbnails(Runner(1, qapp)),
                       settings=AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(view)
    view.message.connect(lambda text, level: said.append((text, level)))
    view.search.insert("lamp " * 1_000)
    assert len(view.search.text()) == MAX_TEXT
    with qtbot.waitSignal(view.catalogChanged, timeout=30_000):  # listed: a refused search emits no such signal
        view.refresh()
    assert [level for _text, level in said if level == "error"] == [], said
