"""Catalog import, re-import, removal, and what survives a kill or a corrupt file.

Uses the real MobileNetV2 embedder and real IKEA product photos, with SQLite and hnswlib on disk.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from decorlens.main import main
from engine.backups import KEEP, list_backups
from engine.catalog import LOCK_TIMEOUT_ENV, WAITED, WAITING, Catalog, CatalogBusyError, Product
from engine.errors import Cancelled, CatalogError
from engine.importer import read_source
from engine.index import CatalogIndex
from engine.pipeline import Pipeline
from engine.settings import Settings

CATEGORIES = ("lamp", "sofa", "rug")
ROOT = Path(__file__).resolve().parent.parent


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


def test_products_can_be_listed_for_a_map_selection_of_any_size(pipe: Pipeline, product_folder: Path):
    """The Map tab's selection shown in the Catalog tab: SKUs chosen on the map, thousands of them from a rubber
    band, more than SQLite's limit of variables in one statement; names and SKUs are data, never SQL."""
    pipe.import_catalog(product_folder)
    catalog = pipe.catalog
    lamps = [p.sku for p in catalog.products("lamp")]
    chosen = [lamps[0], lamps[3], next(p.sku for p in catalog.products("rug"))]
    noise = [f"no-such-{i}" for i in range(40_000)] + ["x' OR '1'='1", '"]', "%"]
    listed = catalog.products(skus=noise + chosen)
    assert sorted(p.sku for p in listed) == sorted(chosen)
    assert [p.sku for p in catalog.products("lamp", skus=chosen)] == [lamps[0], lamps[3]]
    assert [p.sku for p in catalog.products(text=lamps[3], skus=chosen)] == [lamps[3]]
    assert catalog.products(skus=[]) == [] and len(catalog.products()) == 18


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


def test_shopify_variant_and_photo_rows_continue_their_product(tmp_path: Path):
    """Shopify writes a product's title and type on its first row only: its variants (a SKU, a price) and further
    photos (an Image Src alone) follow on rows of its Handle, and each was skipped ("no category", "no sku/id")."""
    export = tmp_path / "products_export.csv"
    export.write_text(
        "Handle,Title,Product Type,Option1 Value,Variant SKU,Variant Price,Image Src\n"
        "comfy-sofa,Comfy sofa,Sofas,Grey,S-1,499.00,sofa.jpg\n"
        "comfy-sofa,,,Blue,S-2,509.00,\n"  # a variant: the product's name, type and photo
        "comfy-sofa,,,,,,sofa-back.jpg\n"  # a further photo: no product of its own
        "tall-lamp,Tall lamp,Lamps,,,29.00,lamp.jpg\n"  # no Variant SKU: known by its Handle
    )
    rows = read_source(export)
    assert [(r.sku, r.name, r.category, Path(r.image).name, r.price, r.skip) for r in rows] == [
        ("S-1", "Comfy sofa - Grey", "Sofas", "sofa.jpg", "499.00", ""),
        ("S-2", "Comfy sofa - Blue", "Sofas", "sofa.jpg", "509.00", ""),  # a variant is named by its options
        ("tall-lamp", "Tall lamp", "Lamps", "lamp.jpg", "29.00", ""),
    ]
    assert rows[1].extra == {"Handle": "comfy-sofa", "Option1 Value": "Blue"}


def test_a_new_name_or_price_counts_as_updated_and_keeps_the_vector(pipe: Pipeline, product_folder: Path,
                                                                      tmp_path: Path):
    """Only a new image or category re-embeds, and the report counted nothing else: a feed that renamed a
    product and repriced another said "0 updated, 2 unchanged" while storing both."""
    lamps = sorted((product_folder / "lamp").glob("*.jpg"))[:3]
    feed = tmp_path / "feed.csv"

    def write(names: list[str], prices: list[str]) -> None:
        rows = "".join(f"L-{i},{n},lamp,{p},{lamp}\n" for i, (n, p, lamp) in enumerate(zip(names, prices, lamps)))
        feed.write_text("sku,title,category,price,image\n" + rows, encoding="utf-8")

    write(["Lamp", "Lamp", "Lamp"], ["10", "10", "10"])
    pipe.import_catalog(feed)
    before = dict(_vectors(pipe))
    write(["Tall lamp", "Lamp", "Lamp"], ["10", "12", "10"])
    report = pipe.import_catalog(feed)
    assert (report.added, report.updated, report.unchanged) == (0, 2, 1)
    assert (pipe.catalog.get_by_sku("L-0").name, pipe.catalog.get_by_sku("L-1").price) == ("Tall lamp", "12")
    assert all(np.array_equal(before[s], v) for s, v in _vectors(pipe))


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
    with pytest.raises(CatalogError, match=r"is damaged \(file is not a database\); it has no backups: move it aside"):
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


CLOSE_WHILE_READING = """
import sys, threading
from pathlib import Path
from engine.catalog import Catalog

catalog = Catalog(Path(sys.argv[1]))
errors = set()
for _ in range(30):
    reading = True

    def read():
        while reading:
            try:
                catalog.count()
                catalog.category_counts()
            except Exception as exc:
                errors.add(type(exc).__name__)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    catalog.count()  # the readers are under way by the time this thread has read too
    catalog.close()
    reading = False
    for reader in readers:
        reader.join()
print(sorted(errors))
"""


def test_closing_the_catalog_while_other_threads_read_it_is_an_error_there_not_a_crash(tmp_path: Path):
    """The app's quit (and a bundle import, a restore) closes every thread's connection while workers may still be
    reading: that crashed the process (a segfault in CI). A read cut off now fails in its thread, in Python."""
    _small_catalog(tmp_path / "c.sqlite").close()
    run = subprocess.run([sys.executable, "-c", CLOSE_WHILE_READING, str(tmp_path / "c.sqlite")],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1], check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() in ("[]", "['ProgrammingError']")


def _catch(errors: list[BaseException], work, *args) -> None:
    try:
        work(*args)
    except BaseException as exc:  # surfaced by the test thread
        errors.append(exc)


# -- writers: the lock, backups, restore, paths, failed embeddings --------------------------------


def _small_catalog(path: Path, n: int = 3) -> Catalog:
    """``n`` products with stand-in vectors: what the lock and backup code sees is the same."""
    cat = Catalog(path)
    with cat.transaction() as rev:
        for i in range(n):
            pid = cat.upsert(Product(f"sku{i}", f"p{i}", "lamp", f"/x/{i}.jpg", f"h{i}"), rev).id
            cat.put_vectors("k", [(pid, f"h{i}", np.full(4, i + 1.0))], rev)
    return cat


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's import, as SQLite sees it
    return other


def test_second_writer_waits_with_a_message_then_gives_a_one_line_error(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    _small_catalog(path).close()
    other = _hold_write_lock(path)
    messages: list[str] = []
    second = Catalog(path, log=messages.append, lock_timeout=0.2)
    with pytest.raises(CatalogBusyError, match="another DecorLens has been writing the catalog") as caught:
        second.remove(["sku0"])
    assert messages == [WAITING] and "\n" not in str(caught.value)
    other.execute("ROLLBACK")
    assert second.count() == 3 and second.remove(["sku0"]) == 1


def test_waiting_writer_goes_ahead_once_the_other_finishes(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    _small_catalog(path).close()
    other = _hold_write_lock(path)
    other.execute("DELETE FROM products WHERE sku = 'sku2'")
    messages: list[str] = []

    def told(message: str) -> None:  # the other writer commits as soon as we say we are waiting
        messages.append(message)
        if message == WAITING:
            other.execute("COMMIT")

    assert Catalog(path, log=told, lock_timeout=60).remove(["sku0", "sku2"]) == 1
    assert messages == [WAITING, WAITED] and Catalog(path).count() == 1


def test_cli_writer_during_another_write_prints_one_error_line(tmp_path: Path):
    data = tmp_path / "data"
    _small_catalog(data / "catalog.sqlite").close()
    other = _hold_write_lock(data / "catalog.sqlite")
    done = subprocess.run(
        [sys.executable, "-m", "decorlens", "--data-dir", str(data), "catalog", "remove", "sku1"],
        check=False, capture_output=True, text=True, cwd=ROOT, env={**os.environ, LOCK_TIMEOUT_ENV: "0.5"},
        timeout=120,
    )
    other.execute("ROLLBACK")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "waiting for another DecorLens" in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "try again when it has finished" in errors[0]


def test_remove_backs_up_first_and_only_the_newest_backups_are_kept(tmp_path: Path):
    cat = _small_catalog(tmp_path / "catalog.sqlite", n=8)
    for i in range(7):
        assert cat.remove([f"sku{i}"]) == 1
    kept = list_backups(cat.path)
    assert len(kept) == KEEP and {b.reason for b in kept} == {"remove"}
    assert [b.products() for b in kept] == [2, 3, 4, 5, 6]  # newest first: before the 7th removal … the 3rd
    assert cat.remove(["no-such-sku"]) == 0 and len(list_backups(cat.path)) == KEEP
    with sqlite3.connect(kept[0].path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file


def test_cli_restore_lists_restores_and_keeps_the_replaced_catalog(tmp_path: Path, capsys):
    data = tmp_path / "data"
    cat = _small_catalog(data / "catalog.sqlite")
    index = CatalogIndex(data / "index", "k", 4)
    index.sync(cat)
    cat.remove(["sku1"])
    index.sync(cat)
    assert main(["--data-dir", str(data), "catalog", "restore"]) == 0
    listing = capsys.readouterr().out
    backup = list_backups(cat.path)[0]
    assert backup.name in listing and "3 products" in listing and "remove" in listing
    assert main(["--data-dir", str(data), "catalog", "restore", backup.name]) == 0
    assert "restored 3 products" in capsys.readouterr().out
    assert sorted(p.sku for p in cat.products()) == ["sku0", "sku1", "sku2"]
    assert [b.reason for b in list_backups(cat.path)][:2] == ["before-restore", "remove"]
    assert list_backups(cat.path)[0].products() == 2
    restored = cat.get_by_sku("sku1")
    hits = index.search(cat, np.full((1, 4), 2.0, np.float32), None, 3)[0]  # an index opened before catches up
    assert sorted(pid for pid, _ in hits) == sorted(p.id for p in cat.products()) and restored.id in dict(hits)
    assert main(["--data-dir", str(data), "catalog", "restore", "no-such-backup"]) == 2


def test_restore_refuses_the_live_catalog_as_its_own_backup(tmp_path: Path, capsys):
    """`catalog restore <data dir>/catalog.sqlite` waited two minutes on its own lock, then blamed "another
    DecorLens", and took a useless backup each try."""
    data = tmp_path / "data"
    cat = _small_catalog(data / "catalog.sqlite")
    assert main(["-q", "--data-dir", str(data), "catalog", "restore", str(data / "catalog.sqlite")]) == 2
    assert "is the catalog itself, not a backup" in capsys.readouterr().err
    assert list_backups(cat.path) == [] and cat.count() == 3


def test_restoring_the_oldest_of_a_full_set_of_backups_keeps_it_until_restored(tmp_path: Path):
    cat = _small_catalog(tmp_path / "catalog.sqlite", n=KEEP + 1)
    for i in range(KEEP):
        cat.remove([f"sku{i}"])
    oldest = list_backups(cat.path)[-1]
    assert oldest.products() == KEEP + 1
    assert cat.restore_from(oldest.path) == KEEP + 1
    assert oldest.path.exists()  # not pruned by the before-restore backup taken first


def test_restore_refuses_a_file_that_is_not_a_catalog(tmp_path: Path):
    cat = _small_catalog(tmp_path / "catalog.sqlite")
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"SQLite format 3\x00" + b"\x01" * 4000)
    with pytest.raises(CatalogError, match="not a readable DecorLens catalog backup|damaged"):
        cat.restore_from(bogus)
    assert cat.count() == 3


def test_relative_image_paths_are_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    cat = Catalog(tmp_path / "catalog.sqlite")
    with cat.transaction() as rev:
        cat.upsert(Product("a", "a", "lamp", "imgs/../imgs/a.jpg", "h"), rev)
        with pytest.raises(CatalogError, match="relative path that does not exist"):
            cat.upsert(Product("b", "b", "lamp", "imgs/missing.jpg", "h"), rev)
    assert cat.get_by_sku("a").image_path == str(tmp_path / "imgs" / "a.jpg")


def test_embedder_switch_names_products_it_cannot_embed(pipe: Pipeline, product_folder: Path, tmp_path: Path):
    src = tmp_path / "src"
    shutil.copytree(product_folder, src)
    pipe.import_catalog(src)
    gone = min((src / "rug").glob("*.jpg"))
    gone.unlink()  # the product photo moved away since the import
    pipe.catalog.db.execute("DELETE FROM vectors")  # as a newly activated embedder sees the catalog
    messages: list[str] = []
    pipe.log = messages.append
    assert pipe.prepare_matcher() == 17
    assert f"embedded 17 of 18 products for {pipe.embedder.key}" in messages
    assert any(m.startswith(f"could not embed {gone.stem}:") and gone.name in m for m in messages)
    assert [b.reason for b in list_backups(pipe.catalog.path)] == ["re-embed"]
    assert pipe.prepare_matcher() == 0 and list_backups(pipe.catalog.path)[1:] == []  # switch backups only


def test_a_trigger_planted_by_an_old_bundle_import_is_dropped_on_open(tmp_path: Path):
    """Catalogs that imported a hostile bundle before bundles were read row by row still hold its trigger."""
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TRIGGER evil AFTER INSERT ON products BEGIN "
        "UPDATE products SET name = '<img src=x onerror=alert(1)>' WHERE id = NEW.id; END"
    )
    db.execute("CREATE VIEW peek AS SELECT * FROM products")
    db.commit()
    db.close()
    notes: list[str] = []
    catalog = Catalog(path, log=notes.append)
    kinds = {r[0] for r in catalog.db.execute("SELECT type FROM sqlite_master")}
    assert not kinds & {"trigger", "view"}
    assert notes and "trigger" in notes[0]
    catalog.close()


def test_write_atomic_sweeps_the_temp_files_a_killed_writer_left(tmp_path: Path):
    from engine.files import STALE_TEMP_SECONDS, write_atomic

    target = tmp_path / "summary [1].csv"
    old = tmp_path / ".summary [1].csv.abc123.tmp"  # as mkstemp names them; [] must not glob
    fresh = tmp_path / ".summary [1].csv.def456.tmp"  # another writer, still at work
    for leftover in (old, fresh):
        leftover.write_text("half")
    past = old.stat().st_mtime - STALE_TEMP_SECONDS - 60
    os.utime(old, (past, past))
    write_atomic(target, "sku\n")
    assert target.read_text() == "sku\n"
    assert not old.exists() and fresh.exists()


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A folder that cannot be written, with a closed catalog in it: made read-only by its permissions, or
    (as root, whom permissions do not stop) by a read-only bind mount when the system allows one."""
    made = tmp_path / "made"
    with Catalog(made / "catalog.sqlite") as catalog, catalog.transaction() as revision:
        catalog.upsert(Product("A1", "lamp", "lamp", "/photos/a1.jpg"), revision)
    folder = tmp_path / "read-only"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0:
        bound = subprocess.run(["mount", "--bind", str(made), str(folder)], capture_output=True, check=False)
        mounted = bound.returncode == 0
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True, check=False)
    else:
        shutil.copy(made / "catalog.sqlite", folder)
        folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("no read-only folder can be made here (root without mount)")
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        folder.chmod(0o755)


def test_a_catalog_in_a_read_only_folder_says_so_not_that_it_is_damaged(read_only_folder: Path):
    """SQLite opens a WAL catalog by writing beside it; in a read-only folder it said only "unable to open
    database file", and the line read "… is not a readable DecorLens catalog", as if it were damaged."""
    with pytest.raises(CatalogError, match="is in a read-only folder") as info:
        Catalog(read_only_folder / "catalog.sqlite")
    assert "not a readable" not in str(info.value)


def test_list_search_takes_percent_and_underscore_literally(tmp_path: Path):
    """``catalog list --search _`` listed every product: LIKE's wildcards are the user's characters."""
    cat = Catalog(tmp_path / "catalog.sqlite")
    with cat.transaction() as rev:
        for sku, name in (("A_1", "Lamp"), ("B1", "Sofa 50%"), ("C1", "Rug")):
            cat.upsert(Product(sku, name, "lamp", f"/x/{sku}.jpg", f"h{sku}"), rev)
    assert [p.sku for p in cat.products(text="_")] == ["A_1"]
    assert [p.sku for p in cat.products(text="%")] == ["B1"]
    assert [p.sku for p in cat.products(text="\\")] == []
    assert [p.sku for p in cat.products(text="a_")] == ["A_1"]  # still case-insensitive, as LIKE is


def test_ctrl_c_while_the_index_catches_up_says_the_import_was_saved(tmp_path: Path, product_folder: Path):
    """Ctrl-C after the commit (the index sync) was reported as "nothing half-written was kept" while every
    product had been saved. Here the interrupt comes from the log line of the index rebuild that the sync
    starts (a compact_at the saved index does not meet), as a Ctrl-C there would."""
    data = tmp_path / "data"
    first = tmp_path / "first"
    shutil.copytree(product_folder / "lamp", first / "lamp")
    Pipeline(Settings.defaults().with_(data_dir=data)).import_catalog(first)

    def interrupt(message: str) -> None:
        raise KeyboardInterrupt

    second = tmp_path / "second"
    shutil.copytree(product_folder / "rug", second / "rug")
    interrupted = Pipeline(Settings.defaults().with_(data_dir=data, compact_at=1), log=interrupt)
    with pytest.raises(Cancelled, match=r"interrupted after the import was saved \(the catalog has 12 products\)"):
        interrupted.import_catalog(second)
    later = Pipeline(Settings.defaults().with_(data_dir=data))
    rug = later.catalog.get_by_sku(next((second / "rug").glob("*.jpg")).stem)
    index = later.index_for(later.embedder)
    assert rug is not None and index.revision < later.catalog.revision  # the sync did not finish
    vector = next(v for pid, _, v in later.catalog.vectors(later.embedder.key, since=0) if pid == rug.id)
    assert index.search(later.catalog, vector[None], None, 1)[0][0][0] == rug.id  # the next search catches up
