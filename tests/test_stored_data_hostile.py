"""A data dir written by an older DecorLens or edited by hand holds what today's import refuses: every way out
(bundles, pages, exports, the CLI) treats the stored rows as hostile. The rows are written straight into
catalog.sqlite with sqlite3, as a hand edit would."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import pytest
from lamp_shop import run_cli

from engine.bundle import export_bundle, import_bundle
from engine.catalog_map import CatalogMap
from engine.errors import CatalogError
from engine.importer import feed_path, file_url_path
from engine.pipeline import Pipeline
from engine.remedies import in_app

HOSTILE_NAME = "<b>Bold</b> <img src=x onerror=alert(1)>\nsecond line\u202etxet\x1b[31m"


@pytest.fixture
def shop(fresh_pipeline: Pipeline, tmp_path: Path, ikea: Path) -> Pipeline:
    """Three real lamps imported from a folder, as a store's catalog would be."""
    folder = tmp_path / "photos" / "lamp"
    folder.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, folder / image.name)
    report = fresh_pipeline.import_catalog(folder.parent)
    assert report.added == 3, report.summary()
    return fresh_pipeline


def _edit(data_dir: Path, sql: str, *params: object) -> None:
    """A hand edit of the stored catalog, past every check of the import."""
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        db.execute(sql, params)
    db.close()


def test_export_refuses_a_stored_non_picture_even_with_its_own_hash(shop: Pipeline, tmp_path: Path):
    """A row naming a key file, with that file's sha256 as its image hash, looked unchanged since its import:
    the bundle shipped the key. Every picture's header is now checked before it is packed."""
    secret = tmp_path / "home" / ".ssh" / "id_ed25519"
    secret.parent.mkdir(parents=True)
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    shop.close()
    _edit(shop.data_dir, "UPDATE products SET image_path = ?, image_hash = ?, name = ? WHERE id = 1",
          str(secret), digest, HOSTILE_NAME)
    out = tmp_path / "out.dlcat"
    with pytest.raises(CatalogError, match=r"1 product images cannot be read \(.*id_ed25519: not an image"):
        export_bundle(shop.data_dir, out)
    assert not out.exists()


def test_import_refuses_images_from_the_disk_home_or_the_data_dirs_folder(
    shop: Pipeline, tmp_path: Path, exported_models: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch
):
    """``--images-from /`` let a bundle without images make any picture on the disk a product (a private photo
    in the home folder, shown in the app and shipped by the next export): refused like ``--data-dir /``, as are
    the home folder and a folder holding the data dir; the shop's own photo folder still works."""
    bundle = export_bundle(shop.data_dir, tmp_path / "shared.dlcat", include_images=False).path
    home = tmp_path / "home"
    till = home / "till"
    shutil.copytree(exported_models, till / "models")
    monkeypatch.setenv("HOME", str(home))
    cases = {"/": "it is the whole disk", str(home): "it is your home folder", str(tmp_path): "it holds the data dir"}
    for folder, why in cases.items():
        code, _out, err = run_cli(till, shared_models, "bundle", "import", str(bundle), "--images-from", folder)
        said = f"decorlens: error: --images-from {folder}: {why}; name the shared folder the bundle's pictures are in"
        assert (code, err.strip()) == (2, said)
    with pytest.raises(CatalogError, match="it is the whole disk") as refused:
        import_bundle(bundle, till, images_from=[home / ".." / ".." / ".." / ".." / ".." / ".." / ".." / ".."])
    assert in_app(str(refused.value)).startswith(f"The pictures folder {home}/../"), in_app(str(refused.value))
    assert not (till / "catalog.sqlite").exists()
    assert import_bundle(bundle, till, images_from=[tmp_path / "photos"]).products == 3


WINDOWS_FEED = PureWindowsPath("D:/shop/feed")
POSIX_FEED = PurePosixPath("/shop/feed")


@pytest.mark.parametrize(("image", "windows", "posix"), [
    ("\\\\server\\share\\photo.jpg", "\\\\server\\share\\photo.jpg", "Windows path"),
    ("//server/share/photo.jpg", "\\\\server\\share\\photo.jpg", "//server/share/photo.jpg"),
    ("C:\\photos\\x.jpg", "C:\\photos\\x.jpg", "Windows path"),
    ("C:/photos/x.jpg", "C:\\photos\\x.jpg", "Windows path"),
    ("C:x.jpg", "drive's current folder", "Windows path"),
    ("\\photos\\x.jpg", "drive's current folder", "Windows path"),
    ("photos/x.jpg", "D:\\shop\\feed\\photos\\x.jpg", "/shop/feed/photos/x.jpg"),
    ("/srv/x.jpg", "drive's current folder", "/srv/x.jpg"),
])
def test_feed_image_paths_are_read_as_the_platform_reads_them(image: str, windows: str, posix: str):
    """A feed's Windows path was taken on Linux for a name in the feed's folder, and on Windows "C:x.jpg" named a
    file relative to the drive's current folder, outside the feed's: each flavour now reads it as its system does,
    and a path it cannot read is one line saying why."""
    for base, expected in ((WINDOWS_FEED, windows), (POSIX_FEED, posix)):
        if expected.startswith(("\\", "/", "C:", "D:")):
            assert str(feed_path(image, base)) == expected
        else:
            with pytest.raises(CatalogError, match=expected) as refused:
                feed_path(image, base)
            assert str(refused.value).startswith(image + ": ") and "\n" not in str(refused.value)


def test_file_urls_are_local_paths():
    assert file_url_path("file://server/share/x%20y.jpg") == "//server/share/x y.jpg"
    assert file_url_path("file:///C:/photos/x.jpg") == "C:/photos/x.jpg"
    assert file_url_path("file://localhost/srv/x.jpg") == "/srv/x.jpg"
    assert str(feed_path(file_url_path("file://server/share/x.jpg"), WINDOWS_FEED)) == "\\\\server\\share\\x.jpg"


def test_a_feed_of_windows_paths_skips_each_row_in_one_line_here(fresh_pipeline: Pipeline, tmp_path: Path,
                                                                   ikea: Path):
    """On Linux nothing is fetched or looked for in the feed's folder: each row says it is a Windows path (or,
    for //server/share, not found), and a file: URL of a local photo imports."""
    feed = tmp_path / "feed"
    feed.mkdir()
    photo = shutil.copy(next((ikea / "products" / "lamp").glob("*.jpg")), feed / "ok.jpg")
    rows = {"U1": "\\\\server\\share\\photo.jpg", "U2": "//server/share/photo.jpg", "D1": "C:\\photos\\x.jpg",
            "D2": "C:x.jpg", "F1": "file://server/share/x.jpg", "F2": f"file://{photo}", "F3": "file:///C:/x.jpg"}
    (feed / "feed.csv").write_text("sku,category,image\n" + "".join(f"{sku},lamp,{image}\n"
                                                                   for sku, image in rows.items()), encoding="utf-8")
    report = fresh_pipeline.import_catalog(feed / "feed.csv")
    assert report.added == 1 and fresh_pipeline.catalog.get_by_sku("F2").image_path == str(photo)
    windows = "no such file here (a Windows path, read on Windows only; give this machine's path)"
    assert dict(report.skipped) == {
        "U1": f"{rows['U1']}: {windows}", "U2": "//server/share/photo.jpg: no such file",
        "D1": f"{rows['D1']}: {windows}", "D2": f"C:x.jpg: {windows}", "F1": "//server/share/x.jpg: no such file",
        "F3": f"C:/x.jpg: {windows}",
    }


@pytest.mark.gui
def test_the_catalog_tab_shows_stored_text_as_one_short_plain_line(shop: Pipeline, main_window, qtbot):
    """A hand-edited catalog's 20,000-character name without a space made the Where used heading wider than the
    window (the product grid shrank to a sliver beside it), and an ESC or a U+202E in a name or price showed as a
    box or reversed the text after it, on the tiles, their tooltips and the heading."""
    from PySide6.QtCore import Qt

    from app.labels import MAX_SHOWN, product_title
    from app.widgets.catalog_view import ProductGrid

    shop.close()
    _edit(shop.data_dir, "UPDATE products SET name = ?, price = ? WHERE id = 1", "X" * 20_000, "<i>9</i>\x1b[5m")
    _edit(shop.data_dir, "UPDATE products SET name = ?, sku = ? WHERE id = 2", HOSTILE_NAME, "EVIL\x1b[31m\u202eSKU")
    window = main_window(shop, (1280, 800))
    window.tabs.setCurrentWidget(window.catalog)
    grid = window.catalog.findChild(ProductGrid)
    qtbot.waitUntil(lambda: grid.model().rowCount() == 3, timeout=30_000)
    hidden = ("\x1b", "\u202e", "\n")
    title = window.catalog.where_used.title
    for row, product in enumerate(grid.model().products):
        grid.setCurrentIndex(grid.model().index(row, 0))
        named = product_title(product.name, product.sku, product.category)[:40]
        qtbot.waitUntil(lambda named=named: named in title.text() and "not matched" in title.text(), timeout=30_000)
        tip = grid.model().data(grid.model().index(row, 0), Qt.ItemDataRole.ToolTipRole)
        painted = [text for text, _font, _role in grid.itemDelegate().lines(product, grid.font(), 100_000)]
        shown = [tip, title.text(), *painted]
        assert not [text for text in shown if any(h in text for h in hidden)], shown
        assert all(len(text) <= 2 * MAX_SHOWN for text in shown[1:]), [len(text) for text in shown]
        assert grid.width() > window.width() // 2, "the Where used heading took the width of the product grid"

    products = {product.id: product for product in grid.model().products}  # the Map tab's list of those selected
    view, ids = window.map_view, np.array(sorted(products))
    view.canvas.show_map(CatalogMap("test", "test", 0, ids, np.linspace(0, 1, 2 * len(ids), dtype=np.float32)
                                    .reshape(-1, 2)), products)
    view.canvas.select(product.sku for product in products.values())
    view._selection_changed(view.canvas)
    listed = [view.chosen.item(row).text() for row in range(view.chosen.count())]
    assert len(listed) == 3 and not [text for text in listed if any(h in text.split("\n")[1] for h in hidden)]


def test_the_cli_shows_a_huge_stored_name_clipped_and_its_controls_escaped(shop: Pipeline, shared_models: Path):
    """``catalog list`` and ``catalog show`` printed a hand-edited 200,000-character name whole: one row filled the
    terminal's scrollback. They show its start and its length; ``--json`` still gives it whole."""
    shop.close()
    _edit(shop.data_dir, "UPDATE products SET name = ?, sku = 'HUGE.1' WHERE id = 1", "X" * 200_000 + "\u202e")
    _edit(shop.data_dir, "UPDATE products SET name = ? WHERE id = 2", HOSTILE_NAME)
    code, listed, _err = run_cli(shop.data_dir, shared_models, "catalog", "list")
    assert code == 0 and max(map(len, listed.splitlines())) < 300
    assert "X… (200,001 characters)" in listed and "second line\\u202etxet\\u001b[31m" in listed
    code, shown, _err = run_cli(shop.data_dir, shared_models, "catalog", "show", "HUGE.1")
    assert code == 0 and "\nname      " + "X" * 199 + "… (200,001 characters)\n" in shown
    code, whole, _err = run_cli(shop.data_dir, shared_models, "catalog", "show", "HUGE.1", "--json")
    assert code == 0 and "X" * 200_000 in whole
    _edit(shop.data_dir, "UPDATE products SET category = ? WHERE id = 3", "c" * 50_000)
    code, stats, _err = run_cli(shop.data_dir, shared_models, "catalog", "stats")
    assert code == 0 and max(map(len, stats.splitlines())) < 300 and "c… (50,000 characters) 1" in stats


@pytest.mark.gui
def test_where_used_shows_a_stored_photos_text_without_its_controls(shop: Pipeline, tmp_path: Path, scene_path,
                                                                    qtbot, qapp):
    """A tagged photo's category stored with a U+202E turned the "Confirmed 0.52" after it into "25.0 demrifnoC",
    an ESC showed as a box; a photo or SKU named with them did the same to its row."""
    from app.widgets.where_used import WhereUsedPanel
    from app.workers import Runner
    from engine.imageio import load_image
    from engine.scene_memory import APP, SeenObject, remember

    shop.close()
    _edit(shop.data_dir, "UPDATE products SET sku = ? WHERE id = 2", "EVIL\x1b[31m\u202eSKU")
    products = shop.catalog.products()
    photo = Path(shutil.copy(scene_path("take-a-comfy-seat-on-the-sofa"), tmp_path / "room\u202egpj.jpg"))
    objects = [SeenObject(n, "lamp", (40.0 * n, 40.0, 40.0 * n + 120, 200.0), (), (p.sku, 0.9, "exact"))
               for n, p in enumerate(products, 1)]
    height, width = load_image(photo).shape[:2]
    remember(shop, photo, (width, height), objects, APP)
    shop.close()
    _edit(shop.data_dir, "UPDATE scene_objects SET category = ?", "plant\x1b[2J\u202ex")
    panel = WhereUsedPanel(shop, Runner(1, qapp))
    qtbot.addWidget(panel)
    panel.show_product(products[0].sku)
    qtbot.waitUntil(lambda: panel.sightings.count() == 1 and panel.together.count() == 2, timeout=90_000)
    rows = [panel.sightings.item(0).text(), *(panel.together.item(i).text() for i in range(2))]
    assert not [row for row in rows if "\x1b" in row or "\u202e" in row], rows
    assert rows[0].startswith("roomgpj.jpg\nPlant[2Jx · ")


def test_where_clips_a_stored_box_of_huge_numbers(shop: Pipeline, shared_models: Path, scene_path):
    """A tagged photo's box edited to 1e308 printed each side as 309 digits under ``decorlens where``."""
    from engine.imageio import load_image
    from engine.scene_memory import APP, SeenObject, remember

    product = shop.catalog.products()[0]
    photo = scene_path("take-a-comfy-seat-on-the-sofa")
    height, width = load_image(photo).shape[:2]
    remember(shop, photo, (width, height), [SeenObject(1, "lamp", (40, 40, 160, 200), (), (product.sku, 0.9, "exact"))],
             APP)
    shop.close()
    _edit(shop.data_dir, "UPDATE scene_objects SET x1 = 1e308, y1 = -1e308")
    code, out, _err = run_cli(shop.data_dir, shared_models, "where", product.sku)
    assert code == 0 and max(map(len, out.splitlines())) < 450 and "characters)" in out, out
