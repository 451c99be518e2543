"""Finer categories (engine.type_prior): real IKEA lamps with their feed types, real embedder, real catalog."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.crops import crop
from engine.errors import DecorLensError
from engine.imageio import load_image
from engine.pipeline import COLOUR, Pipeline
from engine.query import QueryOptions
from engine.settings import Settings
from engine.type_prior import CHOSEN_WEIGHT, MAX_TYPE_CHARS, TypeOptions, TypePrior, product_type
from training.evaluate import query_lever

CATEGORY = "lamp"
LAMPS = 40  # the first 40 IKEA lamps: 24 types, 7 of them pendant lamps
PENDANT = "pendant lamp"
STRONG = TypeOptions(weight=1.0)  # the type decides more than the chosen weight does: its effect is plain to see
HOSTILE = {  # sku → the type column a hostile feed gives it
    "odd-empty": "",
    "odd-huge": "Pendant lamp " * 2000,
    "odd-control": "\x00\x07 Pendant\tlamp\x1b",
    "odd-path": "Home & Garden > Lighting > PENDANT   lamp",
}


@pytest.fixture(scope="module")
def lamp_catalog(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path, ikea_products):
    """A data dir whose catalog holds the first IKEA lamps with their ``ikea_type`` column, plus four lamps whose
    type field is hostile (their photos are real lamps'), embedded by the default embedder."""
    data = tmp_path_factory.mktemp("types-data")
    shutil.copytree(exported_models, data / "models")
    rows = [r for r in ikea_products if r["category"] == CATEGORY][:LAMPS]
    spare = [r for r in ikea_products if r["category"] == CATEGORY][LAMPS: LAMPS + len(HOSTILE)]
    feed = data / "feed.csv"
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image", "ikea_type"])
        writer.writerows([r["product_id"], r["name"], CATEGORY, str(ikea / r["image"]), r["ikea_type"]] for r in rows)
        writer.writerows([sku, sku, CATEGORY, str(ikea / r["image"]), kind] for (sku, kind), r in zip(HOSTILE.items(), spare))
    pipe = Pipeline(Settings.defaults().with_(data_dir=data))
    assert pipe.import_catalog(feed).added == len(rows) + len(HOSTILE)
    return pipe, rows


def pendant_crops(ikea: Path, rows: list[dict[str, str]]) -> list[tuple[np.ndarray, tuple[float, ...]]]:
    """Each pendant lamp's photo with a box around its middle (a crop, not the photo the catalog holds)."""
    out = []
    for row in rows:
        if row["ikea_type"].casefold() == PENDANT:
            image = load_image(ikea / row["image"])
            h, w = image.shape[:2]
            out.append((image, (0.12 * w, 0.08 * h, 0.9 * w, 0.95 * h)))
    return out


def test_a_pendant_lamp_crop_sees_more_pendant_lamps_first(lamp_catalog, ikea: Path):
    pipe, rows = lamp_catalog
    typed = pipe.with_query(QueryOptions(types=STRONG))
    types = {r["product_id"]: r["ikea_type"].casefold() for r in rows}
    crops = pendant_crops(ikea, rows)
    assert len(crops) >= 5
    plain_hits = typed_hits = 0
    for image, box in crops:
        (plain,) = pipe.match_boxes(image, [box], [CATEGORY], top_k=5)
        (sorted_,) = typed.match_boxes(image, [box], [CATEGORY], top_k=5)
        plain_hits += sum(types.get(m.sku) == PENDANT for m in plain)
        typed_hits += sum(types.get(m.sku) == PENDANT for m in sorted_)
        assert types[sorted_[0].sku] == PENDANT, [m.sku for m in sorted_]
        (longer,) = typed.match_boxes(image, [box], [CATEGORY], top_k=STRONG.top)  # as long as it re-sorts, or longer
        assert longer[:5] == sorted_
    assert typed_hits > plain_hits


def test_only_the_order_changes_never_a_cosine_or_its_words(lamp_catalog, ikea: Path):
    pipe, rows = lamp_catalog
    options = TypeOptions(weight=CHOSEN_WEIGHT)
    typed = pipe.with_query(QueryOptions(types=options))
    prior = pipe.type_prior(pipe.embedder)
    for image, box in pendant_crops(ikea, rows):
        (wide,) = pipe.match_boxes(image, [box], [CATEGORY], top_k=options.top)
        (got,) = typed.match_boxes(image, [box], [CATEGORY], top_k=5)
        assert len(got) == 5 and set(got) <= set(wide)  # the same Match objects: cosine, words and all
        (query,) = pipe.embedder.embed([crop(image, box, pipe.settings.padding)])  # the plain query's one view
        keys = np.array([m.score for m in got]) + options.weight * prior.affinity(query, [m.product_id for m in got])
        assert np.all(np.diff(keys) <= 1e-6), keys


def test_hostile_type_fields_are_read_defensively(lamp_catalog):
    pipe, _ = lamp_catalog
    prior = pipe.type_prior(pipe.embedder)
    group = {p.sku: prior.groups[np.searchsorted(prior.ids, p.id)] for p in pipe.catalog.products()}
    pendants = {group[p.sku] for p in pipe.catalog.products() if p.extra.get("ikea_type") == "Pendant lamp"}
    assert len(pendants) == 1
    assert group["odd-path"] in pendants and group["odd-control"] in pendants  # the same type, written oddly
    assert group["odd-empty"] == group["odd-huge"] not in pendants  # no usable type: the category's untyped group
    assert np.allclose(np.linalg.norm(prior.centroids, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize(("extra", "expected"), [
    (None, ""), ("Pendant lamp", ""), ([1, 2], ""), ({}, ""),
    ({"ikea_type": None}, ""), ({"ikea_type": 3}, ""), ({"ikea_type": "   "}, ""),
    ({"IKEA_Type ": " Wall  lamp "}, "wall lamp"),
    ({"product_type": "Home > Lighting > Wall Lamps"}, "wall lamps"),
    ({"type": "x" * (MAX_TYPE_CHARS + 1)}, ""),
    ({"ikea_type": "", "product_type": "Vase"}, "vase"),  # the first usable column
    ({"Ｗａｌｌ": 1, "type": "Ｗａｌｌ　lamp"}, "wall lamp"),  # full-width letters and space
])
def test_product_type(extra, expected: str):
    assert product_type(extra) == expected


def test_unknown_products_and_odd_queries_add_nothing(lamp_catalog):
    pipe, _ = lamp_catalog
    prior = pipe.type_prior(pipe.embedder)
    assert prior.affinity(np.ones(pipe.embedder.dim), [10**9, -1]).tolist() == [0.0, 0.0]
    assert prior.affinity(np.ones(7), [int(prior.ids[0])]).tolist() == [0.0]  # another embedder's vector
    assert prior.affinity(np.ones(pipe.embedder.dim), []).shape == (0,)
    empty = TypePrior.build(pipe.catalog, "no-such-embedder")
    assert empty.affinity(np.ones(4), [int(prior.ids[0])]).tolist() == [0.0]


def test_colour_ignores_types(lamp_catalog, ikea: Path):
    pipe, rows = lamp_catalog
    typed = pipe.with_query(QueryOptions(types=STRONG))
    pipe.prepare_matcher(COLOUR)
    image, box = pendant_crops(ikea, rows)[0]
    plain = pipe.match_boxes(image, [box], [CATEGORY], 5, COLOUR)
    assert len(plain[0]) == 5 and typed.match_boxes(image, [box], [CATEGORY], 5, COLOUR) == plain


def test_types_setting_forms(tmp_path: Path):
    assert TypeOptions.from_raw(None) == TypeOptions.from_raw(False) == TypeOptions()
    assert not TypeOptions().on and TypeOptions.from_raw(True) == TypeOptions(weight=CHOSEN_WEIGHT)
    assert TypeOptions.from_raw(0.5) == TypeOptions(weight=0.5)
    assert TypeOptions.from_raw({"top": "30"}) == TypeOptions(weight=CHOSEN_WEIGHT, top=30)
    assert query_lever("types").types == TypeOptions(weight=CHOSEN_WEIGHT)
    (tmp_path / "config.yaml").write_text("query: {types: {weight: 0.3, min_products: 2}}\n")
    assert Settings.for_data_dir(tmp_path).query.types == TypeOptions(weight=0.3, min_products=2)


@pytest.mark.parametrize("bad", ["query: {types: {weights: 1}}", "query: {types: -1}", "query: {types: [1]}",
                                 "query: {types: {top: 0}}", "query: {types: nope}"])
def test_a_bad_types_setting_is_a_one_line_error(tmp_path: Path, bad: str):
    (tmp_path / "config.yaml").write_text(bad + "\n")
    with pytest.raises(DecorLensError, match="config.yaml"):
        Settings.for_data_dir(tmp_path)


def test_the_prior_follows_the_catalog(lamp_catalog):
    """Last in this file: it removes a (wall) lamp from the module's catalog."""
    pipe, rows = lamp_catalog
    before = pipe.type_prior(pipe.embedder)
    assert pipe.type_prior(pipe.embedder) is before  # built once per catalog revision
    gone = pipe.catalog.get_by_sku(next(r["product_id"] for r in rows if r["ikea_type"] == "Wall lamp"))
    assert pipe.remove_products([gone.sku]) == 1
    after = pipe.type_prior(pipe.embedder)
    assert gone.id in before.ids and gone.id not in after.ids
