"""A batch or a search over a catalog without a vector of the embedder in use embeds it first, saying so.

Such a catalog is left by a switch of embedder (Settings, `decorlens models activate`) whose embedding was cancelled
or cut short by quitting. The first search then embedded the whole catalog silently (37 s for 1,955 products here,
hours for a large catalog): Batch Tag Folder said "0 of N photos" throughout, deaf to Cancel, and `decorlens search`
printed nothing. Seventy products (two chunks of the embedding): a few seconds."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sys
from pathlib import Path

import pytest

from decorlens.main import main
from engine.backups import list_backups
from engine.pipeline import Pipeline
from engine.settings import Settings, save_choice
from tests.ikea_feed import write_feed
from tests.scene_copy import copy_data_dir, without_vectors

EFFNET = "effnet_lite0_gem.onnx"
LABEL = "EfficientNet-Lite0 (ImageNet)"


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, ikea: Path):
    """Seventy of the shared products, imported and embedded for the stock embedder."""
    data = tmp_path_factory.mktemp("seventy")
    shutil.copytree(exported_models, data / "models")
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[::28][:70]
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    assert pipeline.import_catalog(write_feed(ikea, rows, data / "feed.csv")).added == 70
    yield pipeline
    pipeline.close()


@pytest.fixture
def switched(small_catalog: Pipeline, tmp_path: Path) -> Path:
    """A copy of the small catalog whose embedder in use is EfficientNet, not embedded for it."""
    data = copy_data_dir(small_catalog, tmp_path / "data")
    save_choice(data, "embedder", [EFFNET])
    return data


class _Terminal(io.StringIO):
    """Standard error as a terminal: the CLI draws its progress bars only there."""

    def isatty(self) -> bool:
        return True


def _vectors(data: Path) -> dict[str, int]:
    pipeline = Pipeline(Settings.for_data_dir(data))
    try:
        return pipeline.catalog.embedders()
    finally:
        pipeline.close()


def test_the_batch_dialog_embeds_the_catalog_first_with_progress_and_cancel(qtbot, switched: Path, scene_path,
                                                                              tmp_path: Path, qapp):
    from app.dialogs.batch import BatchDialog
    from app.workers import Runner

    before, backups = _vectors(switched), list_backups(switched / "catalog.sqlite")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(scene_path("bright-kitchen"), photos / "kitchen.jpg")
    pipeline = Pipeline(Settings.for_data_dir(switched))
    dialog = BatchDialog(pipeline, Runner(1, qapp), 3)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(photos))
    dialog.target.setText(str(tmp_path / "out"))
    ended: list[object] = []
    dialog.finished_batch.connect(ended.append)

    dialog.start()  # said while it embeds, and stopped there by Cancel
    qtbot.waitUntil(lambda: "Embedding the catalog" in dialog.status.text() or bool(ended), timeout=60_000)
    assert re.fullmatch(rf"Embedding the catalog for {re.escape(LABEL)} first: \d+ of 70 products…\n"
                        "Then the photos are tagged.", dialog.status.text())
    assert dialog.progress.maximum() == 70 and dialog.progress.accessibleName() == "Products embedded"
    dialog.cancel()
    assert dialog.status.text() == "Cancelling the catalog's embedding…"
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    assert ended == [dialog.status.text()] == [(f"Stopped while embedding the catalog for {LABEL}: nothing was tagged, and the "
                                    "catalog is as it was.")]  # not "What was tagged is saved in …"
    assert dialog.progress.isHidden()
    assert _vectors(switched) == before and list_backups(switched / "catalog.sqlite") == backups  # rolled back
    assert not (tmp_path / "out" / "kitchen.json").exists()

    with qtbot.waitSignal(dialog.finished_batch, timeout=120_000):  # again, to the end
        dialog.start()
    assert dialog.status.text().startswith("Tagged 1 photo (")
    assert dialog.progress.accessibleName() == "Photos tagged"
    assert _vectors(switched)[pipeline.embedder.key] == 70
    pipeline.close()


def test_search_and_tag_show_the_embedding_on_a_terminal_only(switched: Path, scene_path, tmp_path: Path, capsys,
                                                              monkeypatch):
    data, photo = ["--data-dir", str(switched)], str(scene_path("bright-kitchen"))
    before = _vectors(switched)
    assert main([*data, "search", photo]) == 0  # on a pipe: the results, no bar
    printed, err = capsys.readouterr()
    assert "tags" in printed and "embedding the catalog" not in err
    assert len(_vectors(switched)) == len(before) + 1

    monkeypatch.setattr(sys, "stderr", _Terminal())
    for command in (["search", photo], ["tag", photo, "--out", str(tmp_path / "out")]):
        without_vectors(switched, EFFNET)
        assert main([*data, *command]) == 0
        assert f"embedding the catalog for {LABEL}:" in sys.stderr.getvalue() and "70/70" in sys.stderr.getvalue()
        sys.stderr.seek(0)
        sys.stderr.truncate()


def test_the_clis_embedding_and_the_search_after_it_scan_the_catalog_once(switched: Path, scene_path):
    """`decorlens search` looked for the products lacking a vector before its bar, and the search after it looked
    again: two scans of every product (seconds each at a million). ``ensure_ready`` checks once a revision, telling
    the bar how many lack one first."""
    pipeline = Pipeline(Settings.for_data_dir(switched))
    told: list[tuple[int, int]] = []
    pipeline.ensure_ready(progress=lambda done, total: told.append((done, total)))
    assert told[0] == (0, 70) and told[-1] == (70, 70)
    scans: list[str] = []
    pipeline.catalog.db.set_trace_callback(lambda sql: scans.append(sql) if "LEFT JOIN vectors" in sql else None)
    pipeline.search_scene(scene_path("bright-kitchen"), 3)
    assert scans == []
    pipeline.close()
