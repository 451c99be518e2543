"""The app's file formats: corrections (a superset of search JSON) and shoppable pages, without Qt; and what the
matches panel says of a confirmed product the page leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest
from ikea_feed import write_feed
from PIL import Image

from decorlens.main import main
from engine import corrections
from engine.corrections import USER, EditableScene
from engine.errors import DecorLensError
from engine.results import Match, SceneObject, SceneResult
from engine.shoppable import write_page, write_scene_page


def _match(sku: str, category: str, score: float, image: str = "") -> Match:
    return Match(int(sku[-1]), sku, f"Product {sku}", category, score, "similar", image, "", "")


@pytest.fixture
def result(tmp_path: Path) -> SceneResult:
    photo = tmp_path / "room.jpg"
    Image.new("RGB", (200, 100), "white").save(photo)
    product = tmp_path / "p1.png"
    Image.new("RGB", (10, 10), "red").save(product)
    objects = [
        SceneObject(
            "chair",
            "chair",
            0.9,
            (10, 10, 60, 90),
            (35, 50),
            [_match("sku1", "chair", 0.7, str(product)), _match("sku2", "armchair", 0.6)],
        ),
        SceneObject("lamp", "Lamp", 0.5, (100, 5, 140, 60), (120, 30), [_match("sku3", "lamp", 0.5)],
                    parts=((90.0, 0.0, 150.0, 70.0),)),
    ]
    return SceneResult(str(photo), 200, 100, "CPU", {"detect": 1.0}, objects)


def test_corrections_round_trip_and_stay_a_superset_of_search_json(result, tmp_path):
    scene = EditableScene(result, "ab" * 32)
    scene.confirm(1, result.objects[0].matches[1])
    scene.remove(2)
    drawn = scene.add_region(
        SceneObject("", "region", 1.0, (150, 50, 190, 90), (170, 70), [_match("sku4", "rug", 0.4)], "user")
    )
    assert drawn.number == 3 and drawn.obj.category == "rug" and drawn.origin == USER
    scene.set_category(1, "armchair", [_match("sku2", "armchair", 0.6)])
    data = scene.to_json()
    plain = result.to_json()
    assert set(plain) <= set(data) and set(plain["objects"][0]) <= set(data["objects"][0])
    assert [o["number"] for o in data["objects"]] == [1, 3] and [o["number"] for o in data["removed"]] == [2]
    assert (
        data["objects"][0]["original_category"] == "chair" and data["objects"][0]["confirmed_sku"] == "sku2"
    )

    path = corrections.save(data, tmp_path)
    assert corrections.find_saved(tmp_path, "ab" * 32) == path
    loaded = corrections.load(path, result.image)
    assert [(t.number, t.removed, t.obj.category) for t in loaded.tags] == [
        (1, False, "armchair"),
        (2, True, "lamp"),
        (3, False, "rug"),
    ]
    assert loaded.tag(1).best.sku == "sku2"
    assert loaded.tag(2).obj.parts == ((90.0, 0.0, 150.0, 70.0),)  # searching it again uses them too
    assert corrections.save(loaded.to_json(), tmp_path) == path  # same file, rewritten in place


def test_unreadable_corrections_are_kept_aside_not_overwritten(tmp_path):
    path = corrections.corrections_path(tmp_path, "room.jpg", "cd" * 32)
    path.parent.mkdir()
    path.write_text("{ half a file")
    with pytest.raises(DecorLensError, match="unreadable"):
        corrections.load(path, "room.jpg")
    assert not path.exists() and corrections.find_saved(tmp_path, "cd" * 32) is None
    assert (path.parent / f"{path.stem}.unreadable.json").read_text() == "{ half a file"


@pytest.mark.parametrize("field, bad", [("parts", [[1, 2, 3]]), ("parts", [["a", 0, 1, 1]]), ("box", [0, 0, 1e400, 5])])
def test_a_malformed_box_makes_saved_edits_unreadable(result, tmp_path, field, bad):
    """A part or box that is not four finite numbers is not dropped or searched with: the file is set aside."""
    data = EditableScene(result, "ef" * 32).to_json()
    data["objects"][1][field] = bad
    path = corrections.save(data, tmp_path)
    with pytest.raises(DecorLensError, match="unreadable.*four finite numbers"):
        corrections.load(path, result.image)
    assert (path.parent / f"{path.stem}.unreadable.json").exists()


@pytest.mark.parametrize("written, read", [("mobilenet_v2-imagenet-d328850cf896", "mobilenet_v2-imagenet-d328850cf896"),
                                           (None, ""), (5, ""), (["a"], "")])
def test_the_embedder_that_matched_the_tags_is_kept_and_a_bad_one_is_only_unknown(result, tmp_path, written, read):
    """Saved edits name the embedder whose matches they hold, so another one put in use matches them again. A file
    without it (saved before it was kept) or with anything but text there reads as unknown: the tags are matched
    again, and the user's edits are not set aside as unreadable for a field that is not theirs."""
    scene = EditableScene(result, "ef" * 32, matched_with="mobilenet_v2-imagenet-d328850cf896")
    scene.remove(2)
    data = scene.to_json()
    assert data["corrections"]["matched_with"] == "mobilenet_v2-imagenet-d328850cf896"
    if written is None:
        del data["corrections"]["matched_with"]
    else:
        data["corrections"]["matched_with"] = written
    loaded = corrections.load(corrections.save(data, tmp_path), result.image)
    assert loaded.matched_with == read and loaded.tag(2).removed


def test_shoppable_page_has_a_hotspot_per_matched_object(result, tmp_path):
    out = tmp_path / "out"
    scene = EditableScene(result, "ef" * 32)
    scene.confirm(1, result.objects[0].matches[1])
    page = write_page(scene.to_json(), Path(result.image), out, "room")
    text = page.read_text()
    assert text.count('class="spot"') == 2
    assert "left:17.50%;top:50.00%" in text  # the chair's tag at (35, 50) of 200x100
    assert "Product sku2" in text.split('class="spot"')[1]  # the confirmed product, not the top match
    assert (out / "images" / "room.jpg").is_file()


def test_the_panel_marks_a_confirmed_product_removed_since_and_says_what_the_page_shows(
    qtbot, fresh_pipeline, ikea: Path, ikea_products, scene_path, tmp_path: Path, qapp
):
    """A confirmed product later removed from the catalog still read "✓ Confirmed" with nothing else: the page
    leaves it out and pins the tag's best match still in the catalog, and the panel says so, naming that one."""
    from app.labels import product_title
    from app.scene_controller import current_products
    from app.thumbnails import Thumbnails
    from app.widgets.results_panel import ResultsPanel
    from app.workers import Runner

    rows = [r for r in ikea_products if r["category"] == "sofa"][:3]
    assert fresh_pipeline.import_catalog(write_feed(ikea, rows, tmp_path / "feed.csv")).added == 3
    products = [fresh_pipeline.catalog.get_by_sku(r["product_id"]) for r in rows]
    photo = scene_path("a-cosy-space-for-coffee-and-conversation")
    width, height = Image.open(photo).size
    matches = [Match(p.id, p.sku, p.name, p.category, 0.8 - i / 10, "exact", p.image_path) for i, p in enumerate(products)]
    obj = SceneObject("sofa", "couch", 0.9, (0, 0, width / 2, height / 2), (width / 4, height / 4), matches)
    scene = EditableScene(SceneResult(str(photo), width, height, "CPU", {}, [obj]), "ab" * 32)
    scene.confirm(1, matches[1])

    assert main(["-q", "--data-dir", str(fresh_pipeline.data_dir), "catalog", "remove", matches[1].sku]) == 0
    gone = scene.skus() - current_products(fresh_pipeline, scene.skus()).keys()  # the window's catalog refresh
    panel = ResultsPanel(Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(panel)
    panel.gone = gone
    panel.show_tag(scene.tag(1), "#3b82f6", ["sofa"], ("sofa",))
    panel.show_matches(scene.tag(1).obj.matches)

    written = write_scene_page(fresh_pipeline, scene.to_json(), photo, tmp_path / "out", "room")
    assert written.gone == 1 and f'data-sku="{matches[0].sku}"' in written.path.read_text()
    assert f'data-sku="{matches[1].sku}"' not in written.path.read_text()
    assert scene.tag(1).on_page(gone) == matches[0]
    shown = product_title(matches[0].name, matches[0].sku, matches[0].category)
    assert f"the shoppable page shows {shown} instead" in panel.subtitle.text()
    confirmed = panel.rows[1]
    assert confirmed.gone_note.text() == "No longer in the catalog"
    assert confirmed.confirm.text() == "✓ Confirmed" and confirmed.confirm.isEnabled()  # to withdraw it
    assert "No longer in the catalog" in confirmed.accessibleName()
    assert [r.confirm.text() for r in (panel.rows[0], panel.rows[2])] == ["Confirm match"] * 2
