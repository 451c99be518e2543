"""Near-duplicate products on the shared IKEA catalog, whose byte-identical groups are known.

Listing only reads the session catalog; the actions (keep one, mark as variants) run on a copy, and the
Catalog tab's duplicates window on a small catalog of its own holding two byte-identical groups.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from ikea_feed import write_feed

from decorlens.main import build_parser, main
from engine.backups import list_backups
from engine.duplicates import THRESHOLD, VARIANTS_TABLE, find_duplicates, variant_pairs
from engine.pipeline import Pipeline


@pytest.fixture(scope="module")
def groups(pipeline: Pipeline):
    return find_duplicates(pipeline)


@pytest.fixture(scope="module")
def known(ikea: Path) -> list[set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    with open(ikea / "duplicate_images.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            found[row["group"]].add(row["product_id"])
    return list(found.values())


def copy_data_dir(pipeline: Pipeline, target: Path) -> Path:
    shutil.copytree(pipeline.data_dir / "models", target / "models")
    shutil.copytree(pipeline.data_dir / "index", target / "index")
    with sqlite3.connect(target / "catalog.sqlite") as copy:
        pipeline.catalog.db.backup(copy)
    return target


def test_every_byte_identical_group_is_found(groups, known):
    reported = [{p.sku for p in g.products} for g in groups]
    missed = [skus for skus in known if not any(skus <= r for r in reported)]
    assert missed == []


def test_groups_say_how_alike_they_are(groups):
    assert any(g.identical for g in groups) and any(not g.identical for g in groups)
    for group in groups:
        hashes = {p.image_hash for p in group.products}
        assert len(group.products) > 1 and len({p.sku for p in group.products}) == len(group.products)
        if group.identical:
            assert len(hashes) == 1 and group.score == 1.0
        else:
            assert len(hashes) > 1 and group.score >= THRESHOLD
    first_near = next(i for i, g in enumerate(groups) if not g.identical)
    assert all(not g.identical for g in groups[first_near:])
    near = [g.score for g in groups[first_near:]]
    assert near == sorted(near, reverse=True)


def test_every_two_products_of_a_group_look_alike(pipeline: Pipeline, groups):
    """A group says "these look like one product": every pair in it shares an image file or is ``THRESHOLD``
    alike, and its score is its least alike pair's. Linked pairs were chained (A~B and B~C grouped A with C):
    one group held 15 doors, mirrors and a fabric (7 product names), its two ends far apart."""
    vectors = {pid: v for pid, _, v in pipeline.catalog.vectors(pipeline.embedder.key)}
    for group in groups:
        members = group.products
        cosines = [1.0 if a.image_hash == b.image_hash else float(vectors[a.id] @ vectors[b.id])
                   for i, a in enumerate(members) for b in members[i + 1:]]
        assert min(cosines) >= THRESHOLD, [p.sku for p in members]
        assert group.score == pytest.approx(min(cosines), abs=1e-6)


def test_a_stricter_threshold_links_fewer_products(pipeline: Pipeline, groups):
    strict = find_duplicates(pipeline, 0.97)
    linked = {p.sku for g in groups for p in g.products}
    strictly = {p.sku for g in strict for p in g.products}
    assert strictly < linked
    assert [g for g in strict if g.identical] and all(g.score >= 0.97 for g in strict if not g.identical)


def test_cli_keeps_one_marks_variants_and_lists_the_rest(pipeline: Pipeline, groups, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]):
    """The verb's actions on a copy of the catalog (one pipeline for the three runs: models load once)."""
    copy = Pipeline(pipeline.settings.with_(data_dir=copy_data_dir(pipeline, tmp_path)))

    def duplicates(*words: str) -> str:
        args = build_parser().parse_args(["catalog", "duplicates", *words])
        assert args.run(args, copy) == 0
        return capsys.readouterr().out

    variants, keep = groups[0], groups[1]
    primary = variants.products[0].sku
    assert f"as variants of {primary}" in duplicates("--variants", primary)
    skus = sorted(p.sku for p in variants.products)
    assert {(a, b) for i, a in enumerate(skus) for b in skus[i + 1:]} <= variant_pairs(copy.catalog)
    assert all(copy.catalog.get_by_sku(sku) is not None for sku in skus)  # variants are all kept

    kept = keep.products[-1].sku
    before = copy.catalog.count()
    assert f"kept {kept}" in duplicates("--keep", kept)
    assert copy.catalog.count() == before - (len(keep.products) - 1)
    assert copy.catalog.get_by_sku(kept) is not None

    listed = json.loads(duplicates("--json"))
    assert all(set(g) >= {"identical", "score", "products"} for g in listed)
    left = [{p["sku"] for p in g["products"]} for g in listed]
    assert {p.sku for p in variants.products} not in left and kept not in set().union(*left)
    for group in groups[2:]:  # the rest are still listed
        assert any({p.sku for p in group.products} <= skus for skus in left)


def test_cli_names_an_unknown_sku_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--data-dir", str(tmp_path), "catalog", "duplicates", "--keep", "no-such-sku"]) != 0
    err = capsys.readouterr().err.strip()
    assert "no product 'no-such-sku'" in err and len(err.splitlines()) == 1


@pytest.fixture
def small_catalog(fresh_pipeline: Pipeline, ikea: Path, ikea_products, known) -> tuple[Pipeline, list[set[str]]]:
    """Two byte-identical groups of the shared data and eight products in no such group, imported."""
    pairs = [g for g in known if len(g) == 2][:2]
    linked = set().union(*known)
    alone = [r for r in ikea_products if r["product_id"] not in linked][:8]
    rows = [r for r in ikea_products if any(r["product_id"] in g for g in pairs)] + alone
    report = fresh_pipeline.import_catalog(write_feed(ikea, rows, fresh_pipeline.data_dir / "feed.csv"))
    assert report.added == len(rows), report.summary()
    return fresh_pipeline, pairs


def test_catalog_tab_lists_groups_keeps_one_and_hides_variants(qtbot, small_catalog, capsys, qapp):
    from PySide6.QtCore import Qt

    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.widgets.duplicates_view import KEPT_BACKUP
    from app.workers import Runner

    pipeline, (kept_group, variant_group) = small_catalog
    engine, io = Runner(1, qapp), Runner(2, qapp)
    tab = CatalogView(pipeline, engine, io, Thumbnails(io))
    qtbot.addWidget(tab)
    messages: list[tuple[str, str]] = []
    tab.message.connect(lambda text, level: messages.append((text, level)))
    tab.removed.connect(lambda text: messages.append((text, "removed")))  # the window offers the backup's restore
    tab.refresh()  # as the window does: Find duplicates… waits for the catalog to be counted
    qtbot.waitUntil(tab.find_duplicates.isEnabled, timeout=60_000)
    qtbot.mouseClick(tab.find_duplicates, Qt.MouseButton.LeftButton)
    view = tab.duplicates
    assert view is not None and view.isVisible()
    qtbot.waitUntil(lambda: view.refresh_button.isEnabled(), timeout=60_000)

    def listed() -> list[set[str]]:
        return [set(row.skus()) for row in view.rows]

    assert kept_group in listed() and variant_group in listed()
    row = view.rows[listed().index(kept_group)]
    keep = row.cards[1]
    removed = next(iter(kept_group - {keep.product.sku}))
    assert not list_backups(pipeline.catalog.path)
    qtbot.mouseClick(keep.keep, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kept_group not in listed(), timeout=60_000)
    assert pipeline.catalog.get_by_sku(removed) is None and pipeline.catalog.get_by_sku(keep.product.sku)
    assert [b.reason for b in list_backups(pipeline.catalog.path)] == ["remove"]
    assert messages[-1] == (f"Kept {keep.product.sku}; removed 1 product from the catalog. {KEPT_BACKUP}", "removed")

    row = view.rows[listed().index(variant_group)]
    qtbot.mouseClick(row.not_duplicates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: variant_group not in listed(), timeout=60_000)
    assert all(pipeline.catalog.get_by_sku(sku) for sku in variant_group)  # variants are all kept
    view.refresh()
    qtbot.waitUntil(lambda: view.refresh_button.isEnabled(), timeout=60_000)
    assert variant_group not in listed() and all(removed not in skus for skus in listed())

    args = build_parser().parse_args(["catalog", "duplicates", "--json"])
    assert args.run(args, pipeline) == 0
    left = [{p["sku"] for p in g["products"]} for g in json.loads(capsys.readouterr().out)]
    assert not any(len(skus & variant_group) > 1 for skus in left)
    engine.shutdown()
    io.shutdown()


def test_variant_table_is_created_on_first_use_and_left_out_of_bundles(small_catalog, tmp_path: Path):
    from engine.bundle import export_bundle

    pipeline, (group, _other) = small_catalog
    tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
    assert VARIANTS_TABLE not in {n for (n,) in pipeline.catalog.db.execute(tables)}
    assert variant_pairs(pipeline.catalog) == set()
    main(["--data-dir", str(pipeline.data_dir), "catalog", "duplicates", "--variants", min(group)])
    assert variant_pairs(pipeline.catalog) == {tuple(sorted(group))}
    bundle = export_bundle(pipeline.data_dir, tmp_path / "shop.dlcat", include_images=False).path
    with zipfile.ZipFile(bundle) as zf:
        (tmp_path / "bundled.sqlite").write_bytes(zf.read("catalog.sqlite"))
    with sqlite3.connect(tmp_path / "bundled.sqlite") as db:
        assert VARIANTS_TABLE not in {n for (n,) in db.execute(tables)}
        assert db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == pipeline.catalog.count()
