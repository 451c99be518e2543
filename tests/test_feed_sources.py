"""Each product records the feed it came from, so a feed offers for removal only its own products it no longer
lists: a merchandiser with two suppliers was offered the first supplier's range after importing the second's."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from ikea_feed import write_feed

from engine.catalog import SCHEMA_VERSION, Catalog
from engine.files import sha256_of


def _lamps_and_chairs(products: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    lamps = [p for p in products if p["category"] == "lamp"][:6]
    return lamps[:3], lamps[3:] + [p for p in products if p["category"] == "chair"][:2]


def test_a_second_suppliers_feed_offers_only_its_own_dropped_products(fresh_pipeline, tmp_path: Path, ikea: Path,
                                                                     ikea_products: list[dict[str, str]]) -> None:
    acme, birch = _lamps_and_chairs(ikea_products)  # both sell lamps
    pipe = fresh_pipeline
    pipe.import_catalog(write_feed(ikea, acme, tmp_path / "acme.csv"))
    second = pipe.import_catalog(write_feed(ikea, birch, tmp_path / "birch.csv"))
    assert second.absent == [] and second.absent_line("birch.csv") is None  # acme's lamps are not birch's to drop
    assert {p.sku: p.source for p in pipe.catalog.products()} == {
        **{p["product_id"]: "acme.csv" for p in acme}, **{p["product_id"]: "birch.csv" for p in birch}}
    # acme's next feed, named by its week, dropped a lamp: that lamp alone is offered, and the source stays acme's
    week2 = pipe.import_catalog(write_feed(ikea, acme[1:], tmp_path / "acme-week2.csv"))
    assert week2.absent == [acme[0]["product_id"]]
    assert {pipe.catalog.get_by_sku(p["product_id"]).source for p in acme} == {"acme.csv"}


def test_a_catalog_of_schema_1_opens_with_every_product_and_its_unsourced_ones_are_named_not_offered(
        fresh_pipeline, tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]) -> None:
    lamps, _ = _lamps_and_chairs(ikea_products)
    pipe = fresh_pipeline
    pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "old.csv"))
    path = pipe.catalog.path
    before = [(p.sku, p.name, p.category, p.image_hash) for p in pipe.catalog.products()]
    pipe.catalog.close()
    with closing(sqlite3.connect(path)) as db:  # the catalog as DecorLens wrote it before sources
        db.executescript("DROP INDEX products_source; ALTER TABLE products DROP COLUMN source; "
                         "DROP INDEX products_price_value; DROP INDEX products_name_key; "  # and schema 3's keys
                         "ALTER TABLE products DROP COLUMN price_value; ALTER TABLE products DROP COLUMN name_key; "
                         "ALTER TABLE products DROP COLUMN search_name; UPDATE schema_version SET version = 1;")
        with closing(sqlite3.connect(tmp_path / "schema1.db")) as backup:
            db.backup(backup)
    with Catalog(path) as catalog:
        assert catalog.db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert [(p.sku, p.name, p.category, p.image_hash, p.source) for p in catalog.products()] == [
            (*b, "") for b in before]
    pipe.catalog.restore_from(tmp_path / "schema1.db")  # a backup of schema 1 restores too, its products of no source
    assert [p.source for p in pipe.catalog.products()] == [""] * len(lamps)
    report = pipe.import_catalog(write_feed(ikea, lamps[1:], tmp_path / "new.csv"))
    assert report.absent == [] and report.unsourced == [lamps[0]["product_id"]]
    assert report.unsourced_line("new.csv").startswith(
        "1 product of the catalog is not in new.csv but was imported before DecorLens recorded which feed")
    assert {p.sku: p.source for p in pipe.catalog.products()} == {
        lamps[0]["product_id"]: "", **{p["product_id"]: "new.csv" for p in lamps[1:]}}


SHOPIFY_HEADER = ("Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,"
                  "Option2 Name,Option2 Value,Option3 Name,Option3 Value,Variant SKU,Variant Grams,"
                  "Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,"
                  "Variant Fulfillment Service,Variant Price,Variant Compare At Price,Variant Requires Shipping,"
                  "Variant Taxable,Variant Barcode,Image Src,Image Position,Image Alt Text,Gift Card,Status")


def _shopify_line(handle: str, title: str, kind: str, options: tuple[str, str, str, str], sku: str, price: str,
                  image: str, position: str) -> str:
    """One row of a Shopify product export, its columns as Shopify's help centre lists them."""
    first = bool(title)
    product = [title, "<p>Soft.</p>" if first else "", "Birch" if first else "",
               "Home & Garden > Furniture > Sofas" if first and kind == "Sofas" else "", kind,
               "living" if first else "", "TRUE" if first else ""]
    variant = [sku, "0", "shopify", "4", "deny", "manual", price, "", "TRUE", "TRUE", ""] if sku else [""] * 11
    return ",".join([handle, *product, *options, "", "", *variant, image, position, "", "FALSE" if first else "",
                     "active" if first else ""])


def test_a_shopify_products_variants_are_named_by_their_options_and_not_offered_as_duplicates(
        fresh_pipeline, tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]) -> None:
    from engine.duplicates import find_duplicates

    sofa = ikea / next(p for p in ikea_products if p["category"] == "sofa")["image"]
    lamp = ikea / next(p for p in ikea_products if p["category"] == "lamp")["image"]
    lines = [
        _shopify_line("comfy-sofa", "Comfy sofa", "Sofas", ("Color", "Grey", "Size", "2 seats"), "S-1", "499.00",
                      str(sofa), "1"),
        _shopify_line("comfy-sofa", "", "", ("", "Blue", "", "2 seats"), "S-2", "509.00", "", ""),
        _shopify_line("comfy-sofa", "", "", ("", "Grey", "", "3 seats"), "S-3", "599.00", "", ""),
        _shopify_line("comfy-sofa", "", "", ("", "", "", ""), "", "", str(lamp), "2"),  # a second photo only
        _shopify_line("tall-lamp", "Tall lamp", "Lamps", ("Title", "Default Title", "", ""), "L-1", "29.00",
                      str(lamp), "1"),
    ]
    export = tmp_path / "products_export_1.csv"
    export.write_text("\n".join([SHOPIFY_HEADER, *lines]) + "\n", encoding="utf-8")
    report = fresh_pipeline.import_catalog(export)
    assert (report.added, report.skipped) == (4, [])
    stored = {p.sku: (p.name, p.category, p.price) for p in fresh_pipeline.catalog.products()}
    assert stored == {"S-1": ("Comfy sofa - Grey / 2 seats", "sofa", "499.00"),
                      "S-2": ("Comfy sofa - Blue / 2 seats", "sofa", "509.00"),
                      "S-3": ("Comfy sofa - Grey / 3 seats", "sofa", "599.00"),
                      "L-1": ("Tall lamp", "lamp", "29.00")}
    assert len({fresh_pipeline.catalog.get_by_sku(s).image_hash for s in ("S-1", "S-2", "S-3")}) == 1
    assert find_duplicates(fresh_pipeline) == []  # one photo, three SKUs: variants, not duplicates


def test_vectors_embedded_elsewhere_store_a_feeds_categories_as_the_desktop_import_does(
        tmp_path: Path, ikea: Path, shared_models: Path) -> None:
    """`catalog import FEED --vectors DIR` (vectors of `catalog embed` on Ray) stored a feed's "Sofas" as it was,
    a category no tag searches, where the desktop import stores ``sofa``: both read ``engine.importer.read_feed``."""
    import pytest

    pytest.importorskip("pyarrow")
    from lamp_shop import run_cli

    from engine.models import find_first
    from engine.pipeline import CATALOG_FILE
    from engine.settings import Settings
    from engine.vectors_import import EmbedderId, pyarrow_modules, schema

    data, settings = tmp_path / "data", Settings.defaults()
    card = find_first(settings.embedder, shared_models, None).card
    sofa, chair = (min((ikea / "products" / c).glob("*.jpg")) for c in ("sofa", "chair"))
    feed = tmp_path / "feed.csv"
    feed.write_text(f"id,title,product_type,image_link\nV-1,Comfy sofa,Sofas,{sofa}\n"
                    f"V-2,Oak chair,Home & Garden > Furniture > Dining Chairs,{chair}\n", encoding="utf-8")
    pa, _, pq = pyarrow_modules()
    who = EmbedderId.of(card)
    (tmp_path / "vectors").mkdir()
    vector = [1.0] + [0.0] * (card.output_dim - 1)
    table = pa.table({"sku": ["V-1", "V-2"], "category": ["Sofas", "Dining Chairs"],
                      "image_sha256": [sha256_of(sofa), sha256_of(chair)], "embedder": [who.name] * 2,
                      "embedder_sha256": [who.sha256] * 2, "vector": [vector, vector], "error": [None, None]},
                     schema=schema(card.output_dim, who))
    pq.write_table(table, tmp_path / "vectors" / "part-0.parquet")
    code, _out, err = run_cli(data, shared_models, "catalog", "import", str(feed), "--vectors", str(tmp_path / "vectors"))
    assert code == 0, err
    assert "Dining Chairs → chair, Sofas → sofa" in err
    with Catalog(data / CATALOG_FILE) as catalog:
        assert {p.sku: p.category for p in catalog.products()} == {"V-1": "sofa", "V-2": "chair"}
