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


@pytest.mark.gui
def test_a_category_typed_with_a_macs_accent_is_named_when_nothing_is_found(qtbot, qapp, tmp_path: Path, ikea: Path):
    """Typed (or pasted) on a Mac, "décor" is e + U+0301: the grid said only that nothing matched, where the same
    word typed elsewhere named the category to choose in the box beside."""
    import unicodedata

    from PySide6.QtCore import QSettings

    from app.settings import AppSettings
    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.workers import Runner
    from engine.catalog import Catalog
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    photo = min((ikea / "products" / "clock").glob("*.jpg"))
    with Catalog(tmp_path / "data" / "catalog.sqlite") as catalog, catalog.transaction():
        catalog.db.execute("INSERT INTO products (sku, name, category, image_path, image_hash) "
                           "VALUES ('D1', 'Wall clock', 'décor', ?, 'h1')", (str(photo),))
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    view = CatalogView(pipeline, Runner(1, qapp), Runner(1, qapp), Thumbnails(Runner(1, qapp)),
                       settings=AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(view)
    view.search.setText(unicodedata.normalize("NFD", "décor"))
    with qtbot.waitSignal(view.catalogChanged, timeout=30_000):
        view.refresh()
    assert "Décor (1)" in view.grid.placeholder, view.grid.placeholder
