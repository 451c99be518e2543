"""Re-ranking by local features (engine.rerank): real IKEA product photos, real SIFT, real RANSAC, real catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from ikea_feed import write_feed

from engine.crops import crop
from engine.errors import DecorLensError
from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.query import QueryOptions
from engine.rerank import LocalFeatures, RerankOptions, check, inliers, rerank_matches
from engine.results import Match
from engine.settings import Settings

CATEGORY = "rug"  # flat, patterned products: the case local features are for
CANDIDATES = 8


@pytest.fixture(scope="module")
def rugs(ikea: Path, ikea_products) -> list[dict[str, str]]:
    """The first IKEA rugs of the shared data, with their image paths made absolute."""
    rows = [dict(r, image=str(ikea / r["image"])) for r in ikea_products if r["category"] == CATEGORY]
    assert len(rows) >= CANDIDATES
    return rows[:CANDIDATES]


def in_a_room(photo: np.ndarray, seed: int = 0) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The product photo seen in perspective, smaller, darker, on a noisy background: (scene, its box)."""
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    warped = np.float32([[60, 90], [w * 0.7 + 40, 70], [w * 0.75 + 60, h * 0.65 + 100], [50, h * 0.6 + 110]])
    matrix = cv2.getPerspectiveTransform(corners, warped)
    background = rng.integers(90, 160, (h + 200, w + 200, 3), dtype=np.uint8)
    scene = cv2.warpPerspective(photo, matrix, (w + 200, h + 200), dst=background, borderMode=cv2.BORDER_TRANSPARENT)
    scene = np.clip(scene.astype(np.float32) * 0.8 + rng.normal(0, 4, scene.shape), 0, 255).astype(np.uint8)
    x1, y1 = warped.min(axis=0)
    x2, y2 = warped.max(axis=0)
    return scene, (float(x1), float(y1), float(x2), float(y2))


def as_matches(rows: list[dict[str, str]]) -> list[Match]:
    """Search results in the order given, cosines falling (as the index returns them)."""
    return [
        Match(i, r["product_id"], r["name"], r["category"], 0.9 - 0.01 * i, "similar", r["image"])
        for i, r in enumerate(rows)
    ]


def crop_of(scene: np.ndarray, box) -> np.ndarray:
    x1, y1, x2, y2 = (int(v) for v in box)
    return scene[y1:y2, x1:x2]


def test_the_same_product_in_perspective_has_many_inliers_a_different_one_few(rugs):
    features = LocalFeatures()
    target = rugs[0]
    scene, box = in_a_room(load_image(target["image"]))
    query = features.of_pixels(crop_of(scene, box))
    same = inliers(query, features.of_product(target["image"]))
    others = [inliers(query, features.of_product(r["image"])) for r in rugs[1:]]
    assert same >= 3 * RerankOptions().min_inliers, (same, others)
    assert max(others) < RerankOptions().min_inliers <= same, (same, others)


def test_rerank_brings_the_verified_product_first_and_keeps_the_rest_in_order(rugs):
    features = LocalFeatures()
    target = rugs[6]
    scene, box = in_a_room(load_image(target["image"]), seed=1)
    matches = as_matches(rugs)
    got = rerank_matches(crop_of(scene, box), matches, RerankOptions(top=CANDIDATES), features)
    assert got[0].sku == target["product_id"]
    rest = [m for m in matches if m.sku != target["product_id"]]
    assert got[1:] == rest  # the unverified keep the embedder's order
    assert got[0] == matches[6]  # moved, not rescored: its cosine is the embedder's


def test_only_the_top_is_reranked(rugs):
    """A product past ``top`` stays where the search put it, however good its evidence."""
    features = LocalFeatures()
    target = rugs[-1]
    scene, box = in_a_room(load_image(target["image"]))
    matches = as_matches(rugs)
    got = rerank_matches(crop_of(scene, box), matches, RerankOptions(top=CANDIDATES - 1), features)
    assert got == matches


@pytest.mark.parametrize("bad", [
    np.zeros((5, 5, 3), np.uint8),  # tiny
    np.full((200, 300, 3), 128, np.uint8),  # blank: no features at all
    np.zeros((0, 40, 3), np.uint8),  # empty
])
def test_a_crop_without_features_leaves_the_order_alone(rugs, bad: np.ndarray):
    matches = as_matches(rugs)
    assert rerank_matches(bad, matches, RerankOptions(top=CANDIDATES), LocalFeatures()) == matches


def test_an_unreadable_product_photo_has_no_evidence_and_keeps_its_place(rugs, tmp_path: Path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    rows = [dict(rugs[1], image=str(broken)), dict(rugs[2], image=str(tmp_path / "gone.jpg")), *rugs[3:]]
    target = rugs[6]
    scene, box = in_a_room(load_image(target["image"]))
    got = rerank_matches(crop_of(scene, box), as_matches(rows), RerankOptions(top=CANDIDATES), LocalFeatures())
    assert [m.sku for m in got[:3]] == [target["product_id"], rugs[1]["product_id"], rugs[2]["product_id"]]


def test_rerank_setting_forms(tmp_path: Path):
    assert RerankOptions.from_raw(None) == RerankOptions.from_raw(0) == RerankOptions()
    assert not RerankOptions().on
    assert RerankOptions.from_raw(20) == RerankOptions(top=20)
    assert RerankOptions.from_raw(True).top == 20
    assert RerankOptions.from_raw({"top": 10, "min_inliers": 15}) == RerankOptions(top=10, min_inliers=15)
    (tmp_path / "config.yaml").write_text("query: {rerank: {top: 30}}\n")
    assert Settings.for_data_dir(tmp_path).query == QueryOptions(rerank=RerankOptions(top=30))


def test_the_side_setting_sizes_the_images_described(tmp_path: Path, rugs):
    """``query: rerank: side`` was checked and then never used: every image was described at 400 px."""
    (tmp_path / "config.yaml").write_text("query: {rerank: {top: 20, side: 160}}\n")
    features = Pipeline(Settings.for_data_dir(tmp_path).with_(data_dir=tmp_path)).local_features
    points = features.of_pixels(load_image(rugs[1]["image"])).points
    assert len(points) and points.max() < 160


@pytest.mark.parametrize("bad", ["query: {rerank: {tops: 3}}", "query: {rerank: -1}", "query: {rerank: [1]}",
                                 "query: {rerank: {ratio: 2}}"])
def test_a_bad_rerank_setting_is_a_one_line_error(tmp_path: Path, bad: str):
    (tmp_path / "config.yaml").write_text(bad + "\n")
    with pytest.raises(DecorLensError, match="config.yaml"):
        Settings.for_data_dir(tmp_path)


@pytest.fixture(scope="module")
def rug_catalog(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path, ikea_products):
    """A data dir whose catalog holds the first 40 IKEA rugs, embedded by the default embedder."""
    data = tmp_path_factory.mktemp("rerank-data")
    shutil.copytree(exported_models, data / "models")
    rows = [r for r in ikea_products if r["category"] == CATEGORY][:40]
    feed = write_feed(ikea, rows, data / "feed.csv")
    pipe = Pipeline(Settings.defaults().with_(data_dir=data))
    assert pipe.import_catalog(feed).added == len(rows)
    return pipe, rows


def test_the_pipeline_reranks_when_the_query_says_so(rug_catalog, ikea: Path):
    """With ``query: rerank`` a perspective view of a patterned rug finds that rug first, whenever the search
    put it within the top 20; the clicked-tag check does the same whatever the settings say."""
    pipe, rows = rug_catalog
    options = RerankOptions(top=20)
    reranking = pipe.with_query(QueryOptions(rerank=options))
    checked = 0
    for i, row in enumerate(rows[::4]):
        scene, box = in_a_room(load_image(ikea / row["image"]), seed=i)
        (reranked,) = reranking.match_boxes(scene, [box], [CATEGORY], top_k=5)
        assert len(reranked) == 5 and {m.category for m in reranked} == {CATEGORY}
        clicked = pipe.check_object(scene, box, CATEGORY, top_k=5)
        assert [c.match.sku for c in clicked] == [m.sku for m in reranked]
        (top20,) = pipe.match_boxes(scene, [box], [CATEGORY], top_k=20)
        query = pipe.local_features.of_pixels(crop(scene, box, pipe.settings.padding))
        evidence = inliers(query, pipe.local_features.of_product(str(ikea / row["image"])), options)
        if row["product_id"] in {m.sku for m in top20} and evidence >= options.min_inliers:
            checked += 1
            assert reranked[0].sku == row["product_id"], (row["product_id"], evidence, [m.sku for m in top20])
    assert checked >= 3  # enough rugs with a pattern, within the search's reach


def test_a_mirrored_view_is_verified_through_the_crops_mirror(rugs):
    """SIFT is not mirror-invariant: a room showing the product's other side needs the mirrored crop."""
    target = rugs[1]  # a printed rug: its mirror image is not itself
    scene, box = in_a_room(np.ascontiguousarray(load_image(target["image"])[:, ::-1]))
    matches = as_matches(rugs)
    plain = rerank_matches(crop_of(scene, box), matches, RerankOptions(top=CANDIDATES, mirror=False), LocalFeatures())
    mirrored = rerank_matches(crop_of(scene, box), matches, RerankOptions(top=CANDIDATES), LocalFeatures())
    assert plain == matches
    assert mirrored[0].sku == target["product_id"] and mirrored[1:] == [m for m in matches if m is not matches[1]]


def test_a_tag_is_checked_with_its_parts_too(rug_catalog, ikea: Path):
    """A tag's parts (a pendant lamp's shade) are checked as well as its box. Here the rug fills a corner of
    a wide box, too small in it for its details to count; as the box's part it is verified."""
    pipe, rows = rug_catalog
    row = rows[0]
    scene, box = in_a_room(load_image(ikea / row["image"]))
    h, w = scene.shape[:2]
    wide = np.random.default_rng(0).integers(90, 160, (4 * h, 4 * w, 3), dtype=np.uint8)
    wide[:h, :w] = scene
    room = (0.0, 0.0, 4.0 * w, 4.0 * h)
    alone = pipe.check_object(wide, room, CATEGORY, top_k=20)
    with_part = pipe.check_object(wide, room, CATEGORY, parts=[box], top_k=20)
    assert not any(c.same for c in alone), [(c.match.sku, c.inliers) for c in alone[:3]]
    first = with_part[0]
    assert (first.match.sku, first.same) == (row["product_id"], True)
    assert first.inliers >= RerankOptions().min_inliers
    assert not any(c.same for c in with_part[1:])


def test_check_reports_each_candidates_evidence(rugs):
    """``check`` keeps every candidate, each with its count; the verified one first."""
    target = rugs[6]
    scene, box = in_a_room(load_image(target["image"]), seed=1)
    matches = as_matches(rugs)
    checked = check([crop_of(scene, box)], matches, RerankOptions(top=CANDIDATES), LocalFeatures())
    assert [c.match for c in checked[1:]] == [m for m in matches if m is not matches[6]]
    assert checked[0].match is matches[6] and checked[0].same
    assert all(c.inliers < RerankOptions().min_inliers and not c.same for c in checked[1:])


@pytest.mark.gui
def test_check_details_in_the_app_puts_the_rug_first_and_marks_it(qtbot, window, rugs, scene_path, tmp_path: Path):
    """A rug pasted in perspective into a real room, boxed by the user: *Check details* (a worker) lists it
    first with the points it shares, says how many products share details, and a new box starts unchecked.
    The ``window`` fixture takes away the drawn box's corrections file it saves in the session data dir."""
    pytest.importorskip("pytestqt")
    from PIL import Image

    target = rugs[0]
    patch, box = in_a_room(load_image(target["image"]))
    room = load_image(scene_path("take-a-comfy-seat-on-the-sofa")).copy()
    h, w = min(patch.shape[0], room.shape[0]), min(patch.shape[1], room.shape[1])
    room[:h, :w] = patch[:h, :w]
    photo = tmp_path / "room-with-rug.png"
    Image.fromarray(room).save(photo)

    window.open_paths([photo])
    controller, panel = window.controller, window.panel
    qtbot.waitUntil(lambda: controller.scene is not None and controller.path == photo, timeout=90_000)
    before = {t.number for t in controller.scene.tags}
    controller.search_region(box)
    qtbot.waitUntil(lambda: bool({t.number for t in controller.scene.tags} - before), timeout=60_000)
    (number,) = {t.number for t in controller.scene.tags} - before
    window.view.activate(number)
    qtbot.waitUntil(lambda: panel.number == number and len(panel.rows) >= 2, timeout=10_000)
    assert not panel.check_note.isVisible()
    card, pin = window.view.card, window.view.pins[number]
    pin.hovered.emit(number, True)
    searched_first = controller.scene.tag(number).obj.matches[0]
    assert card.isVisible() and searched_first.sku in card.detail.text() and "points match" not in card.badge.text()

    panel.check.click()
    assert not panel.check.isEnabled() and panel.check.text() == "Checking…"
    qtbot.waitUntil(lambda: panel.check_note.isVisible(), timeout=60_000)
    assert panel.check.isEnabled()
    first = panel.rows[0]
    assert first.match.sku == target["product_id"], [r.match.sku for r in panel.rows]
    assert "points match" in first.evidence.text()
    assert not any(hasattr(row, "evidence") for row in panel.rows[1:])
    assert panel.check_note.text().startswith("Checked: 1 product shares")
    # the card, open all along, now shows what the panel lists first, with its evidence
    assert card.isVisible() and target["product_id"] in card.detail.text() and "points match" in card.badge.text()
    assert card.height() >= card.sizeHint().height()  # grown to the evidence line, not clipped at its old size
    assert panel.grab().save(str(tmp_path / "check-details.png"))

    window.view.activate(next(iter(before)))  # another tag: its own, unchecked list
    qtbot.waitUntil(lambda: panel.number != number and len(panel.rows) >= 1, timeout=10_000)
    assert not panel.check_note.isVisible() and not any(hasattr(row, "evidence") for row in panel.rows)
    window.view.activate(number)  # back: the check is remembered
    qtbot.waitUntil(lambda: panel.number == number and panel.check_note.isVisible(), timeout=10_000)
    assert panel.rows[0].match.sku == target["product_id"]
