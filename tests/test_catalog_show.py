"""`decorlens catalog show SKU` on a small real IKEA catalog imported from a feed with prices, links and a column
DecorLens keeps as it is."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from random import Random

import pytest

from decorlens.catalog import close_skus
from decorlens.errors import USER_ERROR
from decorlens.main import main
from engine.catalog import Catalog

V1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"  # a shared embedder the catalog has no vectors of
PRICES = ("12,50 €", "199.00", "1 299,00 kr")  # as feeds write them: no currency is added or guessed


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]],
         exported_models: Path) -> tuple[str, list[dict[str, str]]]:
    """A data dir holding three IKEA clocks, their photos copied (a test deletes one), and the feed's rows."""
    root = tmp_path_factory.mktemp("show")
    shutil.copytree(exported_models, root / "data" / "models")
    rows = []
    for row, price in zip([r for r in ikea_products if r["category"] == "clock"][:3], PRICES):
        photo = root / f"{row['product_id']}.jpg"
        shutil.copy(ikea / row["image"], photo)
        rows.append({"sku": row["product_id"], "name": row["name"], "category": "clock", "image": str(photo),
                     "price": price, "link": f"https://shop.example/{row['product_id']}", "colour": row["color"]})
    feed = root / "feed.csv"
    with open(feed, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    data = str(root / "data")
    assert main(["-q", "--data-dir", data, "catalog", "import", str(feed)]) == 0
    return data, rows


def test_catalog_show_prints_a_products_fields_as_the_feed_wrote_them(shop, capsys: pytest.CaptureFixture[str]):
    """There was no way to see a product's price, link or photo from the command line: `catalog list` shows SKU,
    category and name."""
    data, rows = shop
    capsys.readouterr()
    assert main(["--data-dir", data, "catalog", "show", rows[0]["sku"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = rows[0]
    assert lines[:6] == [f"sku       {row['sku']}", f"name      {row['name']}", "category  Clock (clock)", "price     12,50 €",
                         f"link      {row['link']}", f"photo     {row['image']}"]
    assert lines[6].startswith("vector    yes, MobileNetV2") and lines[6].endswith("photos can be matched to it)")
    assert lines[7:] == [f"detail    colour: {row['colour']}"]


def test_catalog_show_json_holds_the_fields_and_whether_the_product_is_searchable(
        shop, capsys: pytest.CaptureFixture[str]):
    data, rows = shop
    capsys.readouterr()
    assert main(["--data-dir", data, "catalog", "show", rows[2]["sku"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {k: shown[k] for k in ("sku", "price", "url", "image_path", "photo_found", "searchable")} == {
        "sku": rows[2]["sku"], "price": "1 299,00 kr", "url": rows[2]["link"], "image_path": rows[2]["image"],
        "photo_found": True, "searchable": True}
    assert shown["extra"] == {"colour": rows[2]["colour"]} and shown["vectors"] == {shown["active_embedder"]: True}


def test_catalog_show_says_a_product_the_active_embedder_has_no_vector_of_cannot_be_matched(
        shop, capsys: pytest.CaptureFixture[str]):
    data, rows = shop
    capsys.readouterr()
    assert main(["--data-dir", data, "--embedder", V1, "catalog", "show", rows[1]["sku"]]) == 0
    vector = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("vector"))
    assert vector.startswith("vector    no, mobilenet_v1") and vector.endswith(
        ": none; `decorlens catalog rebuild-index` embeds it")


def test_an_unknown_sku_is_one_error_line_naming_the_close_skus(shop, capsys: pytest.CaptureFixture[str]):
    """A SKU one character off, or in the wrong case, suggests the catalog's; nothing close suggests nothing."""
    data, rows = shop
    sku = rows[0]["sku"]
    typo = sku[:-1] + ("0" if sku[-1] != "0" else "1")
    capsys.readouterr()
    assert main(["--data-dir", data, "catalog", "show", typo]) == USER_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"decorlens: error: no product '{typo}' in the catalog {data}/catalog.sqlite; did you mean {sku}?"]
    assert main(["--data-dir", data, "catalog", "show", "SOFA-1"]) == USER_ERROR
    assert capsys.readouterr().err.splitlines() == [
        f"decorlens: error: no product 'SOFA-1' in the catalog {data}/catalog.sqlite"]


def test_catalog_show_says_when_the_products_photo_is_gone(shop, capsys: pytest.CaptureFixture[str]):
    """A photo moved or deleted since the import: the grid shows a grey square and the CLI said nothing."""
    data, rows = shop
    Path(rows[1]["image"]).unlink()
    capsys.readouterr()
    assert main(["--data-dir", data, "catalog", "show", rows[1]["sku"]]) == 0
    assert f"photo     {rows[1]['image']} (no such file)" in capsys.readouterr().out.splitlines()


def _one_slip_typos(sku: str) -> set[str]:
    """A SKU typed with one slip: a character replaced (by the next digit), left out, doubled, or two swapped."""
    typos = set()
    for i, char in enumerate(sku):
        other = str((int(char) + 1) % 10) if char.isdigit() else "0"
        typos |= {sku[:i] + other + sku[i + 1:], sku[:i] + sku[i + 1:], sku[:i] + char + sku[i:]}
        typos |= {sku[:i] + sku[i + 1] + char + sku[i + 2:]} if i + 1 < len(sku) else set()
    return typos - {sku}


def test_an_unknown_sku_suggests_the_one_meant_on_the_whole_ikea_catalog(pipeline):
    """Every one-slip typo of real IKEA SKUs ("901.963.15", "01.963.14", "910.963.14") suggests the SKU meant,
    as comparing every SKU did, from the few SKUs read near it."""
    catalog = pipeline.catalog
    skus = _all_skus(catalog)
    for sku in skus[:: len(skus) // 25]:
        for typo in _one_slip_typos(sku):
            if catalog.get_by_sku(typo) is None:
                near = catalog.skus_near(typo)
                assert sku in near and len(near) < 400, (typo, sku, len(near))
                assert sku in close_skus(catalog, typo), (typo, close_skus(catalog, typo))


def _vm_steps(catalog: Catalog, sku: str) -> int:
    """SQLite's virtual machine steps (in hundreds) for ``skus_near``: what it read, counted, not timed."""
    steps = [0]
    catalog.db.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1), 100)
    try:
        catalog.skus_near(sku)
    finally:
        catalog.db.set_progress_handler(None, 100)
    return steps[0]


def test_suggesting_skus_reads_about_as_much_of_a_catalog_ten_times_larger(tmp_path: Path):
    """Suggestions compared the typed SKU with every SKU: seconds at a million products. Now they read a bounded
    few near it, so a catalog ten times larger costs SQLite hardly more work (an O(N) scan would cost 10×)."""
    random = Random(7)
    work = []
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        for total in (20_000, 200_000):
            rows = [(f"{n:03d}.{random.randrange(1000):03d}.{random.randrange(100):02d}", "chair", "x.jpg", "h")
                    for n in random.sample(range(1000), 10) for _ in range((total - catalog.count()) // 10)]
            with catalog.transaction():  # one commit, not one per row
                catalog.db.executemany("INSERT OR IGNORE INTO products (sku, category, image_path, image_hash) "
                                       "VALUES (?, ?, ?, ?)", rows)
            some = _all_skus(catalog)[catalog.count() // 2]
            typo = some[:2] + str((int(some[2]) + 1) % 10) + some[3:]
            work.append(_vm_steps(catalog, typo))
            assert len(catalog.skus_near(typo)) < 400
    assert work[1] < 2 * work[0], work


def _all_skus(catalog) -> list[str]:
    return [sku for (sku,) in catalog.db.execute("SELECT sku FROM products ORDER BY sku")]
