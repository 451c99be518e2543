"""Session 48's leftovers: a thumbnail decode that raises, look-alike SKUs in a vector folder's import, embedders
named by their model in `catalog stats` and `catalog show`."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from engine.files import sha256_of
from engine.models import ResolvedModel, find_first, model_label
from engine.settings import Settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SKUS = ("ABC-1", "\u0410BC-1")  # the second's first letter a Cyrillic А


def _damaged_avif(path: Path) -> Path:
    """An AVIF whose primary item id names no item: Pillow's AVIF plugin raises RuntimeError as it reads the header
    (``tests/test_imageio.py`` refuses it in search), where the thumbnails' format check catches OSError only."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "AVIF")
    data = bytearray(buffer.getvalue())
    item = data.index(b"pitm") + 8  # box type, version and flags, then the item id
    data[item : item + 2] = b"\x00\x09"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.gui
@pytest.mark.skipif("AVIF" not in Image.OPEN, reason="this Pillow reads no AVIF")
def test_a_thumbnail_whose_decode_raises_is_an_unreadable_tile_not_pending_for_good(qtbot, tmp_path: Path,
                                                                                    qapp):
    """The decode ran with no failure slot: its exception became the worker's "failed" signal, which went nowhere,
    and the picture stayed pending for the session (a grey square, never asked for again, never "couldn't read").
    It ends as every unreadable picture does: a null pixmap, and for the Photos strip an empty content key."""
    pytest.importorskip("PySide6")
    from app.thumbnails import Thumbnails
    from app.workers import Runner

    path = str(_damaged_avif(tmp_path / "damaged.avif"))
    runner = Runner(1, qapp)
    thumbnails = Thumbnails(runner)
    assert thumbnails.get(path, digest=True) is None  # queued
    qtbot.waitUntil(lambda: not runner.busy(), timeout=60_000)
    shown = thumbnails.get(path, digest=True)
    assert shown is not None and shown.isNull()
    assert thumbnails.digest(path) == ""


def _default_embedder(models: Path) -> ResolvedModel:
    return find_first(Settings.defaults().embedder, models, None)


@pytest.fixture
def lookalike_shop(tmp_path: Path, ikea: Path, shared_models: Path) -> tuple[Path, str]:
    """A data dir whose catalog came from a feed and a vector folder (`catalog import --vectors`) holding two SKUs
    that read as one; (the data dir, the import's output)."""
    pytest.importorskip("pyarrow")
    from lamp_shop import run_cli

    from engine.vectors_import import EmbedderId, pyarrow_modules, schema

    card = _default_embedder(shared_models).card
    lamp = min((ikea / "products" / "lamp").glob("*.jpg"))
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,name,category,image\n" + "".join(f"{sku},Lamp,lamp,{lamp}\n" for sku in SKUS),
                    encoding="utf-8")
    pa, _, pq = pyarrow_modules()
    who = EmbedderId.of(card)
    vector = [1.0] + [0.0] * (card.output_dim - 1)
    table = pa.table({"sku": list(SKUS), "category": ["lamp"] * 2, "image_sha256": [sha256_of(lamp)] * 2,
                      "embedder": [who.name] * 2, "embedder_sha256": [who.sha256] * 2, "vector": [vector] * 2,
                      "error": [None] * 2}, schema=schema(card.output_dim, who))
    (tmp_path / "vectors").mkdir()
    pq.write_table(table, tmp_path / "vectors" / "part-0.parquet")
    data = tmp_path / "data"
    code, out, err = run_cli(data, shared_models, "catalog", "import", str(feed), "--vectors", str(tmp_path / "vectors"))
    assert code == 0, err
    return data, out


def test_a_vector_folders_import_names_the_skus_that_read_as_another(lookalike_shop: tuple[Path, str]):
    """`catalog import --vectors` said "2 added" of "ABC-1" and "АBC-1", which every list and page shows alike; it
    now says what a feed's import says (``engine.importer.catalog_lookalikes``)."""
    _data, out = lookalike_shop
    assert ("2 added; 1 set of SKUs reads as one, a character drawn alike (check the feed): ABC-1 / ⟨U+0410⟩BC-1; "
            "catalog has 2 products") in out, out


def test_catalog_stats_and_show_name_an_embedder_by_its_model(lookalike_shop: tuple[Path, str], shared_models: Path,
                                                              tmp_path: Path):
    """`catalog stats` and `catalog show` named an embedder by its vector key ("mobilenet_v2-imagenet-d328850cf896"),
    where `models list`, the app and `catalog rebuild-index` say "MobileNetV2 1.0/224 (ImageNet)". The key stays
    (it tells two weights of one model apart); a key whose model is not installed is said so."""
    from lamp_shop import run_cli

    data, _out = lookalike_shop
    model = _default_embedder(shared_models)
    named = f"{model_label(model)}, vectors {model.key}"
    assert model_label(model) != model.card.name  # a model-pack embedder: its pack's words, not its card's name
    code, stats, err = run_cli(data, shared_models, "catalog", "stats")
    assert code == 0 and f"\n{named}: 2\n" in stats, (stats, err)
    code, shown, err = run_cli(data, shared_models, "catalog", "show", "ABC-1")
    assert code == 0 and f"\nvector    yes, {named} (in the index: photos can be matched to it)\n" in shown, shown
    (tmp_path / "no models").mkdir()
    code, stats, err = run_cli(data, tmp_path / "no models", "catalog", "stats")
    assert code == 0 and f"\na model not installed, vectors {model.key}: 2\n" in stats, (stats, err)
    code, shown, err = run_cli(data, tmp_path / "no models", "catalog", "show", "ABC-1")
    assert code == 0, err
    assert f"\nvector    unknown: no embedder model found; stored for a model not installed, vectors {model.key}\n" in shown
