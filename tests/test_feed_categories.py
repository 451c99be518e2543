"""A feed of one category imported into a catalog of another is no full catalog: a lamp shop that imported a CSV
of chairs was offered every lamp for removal, as products the supplier no longer sells."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ikea_feed import write_feed

from decorlens.main import main
from engine.pipeline import Pipeline
from engine.settings import Settings

WAIT_MS = 90_000


def _rows(products: list[dict[str, str]], category: str, count: int) -> list[dict[str, str]]:
    return [row for row in products if row["category"] == category][:count]


def test_a_feed_of_another_category_offers_none_of_the_catalogs_products(tmp_path: Path, ikea: Path,
                                                                         ikea_products: list[dict[str, str]]) -> None:
    lamps, chairs = _rows(ikea_products, "lamp", 8), _rows(ikea_products, "chair", 4)
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "lamps.csv"))
    report = pipe.import_catalog(write_feed(ikea, chairs, tmp_path / "chairs.csv"))
    assert report.absent == [] and report.absent_line("chairs.csv") is None
    assert report.uncovered == {"lamp": 8}
    assert report.uncovered_line("chairs.csv") == ("chairs.csv lists chair only: the catalog's 8 products of lamp "
                                                  "are not in it and are left as they are")
    # a full feed again, which dropped a chair: the chair is offered, as before, and nothing is uncovered
    again = pipe.import_catalog(write_feed(ikea, lamps + chairs[1:], tmp_path / "full.csv"))
    assert again.absent == [chairs[0]["product_id"]] and again.uncovered == {}
    assert again.uncovered_line("full.csv") is None


@pytest.mark.gui
def test_the_catalog_tab_selects_no_lamp_after_a_feed_of_chairs(qtbot, main_window, tmp_path: Path, ikea: Path,
                                                                ikea_products: list[dict[str, str]]) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    lamps, chairs = _rows(ikea_products, "lamp", 8), _rows(ikea_products, "chair", 4)
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "lamps.csv"))
    win = main_window(pipe, (1280, 800))
    view = win.catalog
    said: list[str] = []
    view.message.connect(lambda text, _level: said.append(text))
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(write_feed(ikea, chairs, tmp_path / "chairs.csv"))
    assert "chairs.csv lists chair only: the catalog's 8 products of lamp are not in it" in said[-1], said[-1]
    assert "Remove selected" not in said[-1] and "not in chairs.csv (kept)" not in said[-1]
    assert view.selected_skus() == [] and not view.remove.isEnabled()
    win.grab().save(str(tmp_path.parent / "feed_categories.png"))
    # the supplier's full feed without one chair: that chair alone is listed and selected for removal
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(write_feed(ikea, lamps + chairs[1:], tmp_path / "full.csv"))
    assert "Remove selected removes them" in said[-1] and "lists" not in said[-1].split("\n")[0]
    qtbot.waitUntil(lambda: view.selected_skus() == [chairs[0]["product_id"]], timeout=WAIT_MS)


def test_the_cli_says_what_a_feed_of_another_category_left_alone(tmp_path: Path, ikea: Path, capsys,
                                                                  ikea_products: list[dict[str, str]]) -> None:
    """`catalog import chairs.csv` into a lamp shop said nothing of its lamps, where the app says they are kept."""
    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "catalog", "import", str(write_feed(ikea, _rows(ikea_products, "lamp", 3),
                                                                         tmp_path / "lamps.csv"))]) == 0
    capsys.readouterr()
    chairs = write_feed(ikea, _rows(ikea_products, "chair", 2), tmp_path / "chairs.csv")
    assert main(["--data-dir", data, "catalog", "import", str(chairs)]) == 0
    assert ("chairs.csv lists chair only: the catalog's 3 products of lamp are not in it and are left as they are"
            in capsys.readouterr().err)
