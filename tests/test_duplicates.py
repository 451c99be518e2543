"""Near-duplicate products on the shared IKEA catalog, whose byte-identical groups are known.

Listing only reads the session catalog; the actions (keep one, mark as variants) run on a copy.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from decorlens.main import build_parser, main
from engine.duplicates import THRESHOLD, VARIANT_OF, find_duplicates
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
    others = [copy.catalog.get_by_sku(p.sku) for p in variants.products[1:]]
    assert all(p is not None and p.extra[VARIANT_OF] == primary for p in others)

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
