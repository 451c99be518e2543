"""How an object becomes its query (engine.query): views and pooling, on real models and photos."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed

from engine.crops import DEFAULT_PADDING, crop
from engine.errors import DecorLensError
from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.query import QueryOptions, pool, views
from engine.rerank import RerankOptions
from engine.settings import Settings

CATEGORIES = ("chair", "lamp", "vase_candle")
PER_CATEGORY = 12


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path):
    """A data dir whose catalog holds 12 IKEA products of three categories, embedded by the default embedder."""
    data = tmp_path_factory.mktemp("query-data")
    shutil.copytree(exported_models, data / "models")
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    chosen = [r for c in CATEGORIES for r in [r for r in rows if r["category"] == c][:PER_CATEGORY]]
    feed = write_feed(ikea, chosen, data / "feed.csv")
    pipe = Pipeline(Settings.defaults().with_(data_dir=data))
    assert pipe.import_catalog(feed).added == len(chosen)
    return pipe, chosen


def test_views_are_one_crop_per_padding_then_their_mirrors(ikea: Path, ikea_products):
    image = load_image(ikea / ikea_products[0]["image"])
    h, w = image.shape[:2]
    box = (w * 0.25, h * 0.25, w * 0.75, h * 0.75)
    options = QueryOptions(paddings=(0.0, 0.15), flip=True)
    got = views(image, box, options)
    assert len(got) == options.views == 4
    assert got[0].shape[1] < got[1].shape[1]  # the looser box is wider
    assert np.array_equal(got[2], got[0][:, ::-1]) and np.array_equal(got[3], got[1][:, ::-1])
    (plain,) = views(image, box, QueryOptions())
    assert np.array_equal(plain, crop(image, box, DEFAULT_PADDING))


def test_pool_averages_each_objects_views_into_a_unit_vector():
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((6, 8)).astype(np.float32)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    pooled = pool(unit, 3)
    assert pooled.shape == (2, 8)
    assert np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-6)
    expected = unit[3:].mean(axis=0)
    assert np.allclose(pooled[1], expected / np.linalg.norm(expected), atol=1e-6)


def test_a_flipped_query_does_not_care_which_way_the_photo_faces(small_catalog, ikea: Path):
    """With flip on, a photo and its mirror image give the same query vector, and the same matches."""
    pipe, chosen = small_catalog
    flipped = pipe.with_query(QueryOptions(flip=True))
    image = load_image(ikea / chosen[0]["image"])
    h, w = image.shape[:2]
    box = (w * 0.1, h * 0.1, w * 0.8, h * 0.9)
    mirror = np.ascontiguousarray(image[:, ::-1])
    mirrored_box = (w - box[2], box[1], w - box[0], box[3])
    a = flipped._query_vectors(image, [box], flipped.embedder)
    b = flipped._query_vectors(mirror, [mirrored_box], flipped.embedder)
    assert float(a[0] @ b[0]) > 0.999
    plain = pipe.with_query(QueryOptions())
    plain_a = plain._query_vectors(image, [box], plain.embedder)
    plain_b = plain._query_vectors(mirror, [mirrored_box], plain.embedder)
    assert float(plain_a[0] @ plain_b[0]) < 0.99  # the plain query does see the difference


@pytest.mark.parametrize("options", [QueryOptions(flip=True), QueryOptions(paddings=(0.0, 0.06, 0.15)),
                                     QueryOptions(paddings=(0.0, 0.06, 0.15), flip=True)])
def test_every_lever_still_finds_a_product_from_its_own_photo(small_catalog, ikea: Path, options):
    pipe, chosen = small_catalog
    lever = pipe.with_query(options)
    for row in chosen[::5]:
        image = load_image(ikea / row["image"])
        h, w = image.shape[:2]
        (matches,) = lever.match_boxes(image, [(0, 0, w, h)], [row["category"]], top_k=3)
        assert matches[0].sku == row["product_id"], (options, row["product_id"], [m.sku for m in matches])
        assert {m.category for m in matches} == {row["category"]}


def test_scene_search_uses_the_settings_query(small_catalog, scene_path):
    """search_scene and match_boxes query the same way: same boxes, same matches."""
    pipe, _ = small_catalog
    lever = pipe.with_query(QueryOptions(paddings=(0.0, 0.15), flip=True))
    scene = scene_path("take-a-comfy-seat-on-the-sofa")
    result = lever.search_scene(scene, any_category=True)
    assert result.objects
    pixels = load_image(scene)
    direct = lever.match_boxes(pixels, [o.box for o in result.objects], [None] * len(result.objects),
                               parts=[o.parts for o in result.objects])
    assert [[m.sku for m in o.matches] for o in result.objects] == [[m.sku for m in ms] for ms in direct]


def test_a_pin_with_parts_lists_each_product_at_its_best_look(small_catalog, ikea: Path):
    """One pin for a lamp and its shade: its list holds what either crop finds, each at its better score."""
    pipe, chosen = small_catalog
    image = load_image(ikea / chosen[0]["image"])
    h, w = image.shape[:2]
    whole, part = (0.0, 0.0, float(w), float(h)), (w * 0.3, h * 0.1, w * 0.7, h * 0.5)
    category = [None]
    own, of_part = (pipe.match_boxes(image, [box], category, top_k=10)[0] for box in (whole, part))
    (fused,) = pipe.match_boxes(image, [whole], category, top_k=10, parts=[[part]])
    best = {}
    for m in own + of_part:
        best[m.sku] = max(best.get(m.sku, -1.0), m.score)
    expected = sorted(best.items(), key=lambda kv: -kv[1])[:10]
    assert [(m.sku, m.score) for m in fused] == expected
    assert {m.sku for m in own[:3]} != {m.sku for m in of_part[:3]}  # the two looks do differ


def test_a_reordered_pin_with_parts_keeps_each_products_best_rank(small_catalog, ikea: Path):
    """With local-feature re-ranking the order is no longer the cosine's: a pin's looks are fused by rank."""
    pipe, chosen = small_catalog
    reranked = pipe.with_query(QueryOptions(rerank=RerankOptions(top=10, min_inliers=4)))
    image = load_image(ikea / chosen[0]["image"])
    h, w = image.shape[:2]
    whole, part = (0.0, 0.0, float(w), float(h)), (w * 0.3, h * 0.1, w * 0.7, h * 0.5)
    own, of_part = (reranked.match_boxes(image, [box], [None], top_k=10)[0] for box in (whole, part))
    (fused,) = reranked.match_boxes(image, [whole], [None], top_k=10, parts=[[part]])
    best = {}
    for hits in (own, of_part):
        for rank, m in enumerate(hits):
            best[m.sku] = min(best.get(m.sku, (rank, -m.score)), (rank, -m.score))
    expected = sorted(best, key=best.get)[:10]
    assert [m.sku for m in fused] == expected
    assert expected != [m.sku for m in sorted(fused, key=lambda m: -m.score)]  # re-ranking did move something


def test_query_settings_come_from_config_yaml(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("query: {paddings: [0.0, 0.1], flip: true}\n")
    assert Settings.for_data_dir(tmp_path).query == QueryOptions((0.0, 0.1), True)
    assert Settings.defaults().query == QueryOptions()  # one crop: no lever paid for itself (docs/results.md)


@pytest.mark.parametrize("bad", ["query: {flop: true}", "query: {expand: 1}", "query: {paddings: [2]}", "query: [1]"])
def test_a_bad_query_setting_is_a_one_line_error(tmp_path: Path, bad: str):
    (tmp_path / "config.yaml").write_text(bad + "\n")
    with pytest.raises(DecorLensError, match="config.yaml"):
        Settings.for_data_dir(tmp_path)


def test_eval_levers_combine_over_the_plain_query():
    evaluate = pytest.importorskip("training.evaluate")
    assert evaluate.query_lever("flip+multicrop") == QueryOptions((0.0, 0.06, 0.15), True)
    assert evaluate.query_lever("plain") == QueryOptions()
    with pytest.raises(ValueError, match="unknown query lever 'expand'"):
        evaluate.query_lever("flip+expand")
