"""Catalog bundles: export on one machine, import on another, with real IKEA products and models.

"Another machine" is a second data dir, and the folder the products were imported from is deleted
before the import, so only what the bundle carries can make the catalog work there.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from decorlens.main import main
from engine.bundle import IMAGES_DIR, PREVIOUS_FILE, export_bundle, import_bundle, read_bundle
from engine.colour import ColourHistogram
from engine.errors import CatalogError
from engine.pipeline import Pipeline
from engine.settings import Settings

CATEGORIES = ("lamp", "sofa", "rug")


def _product_folder(root: Path, ikea: Path, per_category: int = 4, offset: int = 0) -> Path:
    for category in CATEGORIES:
        (root / category).mkdir(parents=True)
        for image in sorted((ikea / "products" / category).glob("*.jpg"))[offset : offset + per_category]:
            shutil.copy(image, root / category / image.name)
    return root


def _machine(tmp_path: Path, name: str, exported_models: Path) -> Pipeline:
    """A data dir of its own, with the exported COCO detector as a user's machine would have."""
    data = tmp_path / name
    shutil.copytree(exported_models, data / "models")
    return Pipeline(Settings.defaults().with_(data_dir=data))


@pytest.fixture
def shop(fresh_pipeline: Pipeline, tmp_path: Path, ikea: Path):
    """The store's machine: 12 products imported from a folder, then a bundle of it."""
    source = _product_folder(tmp_path / "source-photos", ikea)
    fresh_pipeline.import_catalog(source)
    return fresh_pipeline, source


def _top1(pipeline: Pipeline, image: Path, category: str) -> tuple[str, float]:
    from PIL import Image

    with Image.open(image) as img:
        w, h = img.size
    match = pipeline.search_region(image, (0, 0, w, h), category, top_k=1).objects[0].matches[0]
    return match.sku, round(match.score, 4)


def test_round_trip_moves_catalog_index_and_images(shop, tmp_path: Path, exported_models: Path, ikea: Path):
    store, source = shop
    queries = [sorted((ikea / "products" / c).glob("*.jpg"))[5] for c in CATEGORIES]
    expected = [_top1(store, q, c) for q, c in zip(queries, CATEGORIES)]
    bundle = tmp_path / "out" / "store.dlcat"
    info = export_bundle(store.data_dir, bundle)
    assert bundle.is_file() and not bundle.with_name("store.dlcat.part").exists()
    assert info.products == 12 and info.embedders == {store.embedder.key: 12}
    assert info.manifest["images"] == "embedded" and info.manifest["image_files"] == 12
    assert read_bundle(bundle).manifest == info.manifest

    shutil.rmtree(source)  # the photos the store imported from are not on the other machine
    till = _machine(tmp_path, "till", exported_models)
    result = import_bundle(bundle, till.data_dir, till.embedder)
    assert result.products == 12 and result.images_added == 12 and result.re_embedded == 0
    assert result.previous is None

    products = till.catalog.products()
    assert len(products) == 12
    for product in products:
        path = Path(product.image_path)
        assert path.is_file() and path.parent == till.data_dir / IMAGES_DIR
    assert {p.sku for p in products} == {p.sku for p in store.catalog.products()}
    # the index is built here from the imported vectors and reflects the imported catalog revision
    manifest = json.loads((till.index_for(till.embedder).dir / "manifest.json").read_text())
    assert manifest["revision"] == till.catalog.revision
    assert [_top1(till, q, c) for q, c in zip(queries, CATEGORIES)] == expected
    assert not list(till.data_dir.glob(".bundle-import-*"))


def test_import_replaces_an_existing_catalog_and_keeps_the_old_one(
    shop, tmp_path: Path, exported_models: Path, ikea: Path
):
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=2, offset=8))
    old_skus = {p.sku for p in till.catalog.products()}
    till.catalog.close()

    import_bundle(bundle, till.data_dir, till.embedder)
    again = import_bundle(bundle, till.data_dir, till.embedder)  # re-importing is harmless
    assert again.images_added == 0

    fresh = Pipeline(Settings.defaults().with_(data_dir=till.data_dir))
    assert {p.sku for p in fresh.catalog.products()} == {p.sku for p in store.catalog.products()}
    assert len(list((till.data_dir / IMAGES_DIR).iterdir())) == 12
    with sqlite3.connect(till.data_dir / PREVIOUS_FILE) as db:
        previous = {r[0] for r in db.execute("SELECT sku FROM products")}
    assert previous == {p.sku for p in store.catalog.products()}  # the one before the second import
    assert not old_skus & previous


def test_mismatched_embedder_is_refused_with_both_names(shop, tmp_path: Path):
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    target = tmp_path / "other"
    with pytest.raises(CatalogError) as err:
        import_bundle(bundle, target, ColourHistogram())
    message = str(err.value)
    assert store.embedder.key in message and ColourHistogram().key in message and "--re-embed" in message
    assert not (target / "catalog.sqlite").exists()


def test_re_embed_computes_vectors_for_this_machines_model(shop, tmp_path: Path):
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    other = ColourHistogram()  # stands in for a machine with a different embedder
    result = import_bundle(bundle, tmp_path / "other", other, re_embed=True)
    assert result.re_embedded == 12 and result.embedder == other.key
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "other"))
    assert pipe.catalog.embedders() == {store.embedder.key: 12, other.key: 12}
    manifest = json.loads((pipe.index_for(other).dir / "manifest.json").read_text())
    assert manifest["revision"] == pipe.catalog.revision


def test_damaged_bundle_leaves_the_catalog_untouched(shop, tmp_path: Path, exported_models: Path, ikea: Path):
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=2, offset=8))
    before = {p.sku for p in till.catalog.products()}
    till.catalog.close()

    damaged = tmp_path / "damaged.dlcat"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("images/") and item.filename.endswith(".jpg"):
                data = data[:-100] + b"x" * 100  # a bad copy
            dst.writestr(item, data)
    with pytest.raises(CatalogError, match="damaged"):
        import_bundle(damaged, till.data_dir, till.embedder)

    fresh = Pipeline(Settings.defaults().with_(data_dir=till.data_dir))
    assert {p.sku for p in fresh.catalog.products()} == before
    assert not list(till.data_dir.glob(".bundle-import-*"))


def test_failed_swap_rolls_back(shop, tmp_path: Path, exported_models: Path, ikea: Path, monkeypatch):
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=2, offset=8))
    before = {p.sku for p in till.catalog.products()}
    index_manifest = (till.index_for(till.embedder).dir / "manifest.json").read_text()
    till.catalog.close()

    import engine.bundle as bundle_module

    real_replace = bundle_module.os.replace

    def refuse_db(src, dst):
        if Path(dst).name == "catalog.sqlite":
            raise PermissionError("file in use")
        return real_replace(src, dst)

    monkeypatch.setattr(bundle_module.os, "replace", refuse_db)
    with pytest.raises(CatalogError, match="is DecorLens open"):
        import_bundle(bundle, till.data_dir, till.embedder)
    monkeypatch.undo()

    fresh = Pipeline(Settings.defaults().with_(data_dir=till.data_dir))
    assert {p.sku for p in fresh.catalog.products()} == before
    assert (fresh.index_for(fresh.embedder).dir / "manifest.json").read_text() == index_manifest


def test_unsafe_archive_paths_are_refused(shop, tmp_path: Path):
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    evil = tmp_path / "evil.dlcat"
    shutil.copy(bundle, evil)
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("images/../../escaped.txt", "x")
    with pytest.raises(CatalogError, match="unsafe path"):
        import_bundle(evil, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()


def test_not_a_bundle(tmp_path: Path):
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.jpg", b"not really")
    with pytest.raises(CatalogError, match="not a DecorLens catalog bundle"):
        read_bundle(other)


def test_export_without_images_keeps_paths(shop, tmp_path: Path, exported_models: Path):
    store, source = shop
    info = export_bundle(store.data_dir, tmp_path / "shared.dlcat", include_images=False)
    assert info.manifest["images"] == "external" and info.manifest["image_files"] == 0
    till = _machine(tmp_path, "till", exported_models)
    with pytest.raises(CatalogError, match="--images-from"):
        import_bundle(info.path, till.data_dir, till.embedder)
    result = import_bundle(info.path, till.data_dir, till.embedder, images_from=[source])
    assert result.missing_images == 0
    assert all(Path(p.image_path).parent.parent == source for p in till.catalog.products())


def test_cli_export_info_import(shop, tmp_path: Path, exported_models: Path, capsys):
    store, _ = shop
    from decorlens import bundle as bundle_cli

    bundle = tmp_path / "store.dlcat"
    store.catalog.close()
    common = ["-q", "--data-dir", str(store.data_dir)]
    assert _cli(bundle_cli, [*common, "bundle", "export", str(bundle)]) == 0
    assert "12 products" in capsys.readouterr().out
    assert _cli(bundle_cli, ["-q", "bundle", "info", str(bundle)]) == 0
    assert "3 categories" in capsys.readouterr().out
    till = tmp_path / "till"
    shutil.copytree(exported_models, till / "models")
    assert _cli(bundle_cli, ["-q", "--data-dir", str(till), "bundle", "import", str(bundle)]) == 0
    assert "imported 12 products" in capsys.readouterr().out
    assert main(["-q", "--data-dir", str(till), "catalog", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["products"] == 12


def _cli(module, argv: list[str]) -> int:
    """Run ``decorlens`` with the bundle command registered (until it is listed in COMMANDS)."""
    import decorlens.main as cli_main

    if "bundle" in cli_main.COMMANDS:
        return main(argv)
    original = cli_main.COMMANDS
    cli_main.COMMANDS = (*original, "bundle")
    try:
        return main(argv)
    finally:
        cli_main.COMMANDS = original
