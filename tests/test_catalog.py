"""Catalog import, re-import, removal, and what survives a kill or a corrupt file.

Uses the real MobileNetV2 embedder and real IKEA product photos, with SQLite and hnswlib on disk.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.catalog import Catalog
from engine.errors import Cancelled, CatalogError
from engine.importer import read_source
from engine.pipeline import Pipeline
from engine.settings import Settings

CATEGORIES = ("lamp", "sofa", "rug")


@pytest.fixture(scope="module")
def product_folder(tmp_path_factory: pytest.TempPathFactory, ikea: Path) -> Path:
    """A catalog folder: 3 category subfolders with 6 real product photos each."""
    root = tmp_path_factory.mktemp("catalog-src")
    for category in CATEGORIES:
        (root / category).mkdir()
        for image in sorted((ikea / "products" / category).glob("*.jpg"))[:6]:
            shutil.copy(image, root / category / image.name)
    return root


@pytest.fixture
def pipe(tmp_path: Path) -> Pipeline:
    return Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))


def test_folder_import_stores_products_and_vectors(pipe: Pipeline, product_folder: Path):
    report = pipe.import_catalog(product_folder)
    assert (report.added, report.updated, report.unchanged) == (18, 0, 0)
    assert pipe.catalog.category_counts() == {c: 6 for c in sorted(CATEGORIES)}
    assert pipe.catalog.embedders() == {pipe.embedder.key: 18}


def test_reimport_is_idempotent_and_reembeds_changed_images(pipe: Pipeline, product_folder: Path, tmp_path: Path):
    src = tmp_path / "src"
    shutil.copytree(product_folder, src)
    pipe.import_catalog(src)
    before = dict(_vectors(pipe))
    report = pipe.import_catalog(src)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 18)

    changed = sorted((src / "lamp").glob("*.jpg"))[0]
    Image.open(changed).transpose(Image.Transpose.FLIP_LEFT_RIGHT).rotate(20).save(changed)
    report = pipe.import_catalog(src)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 17)
    after = dict(_vectors(pipe))
    assert not np.allclose(before[changed.stem], after[changed.stem])
    assert all(np.array_equal(before[s], after[s]) for s in before if s != changed.stem)


def test_csv_import_maps_merchant_and_shopify_columns(pipe: Pipeline, product_folder: Path, tmp_path: Path):
    lamp, sofa = sorted((product_folder / "lamp").glob("*.jpg"))[0], sorted((product_folder / "sofa").glob("*.jpg"))[0]
    merchant = tmp_path / "feed.tsv"
    merchant.write_text(
        "id\ttitle\tgoogle_product_category\timage_link\tlink\tprice\tbrand\n"
        f"L-1\tNice lamp\tHome & Garden > Lighting > lamp\t{lamp}\thttps://shop.example/l1\t19.99 EUR\tACME\n"
    )
    shopify = tmp_path / "products_export.csv"
    shopify.write_text(
        "Handle,Title,Type,Image Src,Variant SKU,Variant Price\n"
        f"comfy-sofa,Comfy sofa,sofa,{sofa.name},S-1,499.00\n"
        "comfy-sofa,,,,,\n"  # Shopify writes extra variant rows without image or sku
    )
    shutil.copy(sofa, tmp_path / sofa.name)  # relative image paths resolve beside the CSV
    rows = read_source(merchant) + read_source(shopify)
    assert [(r.sku, r.name, r.category, r.price) for r in rows] == [
        ("L-1", "Nice lamp", "lamp", "19.99 EUR"), ("S-1", "Comfy sofa", "sofa", "499.00")
    ]
    assert rows[0].extra == {"brand": "ACME"} and rows[0].url == "https://shop.example/l1"
    pipe.import_catalog(merchant)
    pipe.import_catalog(shopify)
    assert pipe.catalog.get_by_sku("S-1").image_path == str((tmp_path / sofa.name).resolve())


def test_csv_without_required_columns_is_refused(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n")
    with pytest.raises(CatalogError, match="no column for sku, category, image"):
        read_source(path)


def test_bad_rows_are_skipped_and_reported(pipe: Pipeline, product_folder: Path, tmp_path: Path):
    src = tmp_path / "src"
    shutil.copytree(product_folder, src)
    (src / "lamp" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    report = pipe.import_catalog(src)
    assert report.added == 18
    assert [sku for sku, _ in report.skipped] == ["broken"]
    assert "broken.jpg" in report.skipped[0][1]


def test_cancelled_import_leaves_catalog_as_before(
    pipe: Pipeline, product_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("engine.importer.CHUNK", 4)  # several chunks, so cancel lands mid-import
    first = tmp_path / "first"
    shutil.copytree(product_folder / "lamp", first / "lamp")
    pipe.import_catalog(first)
    revision, count = pipe.catalog.revision, pipe.catalog.count()
    with pytest.raises(Cancelled):
        pipe.import_catalog(product_folder, cancelled=lambda: pipe.catalog.count() > 8)
    assert (pipe.catalog.revision, pipe.catalog.count()) == (revision, count)


def test_kill_during_import_leaves_catalog_as_before(pipe: Pipeline, product_folder: Path, tmp_path: Path):
    """Ctrl-C (KeyboardInterrupt) in the middle of a batch rolls the whole batch back."""
    pipe.import_catalog(product_folder)
    src = tmp_path / "more"
    shutil.copytree(product_folder / "rug", src / "rug2")

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipe.import_catalog(src, progress=interrupt)
    reopened = Catalog(pipe.catalog.path)
    assert reopened.count() == 18 and "rug2" not in reopened.category_counts()
    result = pipe.search_region(next((src / "rug2").glob("*.jpg")), (0, 0, 500, 500))
    assert result.objects[0].matches  # the index is still usable


def test_remove_deletes_from_catalog_and_index(pipe: Pipeline, product_folder: Path):
    pipe.import_catalog(product_folder)
    lamp = sorted((product_folder / "lamp").glob("*.jpg"))[0]
    assert _top_sku(pipe, lamp) == lamp.stem
    assert pipe.remove_products([lamp.stem, "no-such-sku"]) == 1
    assert pipe.catalog.get_by_sku(lamp.stem) is None
    assert _top_sku(pipe, lamp) != lamp.stem


def test_not_a_catalog_file_gives_clear_error(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="not a readable DecorLens catalog"):
        Catalog(path)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(CatalogError, match="not a DecorLens catalog"):
        Catalog(other)


def test_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(CatalogError, match="schema version 99"):
        Catalog(path)


def test_empty_catalog_search_is_a_clear_error(pipe: Pipeline, product_folder: Path):
    with pytest.raises(CatalogError, match="catalog .* is empty"):
        pipe.search_region(next((product_folder / "lamp").glob("*.jpg")), (0, 0, 100, 100))


def _vectors(pipe: Pipeline):
    for product in pipe.catalog.products():
        row = pipe.catalog.db.execute(
            "SELECT vector FROM vectors WHERE product_id = ? AND embedder = ?", (product.id, pipe.embedder.key)
        ).fetchone()
        yield product.sku, np.frombuffer(row[0], np.float32)


def _top_sku(pipe: Pipeline, image: Path) -> str:
    w, h = Image.open(image).size
    return pipe.search_region(image, (0, 0, w, h), category="lamp").objects[0].matches[0].sku


def test_search_runs_while_an_import_writes(pipe: Pipeline, product_folder: Path, tmp_path: Path):
    """The GUI searches from one worker while another imports: readers see the last committed catalog."""
    import threading

    pipe.import_catalog(product_folder)
    more = tmp_path / "more"
    (more / "sofa").mkdir(parents=True)
    for image in (product_folder / "sofa").glob("*.jpg"):
        shutil.copy(image, more / "sofa" / f"new-{image.name}")  # new skus, same pictures
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(errors, pipe.import_catalog, more))
    worker.start()
    lamp = sorted((product_folder / "lamp").glob("*.jpg"))[0]
    while worker.is_alive():
        assert _top_sku(pipe, lamp) == lamp.stem
    worker.join()
    assert not errors and pipe.catalog.count() == 24


def _catch(errors: list[BaseException], work, *args) -> None:
    try:
        work(*args)
    except BaseException as exc:  # surfaced by the test thread
        errors.append(exc)
