"""Catalog bundles: export on one machine, import on another, with real IKEA products and models.

"Another machine" is a second data dir, and the folder the products were imported from is deleted
before the import, so only what the bundle carries can make the catalog work there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from png_bomb import png_claiming

from decorlens.main import main
from engine import bundle_archive
from engine.backups import list_backups
from engine.bundle import (
    ADDING,
    CHECKING,
    COPYING,
    EMBEDDING,
    EXPORT_STEPS,
    IMAGES_DIR,
    IMPORT_LOCK,
    IMPORT_STEPS,
    INDEXING,
    PACKING,
    REPLACING,
    UNPACKING,
    WRITING,
    _same_rows,
    export_bundle,
    import_bundle,
    read_bundle,
)
from engine.catalog import Catalog
from engine.colour import ColourHistogram
from engine.errors import Cancelled, CatalogError, DecorLensError
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


def test_each_import_backs_up_the_catalog_it_replaces_and_any_can_be_restored(
    shop, tmp_path: Path, exported_models: Path, ikea: Path, capsys
):
    """Every import replaced ``catalog.before-import.sqlite``: after a second one the original catalog was gone
    for good, and ``catalog restore`` said there were no backups. Each import now takes a backup that
    ``catalog restore`` lists and restores, with the images a restored catalog needs still in the data dir."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    other = _machine(tmp_path, "other-store", exported_models)
    other.import_catalog(_product_folder(tmp_path / "other-photos", ikea, per_category=2, offset=4))
    other_bundle = export_bundle(other.data_dir, tmp_path / "other.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=2, offset=8))
    old_skus = {p.sku for p in till.catalog.products()}
    till.close()

    first = import_bundle(bundle, till.data_dir, till.embedder)
    again = import_bundle(bundle, till.data_dir, till.embedder)  # re-importing is harmless
    assert again.images_added == 0
    last = import_bundle(other_bundle, till.data_dir, till.embedder)
    backups = list_backups(till.data_dir / "catalog.sqlite")
    assert [b.path for b in backups] == [last.previous, again.previous, first.previous]
    assert {b.reason for b in backups} == {"bundle-import"}
    assert f"previous catalog backed up as {first.previous.name}" in first.summary()
    assert not list(till.data_dir.glob("*.tmp"))

    store_skus = {p.sku for p in store.catalog.products()}
    for backup, skus in ((last.previous, store_skus), (first.previous, old_skus)):
        assert main(["-q", "--data-dir", str(till.data_dir), "catalog", "restore", backup.name]) == 0
        capsys.readouterr()
        with Catalog(till.data_dir / "catalog.sqlite") as catalog:
            products = catalog.products()
        assert {p.sku for p in products} == skus
        assert all(Path(p.image_path).is_file() for p in products)  # the pictures of a replaced bundle are kept


@pytest.mark.parametrize("damage", ["first page zeroed", "cut in half"])
def test_a_bundle_replaces_a_damaged_catalog_and_keeps_it_aside(shop, tmp_path: Path, exported_models: Path,
                                                                  ikea: Path, damage: str):
    """A bundle replaces the catalog anyway: over a damaged one, the import was refused ("cannot read the current
    catalog …: file is not a database"), though it was the cure the damage line advises (import the products
    again). The damaged file is set aside, byte for byte, as a restore sets it aside, and the bundle installed."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=1))
    live = till.data_dir / "catalog.sqlite"
    with contextlib.closing(sqlite3.connect(live)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    till.close()
    data = bytearray(live.read_bytes())
    if damage == "first page zeroed":
        data[:4096] = bytes(4096)
    else:
        del data[len(data) // 2 :]
    live.write_bytes(bytes(data))
    Path(str(live) + "-wal").unlink(missing_ok=True)

    result = import_bundle(bundle, till.data_dir, till.embedder)
    assert result.damaged is not None and result.previous is None
    assert result.damaged.read_bytes() == bytes(data) and result.damaged.parent == till.data_dir
    assert f"the damaged catalog it replaced is kept as {result.damaged.name}" in result.summary()
    with Catalog(live) as catalog:
        assert {p.sku for p in catalog.products()} == {p.sku for p in store.catalog.products()}


def test_a_stale_temp_file_of_a_killed_import_is_swept_by_the_next(shop, tmp_path: Path, exported_models: Path):
    """The copy of the replaced catalog went through ``catalog.before-import.sqlite.tmp``, which a Ctrl-C or a
    kill left in the data dir for good. It is a backup now: a unique temp name, deleted on any exception, and
    one left by a killed process is swept by the next import."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    import_bundle(bundle, till.data_dir, till.embedder)
    killed = till.data_dir / "backups" / ".tmp-backup-killed.sqlite"
    killed.parent.mkdir(exist_ok=True)
    killed.write_bytes(b"half a catalog")
    os.utime(killed, (1, 1))  # from an import killed long ago
    import_bundle(bundle, till.data_dir, till.embedder)
    assert not killed.exists()
    assert [p.name for p in till.data_dir.rglob("*") if "tmp" in p.name] == []


def test_a_local_category_map_the_bundle_replaces_is_kept_and_named(
    shop, tmp_path: Path, exported_models: Path, ikea: Path
):
    """The bundle's categories.yaml replaced a hand-edited one here with no copy and no word."""
    store, _ = shop
    shipped = (Path(__file__).parent.parent / "resources" / "categories.yaml").read_text()
    (store.data_dir / "categories.yaml").write_text(shipped)
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    mine = "# our own names for the shop floor\n" + shipped
    (till.data_dir / "categories.yaml").write_text(mine)

    result = import_bundle(bundle, till.data_dir, till.embedder)
    assert (till.data_dir / "categories.yaml").read_text() == shipped
    assert result.categories_replaced and result.categories_kept is not None
    assert result.categories_kept.read_text() == mine
    assert f"the previous one kept as {result.categories_kept}" in result.summary()
    again = import_bundle(bundle, till.data_dir, till.embedder)  # the same map: nothing replaced, nothing said
    assert not again.categories_replaced and "categories.yaml" not in again.summary()


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


# A process that holds the catalog open as the app does between searches, then removes a product when told:
# on its main thread, or as the app does, in worker threads that end (their connections close with them).
_HOLDER = """
import sys, threading
from engine.catalog import Catalog

def run(work):
    if sys.argv[3] == "main":
        return work()
    done = []
    worker = threading.Thread(target=lambda: done.append(work()))
    worker.start()
    worker.join()
    return done[0]

catalog = run(lambda: Catalog(sys.argv[1]))
print(run(catalog.count), flush=True)
sys.stdin.readline()
print(run(lambda: catalog.remove([sys.argv[2]])), flush=True)
"""


@pytest.mark.parametrize("threads", ["main", "workers"])
def test_import_is_refused_while_another_process_holds_the_catalog_open(
    shop, tmp_path: Path, exported_models: Path, ikea: Path, threads: str
):
    """The app open on the till, idle: replacing the file under it would send what it writes next to the
    replaced file, lost (it was, with only a busy checkpoint taken as "in use"). The app's worker threads'
    connections close with them: the catalog's own connection holds the swap off."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=2, offset=8))
    before = {p.sku for p in till.catalog.products()}
    till.catalog.close()
    gone = min(before)
    app = subprocess.Popen([sys.executable, "-c", _HOLDER, str(till.data_dir / "catalog.sqlite"), gone, threads],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert app.stdout.readline().strip() == str(len(before))
        with pytest.raises(CatalogError, match="in use; close DecorLens"):
            import_bundle(bundle, till.data_dir, till.embedder)
        assert app.communicate("go\n", timeout=120)[0].strip() == "1"
    finally:
        app.kill()
    with Catalog(till.data_dir / "catalog.sqlite") as catalog:
        assert {p.sku for p in catalog.products()} == before - {gone}
    assert not (till.data_dir / IMAGES_DIR).exists() or not any((till.data_dir / IMAGES_DIR).iterdir())


# A bundle import under way in another process, as far as the data dir shows it: its lock and staging folder.
_IMPORTING = """
import sys, tempfile
from pathlib import Path
from engine.bundle import IMPORT_LOCK, STAGING_PREFIX
from engine.files import exclusive
with exclusive(Path(sys.argv[1]) / IMPORT_LOCK):
    print(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=sys.argv[1]), flush=True)
    sys.stdin.readline()
"""


def test_a_second_import_is_refused_and_leaves_the_first_ones_staging_folder(
    shop, tmp_path: Path, exported_models: Path
):
    """A second import deleted the running one's staging folder as a killed import's leftover, and the first
    then refused its bundle as broken (a staged image: "no such file")."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    till = _machine(tmp_path, "till", exported_models)
    first = subprocess.Popen([sys.executable, "-c", _IMPORTING, str(till.data_dir)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        stage = Path(first.stdout.readline().strip())
        with pytest.raises(CatalogError, match="another bundle import into .* is running"):
            import_bundle(bundle, till.data_dir, till.embedder)
        assert stage.is_dir() and not (till.data_dir / "catalog.sqlite").exists()
    finally:
        first.communicate("done\n", timeout=60)
    assert import_bundle(bundle, till.data_dir, till.embedder).products == 12
    assert not stage.exists()  # a killed import's leftover, once nothing holds the lock


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


def test_export_never_ships_a_file_that_replaced_a_product_image(shop, tmp_path: Path):
    """A product's picture, after its import, turned into a link to a key file (a shared folder, say): the
    export refuses, naming it, rather than carrying the key; a picture merely changed still goes, logged."""
    store, source = shop
    secret = tmp_path / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    first, second = sorted((source / "lamp").glob("*.jpg"))[:2]
    first.unlink()
    first.symlink_to(secret)
    out = tmp_path / "out.dlcat"
    with pytest.raises(CatalogError, match=f"{first.stem}: .*not an image.*changed since its import"):
        export_bundle(store.data_dir, out)
    assert not out.exists()

    shutil.copy(second, first.with_name("other.jpg"))
    first.unlink()
    first.symlink_to(first.with_name("other.jpg"))  # another picture: stale, still an image
    logged: list[str] = []
    info = export_bundle(store.data_dir, out, log=logged.append)
    assert "1 product images changed on disk" in logged[0]
    with zipfile.ZipFile(info.path) as zf:
        assert not [n for n in zf.namelist() if zf.read(n).startswith(b"-----BEGIN OPENSSH")]


def test_export_ships_the_bytes_it_checked_even_if_the_files_change_after(shop, tmp_path: Path):
    """Images were checked (hash, decode) and then zipped from their paths again: a file swapped between the two
    went out. The export log's note on changed pictures comes after the pictures are read, so it swaps them here."""
    from PIL import Image

    store, source = shop
    secret = tmp_path / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    first, second, third = sorted((source / "lamp").glob("*.jpg"))[:3]
    picture = first.with_name("other.jpg")
    with Image.open(second) as img:
        img.save(picture, quality=70)  # a picture no product of the shop has
    first.unlink()
    first.symlink_to(picture)  # changed since its import, still a picture: checked, then shipped

    def swap_to_the_key(_message: str) -> None:
        first.unlink()
        first.symlink_to(secret)

    info = export_bundle(store.data_dir, tmp_path / "a.dlcat", log=swap_to_the_key)
    with zipfile.ZipFile(info.path) as zf:
        assert not [n for n in zf.namelist() if zf.read(n).startswith(b"-----BEGIN OPENSSH")]
        assert f"images/{hashlib.sha256(picture.read_bytes()).hexdigest()}.jpg" in zf.namelist()

    first.unlink()
    first.symlink_to(picture)
    checked = third.read_bytes()

    def overwrite_an_unchanged_one(_message: str) -> None:
        third.write_bytes(secret.read_bytes())

    # Each picture is read once, checked and written from those bytes: overwritten after that, the file is not
    # read again (before, the second read caught it and refused the export), and the bytes read are the ones shipped.
    info = export_bundle(store.data_dir, tmp_path / "b.dlcat", log=overwrite_an_unchanged_one)
    with zipfile.ZipFile(info.path) as zf:
        assert not [n for n in zf.namelist() if zf.read(n).startswith(b"-----BEGIN OPENSSH")]
        assert f"images/{hashlib.sha256(checked).hexdigest()}.jpg" in zf.namelist()
        assert all(hashlib.sha256(zf.read(n)).hexdigest() == Path(n).stem for n in zf.namelist()
                   if n.startswith("images/"))


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 64 KB file system (tmpfs, as root where the system allows mounting), for a disk that fills up."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                                           capture_output=True, check=False).returncode:
        pytest.skip("no small file system can be mounted here (needs root and mount)")
    try:
        yield folder
    finally:  # fails while a file on it is still open
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_temporary_folder_is_named_and_the_catalog_is_not_blamed(shop, small_disk: Path, tmp_path: Path,
                                                                       monkeypatch, capsys):
    """The export prepares the bundle in the temporary folder; when that filled up, SQLite's "database or disk
    is full" read as the catalog failing ("cannot be read for export", or "no space left to write the catalog …
    the change was undone")."""
    store, _ = shop
    store.catalog.close()
    before = hashlib.sha256((store.data_dir / "catalog.sqlite").read_bytes()).hexdigest()
    monkeypatch.setattr(tempfile, "tempdir", str(small_disk))
    out = tmp_path / "store.dlcat"
    assert main(["-q", "--data-dir", str(store.data_dir), "bundle", "export", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "no space left in …/small-disk to prepare the bundle (the catalog is untouched)" in err, err
    assert "TMPDIR" in err and not out.exists() and not list(small_disk.iterdir())
    assert hashlib.sha256((store.data_dir / "catalog.sqlite").read_bytes()).hexdigest() == before


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


def test_cli_import_into_a_data_dir_given_by_a_relative_path(
    shop, tmp_path: Path, exported_models: Path, capsys, monkeypatch
):
    """``--data-dir till`` from the folder above it: the bundle's images are stored under an absolute path
    (a relative one was refused as not existing before the images were moved in)."""
    store, _ = shop
    store.catalog.close()
    bundle = tmp_path / "store.dlcat"
    export_bundle(store.data_dir, bundle)
    shutil.copytree(exported_models, tmp_path / "till" / "models")
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "--data-dir", "till", "bundle", "import", str(bundle)]) == 0, capsys.readouterr().err
    with Catalog(tmp_path / "till" / "catalog.sqlite") as catalog:
        paths = [Path(p.image_path) for p in catalog.products()]
    assert len(paths) == 12 and all(p.is_absolute() and p.is_relative_to(tmp_path / "till" / IMAGES_DIR) for p in paths)
    monkeypatch.chdir(tmp_path / "till")
    assert all(p.is_file() for p in paths)


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


# -- hostile bundles ----------------------------------------------------------------------------
# A bundle is untrusted input. Each crafted bundle below is consistent with itself (its manifest lists
# the mutated members with their real checksums, as an attacker would make it), so only the importer's
# own checks stand between it and the user's catalog.


@dataclass
class Corpus:
    bundle: Path  # a genuine bundle of 6 products
    till: Path  # a data dir with a catalog of its own (3 products), copied for each case
    embedder: object
    index_file: Path  # a genuine hnswlib file of the store, to mutate
    index_folder: str


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, ikea: Path) -> Corpus:
    root = tmp_path_factory.mktemp("bundle-corpus")
    store = _machine(root, "store", exported_models)
    store.import_catalog(_product_folder(root / "photos", ikea, per_category=2))
    index = store.index_for(store.embedder)
    index.sync(store.catalog)
    bundle = export_bundle(store.data_dir, root / "store.dlcat").path
    till = _machine(root, "till", exported_models)
    till.import_catalog(_product_folder(root / "old-photos", ikea, per_category=1, offset=8))
    till.close()
    store.close()
    every = max(index.dir.glob("*.bin"), key=lambda p: p.stat().st_size)  # the all-categories index
    return Corpus(bundle, till.data_dir, till.embedder, every, index.dir.name)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _craft(
    source: Path, out: Path, db: Callable[[sqlite3.Connection], None] | None = None,
    manifest: Callable[[dict], None] | None = None, listed: dict[str, bytes] | None = None,
    unlisted: Sequence[tuple[zipfile.ZipInfo | str, bytes]] = (), relist: bool = True, images: bool = True,
) -> Path:
    """A copy of ``source`` with its database mutated by ``db``, members added, and a matching manifest."""
    with zipfile.ZipFile(source) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if images or not i.filename.startswith("images/")}
    meta = json.loads(members.pop("manifest.json"))
    if db is not None:
        scratch = out.with_name(out.name + ".sqlite")
        scratch.write_bytes(members["catalog.sqlite"])
        conn = sqlite3.connect(scratch)
        db(conn)
        conn.commit()
        conn.close()
        members["catalog.sqlite"] = scratch.read_bytes()
        scratch.unlink()
    members.update(listed or {})
    if relist:
        meta["files"] = {name: {"size": len(data), "sha256": _sha(data)} for name, data in members.items()}
        meta["catalog_sha256"] = _sha(members["catalog.sqlite"])
    if manifest is not None:
        manifest(meta)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(meta))
        for name, data in members.items():
            zf.writestr(name, data)
        for info, data in unlisted:
            zf.writestr(info, data)
    return out


def _link(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _first_image(bundle: Path) -> str:
    with zipfile.ZipFile(bundle) as zf:
        return next(n for n in zf.namelist() if n.startswith("images/"))


TRIGGER = (
    "CREATE TRIGGER evil AFTER INSERT ON products BEGIN UPDATE products SET name = '<img src=x onerror=alert(1)>', "
    "url = 'javascript:alert(1)' WHERE id = NEW.id; END"
)


def _plant_schema(conn: sqlite3.Connection) -> None:
    conn.execute(TRIGGER)
    conn.execute("CREATE TRIGGER evil_update AFTER UPDATE ON products BEGIN "
                 "UPDATE products SET url = 'javascript:alert(2)' WHERE id = NEW.id AND url != 'javascript:alert(2)'; END")
    conn.execute("CREATE VIEW evil_view AS SELECT * FROM products")
    conn.execute("CREATE TABLE evil_table (payload TEXT)")
    conn.execute("INSERT INTO evil_table VALUES ('x')")
    conn.execute("CREATE INDEX evil_index ON products (name)")
    conn.execute("PRAGMA user_version = 666")


def _products_as_view(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE products RENAME TO real_products")
    conn.execute("CREATE VIEW products AS SELECT * FROM real_products")


def _set_image(path: str) -> Callable[[sqlite3.Connection], None]:
    return lambda conn: conn.execute("UPDATE products SET image_path = ? WHERE id = (SELECT MIN(id) FROM products)",
                                     (path,))


def _external(bundle: Path, out: Path, image: str) -> Path:
    """A bundle "exported without images" whose first product points at ``image``."""
    return _craft(bundle, out, db=_set_image(image), manifest=lambda m: m.update(images="external"), images=False)


def _replace_db(data: bytes) -> Callable[[Path, Path], Path]:
    def build(bundle: Path, out: Path) -> Path:
        tmp = _craft(bundle, out)
        with zipfile.ZipFile(tmp) as zf:
            members = {i.filename: zf.read(i) for i in zf.infolist()}
        meta = json.loads(members.pop("manifest.json"))
        original = members["catalog.sqlite"]
        members["catalog.sqlite"] = data if data else original[: len(original) // 2]
        meta["files"]["catalog.sqlite"] = {"size": len(members["catalog.sqlite"]),
                                           "sha256": _sha(members["catalog.sqlite"])}
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("manifest.json", json.dumps(meta))
            for name, member in members.items():
                zf.writestr(name, member)
        return out

    return build


def _bomb(honest: bool) -> Callable[[Path, Path], Path]:
    """A zip of 256 MiB of zeros (a few hundred KB on disk) as the catalog database."""

    def build(bundle: Path, out: Path) -> Path:
        size = 256 << 20
        with zipfile.ZipFile(bundle) as zf:
            meta = json.loads(zf.read("manifest.json"))
        meta["files"] = {"catalog.sqlite": {"size": size if honest else 4096, "sha256": "0" * 64}}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(meta))
            with zf.open("catalog.sqlite", "w") as dst:
                zero = bytes(1 << 20)
                for _ in range(size >> 20):
                    dst.write(zero)
        if not honest:  # the central directory claims 4 KiB: the header lies
            data = bytearray(out.read_bytes())
            struct.pack_into("<I", data, data.rindex(b"PK\x01\x02") + 24, 4096)  # last entry: the database
            out.write_bytes(bytes(data))
        return out

    return build


def _many_members(bundle: Path, out: Path) -> Path:
    """A genuine zip64 archive whose directory lists 250,001 members (all pointing at one small file)."""
    one = out.with_name("one.zip")
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("images/" + "0" * 64 + ".jpg", b"x")
    data = one.read_bytes()
    end = zipfile._EndRecData(open(one, "rb"))  # noqa: SIM115 - read once
    offset, size = end[zipfile._ECD_OFFSET], end[zipfile._ECD_SIZE]
    count = bundle_archive.MAX_MEMBERS + 1
    directory = data[offset : offset + size] * count
    head = data[:offset] + directory
    record = struct.pack(zipfile.structEndArchive64, zipfile.stringEndArchive64, 44, 45, 45, 0, 0,
                         count, count, len(directory), offset)
    locator = struct.pack(zipfile.structEndArchive64Locator, zipfile.stringEndArchive64Locator, 0, len(head), 1)
    eocd = struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, 0xFFFF, 0xFFFF,
                       0xFFFFFFFF, 0xFFFFFFFF, 0)
    out.write_bytes(head + record + locator + eocd)
    return out


def _mutated_index(corpus: Corpus) -> Callable[[Path, Path], Path]:
    """A bundle as DecorLens wrote them before (no file listing) with a mutated hnswlib file and its manifest."""

    def build(bundle: Path, out: Path) -> Path:
        index = bytearray(corpus.index_file.read_bytes())
        struct.pack_into("<QQQ", index, 8, 2**40, 2**40, 2**40)  # max elements, count, bytes per element
        index = bytes(index[: len(index) // 3])
        manifest = json.loads((corpus.index_file.parent / "manifest.json").read_text())
        for entry in manifest["files"].values():
            if entry["file"] == corpus.index_file.name:  # the bundle's own manifest vouches for the mutant
                entry.update(size=len(index), sha256=_sha(index))
        folder = f"index/{corpus.index_folder}/"
        return _craft(bundle, out, relist=False, manifest=lambda m: m.pop("files"),
                      unlisted=[(folder + corpus.index_file.name, index), (folder + "manifest.json", json.dumps(manifest).encode())])

    return build


def _cases(corpus: Corpus, tmp: Path) -> dict[str, tuple[Callable[[Path, Path], Path], str | None, dict]]:
    """name: (builder, expected error (regex) or None for a correct import, extra import arguments)."""
    image = _first_image(corpus.bundle)
    share = tmp / "share"
    share.mkdir()
    (share / "evil.jpg").symlink_to("/etc/passwd")
    not_an_image = b"<html>not an image</html>"
    fake = f"images/{_sha(not_an_image)}.jpg"
    bomb_png = png_claiming(15800, 15800)
    bomb_name = f"images/{_sha(bomb_png)}.png"
    nan = np.full(1280, np.nan, np.float32).tobytes()
    return {
        "traversal": (lambda b, o: _craft(b, o, unlisted=[("images/../../escaped.txt", b"x")]), "unsafe path", {}),
        "absolute": (lambda b, o: _craft(b, o, unlisted=[(zipfile.ZipInfo("/tmp/abs-escape.txt"), b"x")]),
                     "unsafe path", {}),
        "dotdot-listed": (lambda b, o: _craft(b, o, listed={"../escaped.jpg": b"x"}), "unsafe path", {}),
        "symlink-member": (lambda b, o: _craft(b, o, unlisted=[_link("images/" + "a" * 64 + ".jpg", "/etc/passwd")]),
                           "is a link", {}),
        "row-to-etc-shadow": (lambda b, o: _craft(b, o, db=_set_image("/etc/shadow")), "not a file in the bundle", {}),
        "row-traversal": (lambda b, o: _craft(b, o, db=_set_image("images/../../../etc/passwd")),
                          "not a file in the bundle", {}),
        "external-no-folder": (lambda b, o: _external(b, o, "/etc/passwd"), "--images-from", {}),
        "external-etc-passwd": (lambda b, o: _external(b, o, "/etc/passwd"), "outside", {"images_from": [share]}),
        "external-symlink-out": (lambda b, o: _external(b, o, str(share / "evil.jpg")), "outside",
                                 {"images_from": [share]}),
        "trigger-view-table": (lambda b, o: _craft(b, o, db=_plant_schema), None, {}),
        "products-view": (lambda b, o: _craft(b, o, db=_products_as_view), "not a DecorLens catalog", {}),
        "mutated-index": (_mutated_index(corpus), None, {}),
        "truncated-db": (_replace_db(b""), "corrupt|unreadable", {}),
        "not-a-db": (_replace_db(b"SQLite format 3\x00" + bytes(range(256)) * 64), "unreadable|corrupt", {}),
        "bomb": (_bomb(honest=True), "compression bomb", {}),
        "bomb-lying-header": (_bomb(honest=False), "damaged|declared", {}),
        "unlisted-member": (lambda b, o: _craft(b, o, unlisted=[("images/" + "b" * 64 + ".jpg", b"x")]),
                            "not in its manifest", {}),
        "unexpected-member": (lambda b, o: _craft(b, o, listed={"run.sh": b"rm -rf ~"}), "unexpected file", {}),
        "wrong-checksum": (lambda b, o: _craft(b, o, manifest=lambda m: m["files"][image].update(sha256="0" * 64)),
                           "damaged", {}),
        "duplicate-member": (lambda b, o: _craft(b, o, unlisted=[(image, b"other bytes")]), "appears twice", {}),
        "many-members": (_many_members, "claims 250001 files", {}),
        "not-an-image": (lambda b, o: _craft(b, o, listed={fake: not_an_image}, db=_set_image(fake)),
                         "not a usable image", {}),
        "image-pixel-bomb": (lambda b, o: _craft(b, o, listed={bomb_name: bomb_png}, db=_set_image(bomb_name)),
                             "not a usable image", {}),
        "nan-vector": (lambda b, o: _craft(b, o, db=lambda c: c.execute("UPDATE vectors SET vector = ?", (nan,))),
                       "NaN", {}),
        "duplicate-sku": (lambda b, o: _craft(b, o, db=lambda c: c.executescript(
            "CREATE TABLE p2 AS SELECT * FROM products; DROP TABLE products; CREATE TABLE products AS SELECT * FROM p2;"
            "INSERT INTO products (id, sku, name, category, image_path, image_hash, url, price, extra) "
            "SELECT id + 1000, sku, name, category, image_path, image_hash, url, price, extra "
            "FROM p2 LIMIT 1; DROP TABLE p2;")), "duplicate", {}),
        "bad-categories": (lambda b, o: _craft(b, o, listed={"categories.yaml": b"- a list\n- not a map\n"}),
                           "category map", {}),
        "manifest-not-json": (lambda b, o: _replace_manifest(_craft(b, o), b"\xff\xfe{"),
                              "not a DecorLens catalog bundle", {}),
        "manifest-bad-types": (lambda b, o: _craft(b, o, manifest=lambda m: m.update(embedders=["x"])),
                               "invalid 'embedders'", {}),
        # A manifest is bounded by the archive's member count (real ones: ~200 bytes and 3 of "{[," per member):
        # 64 MB of "{}" took 1.6 GB to parse.
        "manifest-of-empty-objects": (lambda b, o: _craft(b, o, manifest=lambda m: m.update(pad=[{}] * 200_000)),
                                      "manifest.json holds 4000.. JSON values for 8 files", {}),
        "manifest-padded": (lambda b, o: _craft(b, o, manifest=lambda m: m.update(pad="x" * (2 << 20))),
                            "manifest.json is 2.* bytes, more than", {}),
        "manifest-huge-integer": (_huge_integer, "not a DecorLens catalog bundle", {}),  # was "unexpected ValueError"
        # `bundle info` and the app's question show the manifest's counts: a manifest that lies about them is refused
        "manifest-claims-products": (lambda b, o: _craft(b, o, manifest=lambda m: m.update(products=1955)),
                                     "lists 1,955 products, its database 6; the bundle is inconsistent", {}),
        "manifest-claims-categories": (lambda b, o: _craft(b, o, manifest=lambda m: m.update(
            categories={f"room {i}": 2 for i in range(3)})), "lists 0 products in category '.*', its database 2", {}),
        "manifest-claims-vectors": (lambda b, o: _craft(b, o, manifest=lambda m: m.update(
            embedders={k: 1955 for k in m["embedders"]})), "lists 1,955 vectors of '.*', its database 6", {}),
        "fifo": (_fifo, "not a regular file", {}),
        "corrupt-deflate": (_corrupt_deflate, "damaged", {}),
        "text-not-utf8": (lambda b, o: _craft(b, o, db=lambda c: c.execute(
            "UPDATE products SET name = CAST(X'fffe41' AS TEXT)")), "UTF-8", {}),
        "map-of-unknown-products": (_with_map(corpus.embedder.key, [10**6]), "places product 1000000", {}),
        "vectors-of-another-size": (lambda b, o: _craft(b, o, db=lambda c: c.execute(
            "UPDATE vectors SET vector = ?", (np.ones(7, np.float32).tobytes(),))),
            "vectors have 7 values", {}),
        "not-a-zip": (lambda b, o: (o.write_bytes(b"PK\x03\x04" + bytes(4096)), o)[1], "not a readable", {}),
        "empty": (lambda b, o: (o.write_bytes(b""), o)[1], "not a readable", {}),
    }


def _with_map(key: str, ids: list[int]) -> Callable[[Path, Path], Path]:
    """A bundle carrying a well-formed catalog map of ``key`` that places the products ``ids``."""

    def build(bundle: Path, out: Path) -> Path:
        meta = json.dumps({"key": "k", "embedder": key, "revision": 1})
        buffer = io.BytesIO()
        xy = np.full((len(ids), 2), 0.5, np.float32)
        np.savez(buffer, ids=np.array(ids, np.int64), xy=xy, meta=np.array(meta))
        name = f"maps/{key}.npz"
        return _craft(bundle, out, listed={name: buffer.getvalue()},
                      manifest=lambda m: m.update(maps={key: name}))

    return build


def _corrupt_deflate(bundle: Path, out: Path) -> Path:
    """The database's compressed bytes damaged in the middle (its manifest checksum still the real one)."""
    _craft(bundle, out)
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("catalog.sqlite")
    data = bytearray(out.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    data[start : start + 32] = bytes(range(200, 232))
    out.write_bytes(bytes(data))
    return out


def _fifo(_bundle: Path, out: Path) -> Path:
    """A named pipe called like a bundle: opening it would wait forever for a writer."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    os.mkfifo(out)
    return out


def _huge_integer(bundle: Path, out: Path) -> Path:
    """A manifest whose product count has 5,000 digits: more than Python converts from text by default."""
    with zipfile.ZipFile(_craft(bundle, out)) as zf:
        text = zf.read("manifest.json").decode()
    return _replace_manifest(out, re.sub(r'"products": \d+', '"products": ' + "9" * 5000, text).encode())


def _replace_manifest(bundle: Path, data: bytes) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["manifest.json"] = data
    with zipfile.ZipFile(bundle, "w") as zf:
        for name, member in members.items():
            zf.writestr(name, member)
    return bundle


def _state(data_dir: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(data_dir / "catalog.sqlite")) as db:  # open, it would stop an import
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT sku, name, category, image_path, image_hash, url FROM products ORDER BY sku").fetchall()
    return rows


def _files(root: Path, skip: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if skip not in p.parents and p != skip}


def _written() -> int | None:
    """Bytes this process has passed to write() so far (Linux), to show a bomb was refused early."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("wchar")))


CASES = (
    "traversal", "absolute", "dotdot-listed", "symlink-member", "row-to-etc-shadow", "row-traversal",
    "external-no-folder", "external-etc-passwd", "external-symlink-out", "trigger-view-table", "products-view",
    "mutated-index", "truncated-db", "not-a-db", "bomb", "bomb-lying-header", "unlisted-member", "unexpected-member",
    "wrong-checksum", "duplicate-member", "many-members", "not-an-image", "nan-vector", "duplicate-sku",
    "bad-categories", "manifest-not-json", "manifest-bad-types", "fifo", "not-a-zip", "empty",
    "corrupt-deflate", "text-not-utf8", "image-pixel-bomb", "map-of-unknown-products",
    "vectors-of-another-size", "manifest-of-empty-objects", "manifest-padded",
    "manifest-huge-integer", "manifest-claims-products", "manifest-claims-categories", "manifest-claims-vectors",
)


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # the duplicate-member case, on purpose
@pytest.mark.parametrize("case", CASES)
def test_hostile_bundle_imports_correctly_or_fails_in_one_line(
    case: str, corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    build, expected, kwargs = _cases(corpus, tmp_path)[case]
    bundle = build(corpus.bundle, tmp_path / f"{case}.dlcat")
    data = tmp_path / "till"
    shutil.copytree(corpus.till, data)
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    before, files_before = _state(data), _files(tmp_path, data)
    written = _written()

    if expected is None:
        result = import_bundle(bundle, data, corpus.embedder)
        assert result.products == 6
        with zipfile.ZipFile(corpus.bundle) as zf, sqlite3.connect(":memory:") as db:
            db.deserialize(zf.read("catalog.sqlite"))
            shipped = {r[0] for r in db.execute("SELECT sku FROM products")}
        assert {row[0] for row in _state(data)} == shipped
        assert all(Path(row[3]).parent == data / IMAGES_DIR for row in _state(data))
    else:
        with pytest.raises(DecorLensError) as err:
            import_bundle(bundle, data, corpus.embedder, **kwargs)
        message = str(err.value)
        assert "\n" not in message and re.search(expected, message), message
        assert _state(data) == before
        assert not (data / IMAGES_DIR).exists()  # the till had none: no image of a refused bundle was adopted
    if written is not None:
        assert _written() - written < 64 << 20  # never near the 256 MiB a bomb holds
    assert _files(tmp_path, data) == files_before  # nothing written outside the data dir
    assert not list(data.glob(".bundle-import-*"))
    with sqlite3.connect(data / "catalog.sqlite") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'evil%'")}
    assert names == set()


def test_planted_trigger_is_not_adopted(corpus: Corpus, tmp_path: Path, exported_models: Path, ikea: Path):
    """A bundle with a trigger that rewrites every later product: products added after import are untouched."""
    bundle = _craft(corpus.bundle, tmp_path / "trigger.dlcat", db=_plant_schema)
    data = tmp_path / "till"
    shutil.copytree(corpus.till, data)
    import_bundle(bundle, data, corpus.embedder)
    till = Pipeline(Settings.defaults().with_(data_dir=data))
    report = till.import_catalog(_product_folder(tmp_path / "later", ikea, per_category=1, offset=10))
    assert report.added == 3
    later = [p for p in till.catalog.products() if p.image_path.startswith(str(tmp_path / "later"))]
    assert len(later) == 3 and all(p.name == Path(p.image_path).stem and p.url == "" for p in later)
    with Catalog(tmp_path / "fresh.sqlite") as fresh:  # what this machine's schema holds
        schema = {tuple(row) for row in fresh.db.execute("SELECT type, name FROM sqlite_master")}
    with sqlite3.connect(data / "catalog.sqlite") as db:
        assert set(db.execute("SELECT type, name FROM sqlite_master")) == schema
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert not db.execute("SELECT COUNT(*) FROM products WHERE url LIKE 'javascript:%'").fetchone()[0]
    till.close()

    again = export_bundle(data, tmp_path / "again.dlcat").path
    with zipfile.ZipFile(again) as zf, sqlite3.connect(":memory:") as db:
        db.deserialize(zf.read("catalog.sqlite"))
        # written at BUNDLE_SCHEMA: the index of a column added later is left out, nothing else
        assert set(db.execute("SELECT type, name FROM sqlite_master")) <= schema
        assert not db.execute("SELECT COUNT(*) FROM products WHERE url LIKE 'javascript:%'").fetchone()[0]

    # a catalog that an older DecorLens let a trigger into does not pass it on either
    with sqlite3.connect(data / "catalog.sqlite") as db:
        _plant_schema(db)
    infected = export_bundle(data, tmp_path / "infected.dlcat").path
    with zipfile.ZipFile(infected) as zf, sqlite3.connect(":memory:") as db:
        db.deserialize(zf.read("catalog.sqlite"))
        assert set(db.execute("SELECT type, name FROM sqlite_master")) <= schema
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert not db.execute("SELECT COUNT(*) FROM products WHERE url LIKE 'javascript:%'").fetchone()[0]


def test_mutated_index_in_a_bundle_never_reaches_search(corpus: Corpus, tmp_path: Path, ikea: Path):
    """The bundle's hnswlib file is not loaded; search runs in a child so a crash would fail this test."""
    bundle = _mutated_index(corpus)(corpus.bundle, tmp_path / "index.dlcat")
    data = tmp_path / "till"
    shutil.copytree(corpus.till, data)
    import_bundle(bundle, data, corpus.embedder)
    query = min((ikea / "products" / "lamp").glob("*.jpg"))
    from PIL import Image

    with Image.open(query) as img:
        box = f"0,0,{img.width},{img.height}"
    done = subprocess.run(
        [sys.executable, "-m", "decorlens", "-q", "--data-dir", str(data), "search", str(query), "--box", box,
         "--category", "lamp", "--json"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    matches = json.loads(done.stdout)["objects"][0]["matches"]
    assert matches and matches[0]["sku"] == query.stem  # the shipped lamp itself, found through the rebuilt index


def test_bundle_from_before_the_file_listing_still_imports(corpus: Corpus, tmp_path: Path):
    """Bundles written before manifests listed every member (with an index folder) import as they did."""
    categories = (Path(__file__).parent.parent / "resources" / "categories.yaml").read_bytes()
    old = _craft(corpus.bundle, tmp_path / "old.dlcat", relist=False, manifest=lambda m: m.pop("files"),
                 unlisted=[("index/x/manifest.json", b"{}"), ("categories.yaml", categories)])
    data = tmp_path / "till"
    shutil.copytree(corpus.till, data)
    result = import_bundle(old, data, corpus.embedder)
    assert result.products == 6 and result.categories_replaced
    assert (data / "categories.yaml").read_bytes() == categories
    assert not (data / "index" / "x").exists()


def test_external_bundle_adopts_only_images_inside_the_named_folder(shop, tmp_path: Path, exported_models: Path):
    store, source = shop
    info = export_bundle(store.data_dir, tmp_path / "shared.dlcat", include_images=False)
    till = _machine(tmp_path, "till", exported_models)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(CatalogError, match="outside"):
        import_bundle(info.path, till.data_dir, till.embedder, images_from=[elsewhere])
    assert not (till.data_dir / "catalog.sqlite").exists()
    result = import_bundle(info.path, till.data_dir, till.embedder, images_from=[source])
    assert result.products == 12


def test_cli_refuses_a_hostile_bundle_in_one_line(corpus: Corpus, tmp_path: Path, capsys):
    evil = _external(corpus.bundle, tmp_path / "evil.dlcat", "/etc/passwd")
    data = tmp_path / "till"
    shutil.copytree(corpus.till, data)
    share = tmp_path / "share"
    share.mkdir()
    before = _state(data)
    code = main(["-q", "--data-dir", str(data), "bundle", "import", str(evil), "--images-from", str(share)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "/etc/passwd" in err and "outside" in err
    assert _state(data) == before


def test_re_embedding_says_which_products_it_could_not_embed(shop, tmp_path: Path):
    """A bundle without images, one of whose photos is gone here: re-embedding counts the products it embedded,
    not those it tried, and warns that the rest cannot be found by search (it said "re-embedded 12")."""
    store, source = shop
    info = export_bundle(store.data_dir, tmp_path / "shared.dlcat", include_images=False)
    gone = min(source.rglob("*.jpg"))
    gone.unlink()
    other = ColourHistogram()
    result = import_bundle(info.path, tmp_path / "other", other, re_embed=True, images_from=[source])
    assert result.missing_images == 1 and result.re_embedded == 11
    assert "re-embedded 11 here" in result.summary()
    assert any(w.startswith(f"1 product has no {other.key} vector") and "catalog rebuild" in w
               for w in result.warnings)


# -- where an export may write --------------------------------------------------------------------


def _products_in(data_dir: Path) -> int:
    with contextlib.closing(sqlite3.connect(data_dir / "catalog.sqlite")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT COUNT(*) FROM products").fetchone()[0]


def test_export_and_map_page_never_overwrite_the_data_dirs_own_files(shop, tmp_path: Path, capsys):
    """``bundle export <data dir>/catalog.sqlite`` wrote the zip over the live catalog (exit 0), and so did
    ``catalog map --html``; both now refuse in one line before writing, and the catalog is intact."""
    store, _ = shop
    store.catalog.close()
    data = store.data_dir
    (data / "categories.yaml").write_text("lamp: [lamp]\n")  # a hand-edited map is the data dir's too
    common = ["-q", "--data-dir", str(data)]
    for own in ("catalog.sqlite", "categories.yaml"):
        for argv in (["bundle", "export", str(data / own)], ["catalog", "map", "--html", str(data / own)]):
            assert main([*common, *argv]) != 0
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "DecorLens's own data" in err and own in err, err
    assert _products_in(data) == 12
    assert (data / "categories.yaml").read_text() == "lamp: [lamp]\n"
    link = tmp_path / "innocent.dlcat"
    link.symlink_to(data / "catalog.sqlite")
    assert main([*common, "bundle", "export", str(link)]) != 0 and "own data" in capsys.readouterr().err
    assert _products_in(data) == 12
    # a new bundle directly in the data dir, and exporting it again, stay allowed
    for _ in range(2):
        assert main([*common, "bundle", "export", str(data / "shop.dlcat")]) == 0
    assert read_bundle(data / "shop.dlcat").products == 12


def test_export_into_an_existing_folder_writes_the_bundle_inside_it(shop, tmp_path: Path, capsys):
    """``bundle export outbox`` with ``outbox/`` a folder wrote ``outbox.dlcat`` beside it."""
    store, _ = shop
    store.catalog.close()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    assert main(["-q", "--data-dir", str(store.data_dir), "bundle", "export", str(outbox)]) == 0
    written = outbox / f"{store.data_dir.name}.dlcat"
    assert written.name in capsys.readouterr().out
    assert read_bundle(written).products == 12 and not (tmp_path / "outbox.dlcat").exists()


# -- an export's steps, and stopping it -----------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256; SQLite's shared-memory index aside (any reader writes it)."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and not path.name.endswith("-shm")}


@dataclass
class _Heard:
    """What an export said: its steps in order, and the counts of each."""

    steps: list[str]
    counts: dict[str, list[tuple[int, int]]]

    def step(self, name: str) -> None:
        self.steps.append(name)
        self.counts[name] = []

    def progress(self, done: int, total: int) -> None:
        self.counts[self.steps[-1]].append((done, total))


def test_an_export_names_its_steps_and_counts_each_up_to_its_end(shop, tmp_path: Path):
    """A large catalog's export ran for minutes under a bar that never moved: it reported nothing."""
    store, _ = shop
    heard = _Heard([], {})
    info = export_bundle(store.data_dir, tmp_path / "store.dlcat", progress=heard.progress, step=heard.step)
    assert heard.steps == list(EXPORT_STEPS) and info.manifest["image_files"] == 12
    assert heard.counts[CHECKING] == [(done, 12) for done in range(13)]  # each product's picture, one by one
    assert heard.counts[WRITING] == [(done, 12) for done in range(1, 13)]  # each into the bundle
    for name in (COPYING, PACKING):  # SQLite pages, then megabytes of the catalog copy
        done = [d for d, _total in heard.counts[name]]
        assert done == sorted(done) and done[-1] == heard.counts[name][-1][1] > 0

    heard = _Heard([], {})
    export_bundle(store.data_dir, tmp_path / "paths.dlcat", include_images=False, progress=heard.progress,
                  step=heard.step)
    assert heard.steps == [COPYING, CHECKING, PACKING]  # no picture to write
    assert heard.counts[CHECKING] == [(done, 12) for done in range(13)]  # each one there


@pytest.mark.parametrize("where", EXPORT_STEPS)
def test_a_cancelled_export_writes_nothing_and_leaves_the_data_dir_as_it_was(
    shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
):
    """Cancel asked in the middle of each step (after five pictures checked, or five written) stops the export
    there: no bundle, no ``.part``, nothing left in the temporary folder, the data dir as it was."""
    store, _ = shop
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    before = _tree(store.data_dir)
    heard = _Heard([], {})
    reports = 5 if where in (CHECKING, WRITING) else 1
    out = tmp_path / "out" / "store.dlcat"

    def cancelled() -> bool:
        return heard.steps[-1] == where and len(heard.counts[where]) >= reports

    with pytest.raises(Cancelled, match=r"^export cancelled; no bundle was written$"):
        export_bundle(store.data_dir, out, progress=heard.progress, cancelled=cancelled, step=heard.step)
    assert heard.steps == list(EXPORT_STEPS[: EXPORT_STEPS.index(where) + 1])
    assert len(heard.counts[where]) == reports
    assert not out.parent.exists()  # neither the bundle nor its .part, nor the folder made for them
    assert not list(system_tmp.iterdir())
    assert _tree(store.data_dir) == before
    assert export_bundle(store.data_dir, out).products == 12  # and the next export goes through


def test_ctrl_c_stops_a_cli_export_that_waits_for_a_locked_catalog_and_writes_nothing(shop, tmp_path: Path):
    """Ctrl-C (a real SIGINT, to a real ``decorlens bundle export``) stops the export between two of its parts,
    as it stops ``tag`` between photos: here while it waits for a catalog another program holds locked (it
    waited 30 s before it looked again), and nothing is written."""
    store, _ = shop
    store.catalog.close()
    data = store.data_dir
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    out = tmp_path / "out" / "store.dlcat"
    before = _tree(data)  # not while locked: closing any file of the catalog ends this process's locks on it
    with contextlib.closing(sqlite3.connect(data / "catalog.sqlite", isolation_level=None)) as holder:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE meta SET value = value")  # held locked until rolled back: no reader gets in
        export = subprocess.Popen(
            [sys.executable, "-m", "decorlens", "--data-dir", str(data), "bundle", "export", str(out)],
            stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(system_tmp)})
        while not list(system_tmp.glob("decorlens-export-*/catalog.sqlite")):  # its snapshot has begun
            assert export.poll() is None, export.communicate()
            time.sleep(0.05)
        export.send_signal(signal.SIGINT)
        try:
            _, err = export.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # it let the signal wait for the lock
            export.kill()
            raise
        holder.execute("ROLLBACK")
    assert export.returncode == 130, err
    assert err.splitlines() == ["stopping after this step (Ctrl-C again to abort now)",
                                "decorlens: export cancelled; no bundle was written"], err
    assert not out.parent.exists() and not list(system_tmp.iterdir())
    assert _tree(data) == before


# -- an import's steps, and stopping it -----------------------------------------------------------


def _till(tmp_path: Path, exported_models: Path, ikea: Path) -> Path:
    """A till's data dir with a catalog of its own (6 products), closed, as a bundle import finds it."""
    till = _machine(tmp_path, "till", exported_models)
    till.import_catalog(_product_folder(tmp_path / "old-photos", ikea, per_category=2, offset=8))
    till.close()
    return till.data_dir


def _as_it_was(data_dir: Path, before: dict[str, str]) -> None:
    """The data dir byte for byte as ``before``, but for the import's lock file: empty, and left on purpose
    (``engine.files.exclusive``: deleting a lock file lets two processes lock two different files)."""
    assert _tree(data_dir) == {**before, IMPORT_LOCK: hashlib.sha256(b"").hexdigest()}
    assert not list_backups(data_dir / "catalog.sqlite")


def test_an_import_names_its_steps_and_counts_each_up_to_its_end(shop, tmp_path: Path, exported_models: Path,
                                                                 ikea: Path):
    """An import of a large catalog ran for minutes under one bar that moved only while it re-embedded: it named no
    step and counted nothing else."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    heard = _Heard([], {})
    result = import_bundle(bundle, _till(tmp_path, exported_models, ikea), store.embedder, progress=heard.progress,
                           step=heard.step)
    assert result.products == 12 and result.images_added == 12
    assert heard.steps == [UNPACKING, CHECKING, ADDING, INDEXING, REPLACING]  # nothing to re-embed
    megabytes = [done for done, _total in heard.counts[UNPACKING]]
    assert megabytes == sorted(set(megabytes)) and megabytes[-1] == heard.counts[UNPACKING][-1][1] > 0
    assert heard.counts[CHECKING] == [(done, 12) for done in range(13)]  # each product and its picture
    assert heard.counts[ADDING] == [(done, 12) for done in range(1, 13)]  # each picture moved in
    assert heard.counts[INDEXING] == heard.counts[REPLACING] == []  # not counted

    heard = _Heard([], {})
    other = ColourHistogram()  # a machine with another embedder: its vectors are computed here
    import_bundle(bundle, tmp_path / "other", other, re_embed=True, progress=heard.progress, step=heard.step)
    assert heard.steps == list(IMPORT_STEPS)
    assert heard.counts[EMBEDDING][-1] == (12, 12)


@pytest.mark.parametrize("where", [step for step in IMPORT_STEPS if step != REPLACING])
def test_a_cancelled_import_leaves_the_catalog_and_the_data_dir_as_they_were(
    shop, tmp_path: Path, exported_models: Path, ikea: Path, where: str
):
    """Cancel asked in the middle of each step (after five products checked, or five pictures moved in) stops the
    import there, re-embedding or not: the data dir byte for byte as it was, no staging folder, no picture added,
    no backup taken; and the next import goes through."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    data = _till(tmp_path, exported_models, ikea)
    before = _tree(data)
    heard = _Heard([], {})
    reports = {CHECKING: 5, ADDING: 5, INDEXING: 0}.get(where, 1)

    def cancelled() -> bool:
        return heard.steps[-1] == where and len(heard.counts[where]) >= reports

    with pytest.raises(Cancelled, match=r"^import cancelled; the catalog is unchanged$"):
        import_bundle(bundle, data, ColourHistogram(), re_embed=True, progress=heard.progress, cancelled=cancelled,
                      step=heard.step)
    assert heard.steps == list(IMPORT_STEPS[: IMPORT_STEPS.index(where) + 1])
    assert len(heard.counts[where]) == reports
    _as_it_was(data, before)
    assert import_bundle(bundle, data, ColourHistogram(), re_embed=True).products == 12


def test_cancel_asked_while_the_catalog_is_replaced_comes_too_late_and_the_new_catalog_is_whole(
    shop, tmp_path: Path, exported_models: Path, ikea: Path
):
    """The last step (the old catalog backed up, the new one swapped in) is never stopped: a backup taken, then
    thrown away, could have pushed an older one out of the newest five."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    data = _till(tmp_path, exported_models, ikea)
    heard = _Heard([], {})
    result = import_bundle(bundle, data, store.embedder, progress=heard.progress, step=heard.step,
                           cancelled=lambda: heard.steps[-1] == REPLACING)
    assert heard.steps[-1] == REPLACING and result.products == 12 and result.previous is not None
    with Catalog(data / "catalog.sqlite") as catalog:
        assert {p.sku for p in catalog.products()} == {p.sku for p in store.catalog.products()}
    assert not list(data.glob(".bundle-import-*"))


# A real ``decorlens bundle import``, held once where the test says (its first picture's check, or the start of the
# catalog's replacement) until the test has signalled it: the signal then lands there every time (an import of 12
# products is over in a second).
_HELD_IMPORT = """
import sys
import engine.bundle
from decorlens.main import main

where = sys.argv.pop(1)
work = getattr(engine.bundle, where)
held = []

def when_told(*args):
    if not held:
        held.append(print(where, flush=True))
        sys.stdin.readline()
    return work(*args)

setattr(engine.bundle, where, when_told)
sys.exit(main(sys.argv[1:]))
"""


def _held_import(data: Path, bundle: Path, where: str) -> subprocess.Popen:
    """``decorlens bundle import`` held at ``where`` (a function of engine.bundle), once it has got there."""
    cli = subprocess.Popen([sys.executable, "-c", _HELD_IMPORT, where, "--data-dir", str(data), "bundle", "import",
                            str(bundle)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, cwd=Path(__file__).parent.parent)
    assert cli.stdout.readline() == f"{where}\n", cli.communicate()
    return cli


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_a_cli_import_between_two_pictures_with_the_catalog_unchanged(
    shop, tmp_path: Path, exported_models: Path, ikea: Path, sent: signal.Signals
):
    """Ctrl-C (a real SIGINT) or SIGTERM to a real ``decorlens bundle import`` stopped it only while it re-embedded;
    otherwise it went on to the end, or died in the middle of a step. It now stops between two pictures as
    ``tag`` does, exits 130, and leaves the catalog and the data dir as they were."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    data = _till(tmp_path, exported_models, ikea)
    before = _tree(data)
    cli = _held_import(data, bundle, "_check_image")
    try:
        cli.send_signal(sent)
        out, err = cli.communicate("go on\n", timeout=120)
    finally:
        cli.kill()
    why = "asked to end" if sent == signal.SIGTERM else "Ctrl-C again to abort now"
    assert cli.returncode == 130, err
    assert err.splitlines() == [f"stopping after this step ({why})",
                                "decorlens: import cancelled; the catalog is unchanged"], err
    assert out == ""
    _as_it_was(data, before)


def test_ctrl_c_while_a_cli_import_replaces_the_catalog_comes_too_late_and_says_so(
    shop, tmp_path: Path, exported_models: Path, ikea: Path
):
    """Past its last point of stopping (the old catalog is backed up, the new one swapped in), Ctrl-C does not stop
    the import, not even a second one, which would abort the process in the middle of the swap: it finishes, whole,
    and says the stop came too late."""
    store, _ = shop
    bundle = export_bundle(store.data_dir, tmp_path / "store.dlcat").path
    data = _till(tmp_path, exported_models, ikea)
    cli = _held_import(data, bundle, "_keep_categories")  # the first thing the last step does
    too_late = "replacing the catalog: too late to stop, it takes a moment\n"
    try:
        for _ in range(2):  # each once the one before was heard: two signals at once may arrive as one
            cli.send_signal(signal.SIGINT)
            assert cli.stderr.readline() == too_late
        out, err = cli.communicate("go on\n", timeout=120)
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    assert err.splitlines() == ["asked to stop after the last point the import can stop at: it finished"], err
    assert out.startswith("imported 12 products")
    with Catalog(data / "catalog.sqlite") as catalog:
        assert catalog.count() == 12
    assert len(list_backups(data / "catalog.sqlite")) == 1 and not list(data.glob(".bundle-import-*"))


def test_same_rows_reads_text_that_is_not_utf8(tmp_path: Path):
    """Two catalogs alike to the byte, one cell of hand-written text not UTF-8 in both, are the same rows (a bundle
    imported again takes no extra backup for them); that cell differing still makes them differ. Reading it as text
    failed ("Could not decode to UTF-8"), which read as "cannot be read": a backup taken each time."""
    one, two = tmp_path / "one.sqlite", tmp_path / "two.sqlite"
    Catalog(one).close()
    with contextlib.closing(sqlite3.connect(one)) as src, contextlib.closing(sqlite3.connect(two)) as dst:
        src.backup(dst)
    for path, byte in ((one, "ff"), (two, "ff")):
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute(f"INSERT INTO meta (key, value) VALUES ('note', CAST(x'{byte}' AS TEXT))")
    assert _same_rows(one, two)
    with contextlib.closing(sqlite3.connect(two)) as db, db:
        db.execute("UPDATE meta SET value = CAST(x'fe' AS TEXT) WHERE key = 'note'")
    assert not _same_rows(one, two)
