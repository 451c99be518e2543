"""Why this match: heat maps of the embedder's feature cells, on real scenes, products and models."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed
from PIL import Image

from decorlens.main import main
from engine.crops import crop
from engine.embed import Embedder
from engine.errors import ModelError
from engine.explain import explain_match, explain_tag, shares
from engine.imageio import load_image
from engine.importer import CATALOG_MAX_SIDE
from engine.models import find_first, read_card, write_card
from engine.pipeline import Pipeline
from engine.settings import Settings

EMBEDDERS = ("mobilenet_v2_1.0_224_quant.float.onnx", "effnet_lite0_gem.onnx")
NO_SPATIAL = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
WHITE = 235  # IKEA product photos are shot on white: a pixel with a channel below this is the product's


def embedder(shared_models: Path, name: str, tmp_path: Path) -> Embedder:
    return Embedder(find_first([name], shared_models, tmp_path), "cpu")


def product_photos(ikea: Path, count: int) -> list[np.ndarray]:
    """Product photos of different categories whose product (its box) leaves white background around it."""
    photos: dict[str, np.ndarray] = {}
    with open(ikea / "products.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["category"] in photos:
                continue
            image = load_image(ikea / row["image"], max_side=CATALOG_MAX_SIDE)
            if 0.1 < _product_box(image).mean() < 0.6:
                photos[row["category"]] = image
            if len(photos) == count:
                break
    return list(photos.values())


def _product_box(image: np.ndarray) -> np.ndarray:
    """Where the product is: the box around its pixels (the cells of a 7 × 7 grid are coarser than its legs)."""
    rows, columns = np.nonzero((image < WHITE).any(axis=2))
    inside = np.zeros(image.shape[:2], bool)
    inside[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1] = True
    return inside


@pytest.mark.parametrize("name", EMBEDDERS)
def test_a_product_photo_against_itself_is_hot_where_the_product_is(shared_models: Path, ikea: Path,
                                                                    tmp_path: Path, name: str):
    model = embedder(shared_models, name, tmp_path)
    ratios = []
    for photo in product_photos(ikea, 10):
        heat, again = explain_match(model, photo, photo)
        assert heat.shape == photo.shape[:2] and heat.dtype == np.float32
        assert np.array_equal(heat, again) and 0 <= heat.min() and heat.max() == pytest.approx(1, abs=0.05)
        product = _product_box(photo)
        ratios.append(heat[product].mean() / heat[~product].mean())
    assert min(ratios) > 1.5, ratios  # mean heat in / out of the box: 2.0-3.5 (MobileNetV2), 3.2-5.6 (Lite0)


def test_the_cells_shares_add_up_to_the_match_score(shared_models: Path, ikea: Path, tmp_path: Path):
    """MobileNetV2 average-pools its cells: their shares sum to the cosine the search ranks by."""
    model = embedder(shared_models, EMBEDDERS[0], tmp_path)
    first, second = product_photos(ikea, 2)
    vectors = model.embed([first, second])
    for own, other in ((first, second), (second, first)):
        cells = shares(model.spatial(own), model.spatial(other))
        assert cells.shape == (7, 7)
        assert float(cells.sum()) == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-4)


def test_a_tags_match_explained_has_the_crops_and_the_photos_shape(pipeline, scene_path):
    photo = scene_path("take-a-comfy-seat-on-the-sofa")
    result = pipeline.search_scene(photo)
    obj = result.objects[0]
    match = obj.matches[0]
    explained = explain_tag(pipeline.embedder, photo, obj.box, pipeline.settings.padding, match.image_path)
    assert explained.crop.shape == crop(load_image(photo), obj.box, pipeline.settings.padding).shape
    assert explained.crop_heat.shape == explained.crop.shape[:2]
    assert explained.product_heat.shape == explained.product.shape[:2]
    crop_overlay, product_overlay = explained.overlays()
    assert crop_overlay.shape == explained.crop.shape and product_overlay.dtype == np.uint8
    hot = np.unravel_index(np.argmax(explained.crop_heat), explained.crop_heat.shape)
    assert not np.array_equal(crop_overlay[hot], explained.crop[hot])  # the heat shows where it is hot


def test_a_tag_with_parts_is_explained_with_the_look_its_match_came_from(pipeline, scene_path, ikea: Path,
                                                                         ikea_products, tmp_path: Path):
    """A product photo pasted into a room: the whole room is the tag's box, the pasted photo its part."""
    room = load_image(scene_path("take-a-comfy-seat-on-the-sofa")).copy()
    product_path = ikea / ikea_products[0]["image"]
    product = np.asarray(Image.open(product_path).convert("RGB").resize((200, 200)))
    room[40:240, 60:260] = product
    photo = tmp_path / "room.png"
    Image.fromarray(room).save(photo)
    h, w = room.shape[:2]
    whole, part = (0.0, 0.0, float(w), float(h)), (60.0, 40.0, 260.0, 240.0)
    padding = pipeline.settings.padding
    alone = explain_tag(pipeline.embedder, photo, whole, padding, product_path)
    with_part = explain_tag(pipeline.embedder, photo, whole, padding, product_path, [part])
    assert alone.crop.shape == crop(room, whole, padding).shape
    assert np.array_equal(with_part.crop, crop(room, part, padding))


def test_a_card_without_a_feature_map_says_so_in_one_line(shared_models: Path, ikea: Path, tmp_path: Path):
    model = embedder(shared_models, NO_SPATIAL, tmp_path)
    photo = product_photos(ikea, 1)[0]
    with pytest.raises(ModelError, match="names no feature map before pooling") as error:
        explain_match(model, photo, photo)
    assert "\n" not in str(error.value)

    copy = tmp_path / EMBEDDERS[0]
    shutil.copyfile(shared_models / EMBEDDERS[0], copy)
    card = read_card(shared_models / EMBEDDERS[0])
    card.spatial_output = "no-such-tensor"
    write_card(copy, card)
    with pytest.raises(ModelError, match="'no-such-tensor' is not a"):
        explain_match(Embedder(find_first([copy.name], tmp_path, tmp_path), "cpu"), photo, photo)


@pytest.mark.train
def test_an_exported_embedder_names_its_feature_map(shared_models: Path, ikea: Path, tmp_path: Path):
    """``training.export`` (models export, fine-tuning) writes the pre-pooling tensor into the card."""
    pytest.importorskip("torch")
    from training.export import export_embedder

    path = export_embedder("mobilenet_v2", tmp_path, shared_models / "mobilenet_v2-imagenet-tflite.pth",
                           num_classes=1001)
    model = Embedder(find_first([path.name], tmp_path, tmp_path), "cpu")
    assert model.card.spatial_output
    photo = product_photos(ikea, 1)[0]
    heat, _ = explain_match(model, photo, photo)
    inside = _product_box(photo)
    assert heat[inside].mean() > 1.5 * heat[~inside].mean()


@pytest.mark.gui
def test_why_this_match_toggles_heat_over_the_crop_and_the_product(qtbot, main_window, pipeline, scene_path,
                                                                    tmp_path: Path):
    """In the app: the toggle shows the selected match's heat maps (computed in a worker), a click on
    another match explains that one, and switching it off gives the product's plain picture back."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import Qt

    window = main_window(pipeline, (1280, 800))
    photo = scene_path("take-a-comfy-seat-on-the-sofa")
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.controller.scene is not None and window.controller.path == photo,
                    timeout=90_000)
    tag = next(t for t in window.controller.scene.visible if len(t.obj.matches) >= 2)
    window.view.activate(tag.number)
    panel = window.panel
    qtbot.waitUntil(lambda: panel.number == tag.number and len(panel.rows) >= 2, timeout=10_000)
    assert not panel.why_view.isVisible()

    def explained(row) -> bool:
        return panel.why_view.crop.pixmap() is not None and not panel.why_view.crop.pixmap().isNull() \
            and row.thumb.path == ""

    first, second = panel.rows[0], panel.rows[1]
    panel.why.click()
    assert panel.why_view.isVisible()
    qtbot.waitUntil(lambda: explained(first), timeout=60_000)
    assert panel.why_view.note.text().startswith("Bright:")
    assert panel.grab().save(str(tmp_path / "why-this-match.png"))

    qtbot.mouseClick(second, Qt.MouseButton.LeftButton)  # explains the match clicked instead
    assert panel.selected == second.match.sku and first.thumb.path == first.match.image_path
    qtbot.waitUntil(lambda: explained(second), timeout=60_000)

    panel.why.click()
    assert not panel.why_view.isVisible() and second.thumb.path == second.match.image_path


HOSTILE_SKU = "../../x/é\u202e;rm -rf ~\n.png"
SOFA_SCENE = "take-a-comfy-seat-on-the-sofa"
EVERY = 40  # the CLI tests' own small catalog: every 40th shared product (about 50)


def _import(tmp_path: Path, exported_models: Path, ikea: Path, rows: list[dict[str, str]],
            extra: list[list[str]] = ()) -> Path:
    """A data dir of its own holding a small real catalog, as `decorlens --data-dir` reads it."""
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")
    report = Pipeline(Settings.defaults().with_(data_dir=data)).import_catalog(
        write_feed(ikea, rows, tmp_path / "feed.csv", extra))
    assert report.added == len(rows) + len(extra), report.summary()
    return data


def test_search_why_writes_each_tags_crop_and_product_under_their_heat(tmp_path: Path, exported_models: Path,
                                                                       ikea: Path, ikea_products, scene_path,
                                                                       capsys: pytest.CaptureFixture[str]):
    data = _import(tmp_path, exported_models, ikea, ikea_products[::EVERY])
    photo, out = scene_path(SOFA_SCENE), tmp_path / "why"
    assert main(["-q", "--data-dir", str(data), "search", str(photo), "--json", "--why", str(out)]) == 0
    printed = capsys.readouterr()
    objects = json.loads(printed.out)["objects"]
    tagged = [(n, o) for n, o in enumerate(objects, 1) if o["matches"]]
    assert len(tagged) >= 2
    paths = [Path(line.removeprefix("why tag: ")) for line in printed.err.splitlines() if line.startswith("why tag: ")]
    assert sorted(paths) == sorted(out.iterdir()) and len(paths) == len(tagged)

    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    again = pipeline.search_scene(photo)  # the boxes unrounded (the JSON rounds them)
    assert [o.matches[0].sku for o in again.objects if o.matches] == [o["matches"][0]["sku"] for _, o in tagged]
    for (number, obj), path in zip([(n, o) for n, o in enumerate(again.objects, 1) if o.matches], paths):
        best = obj.matches[0]
        assert path.name == f"tag{number:02d}-{best.sku.replace('.', '_')}.png"
        explained = explain_tag(pipeline.embedder, photo, obj.box, pipeline.settings.padding, best.image_path,
                                obj.parts)
        written = np.asarray(Image.open(path).convert("RGB"))
        assert np.array_equal(written, explained.side_by_side())  # the crop's and the product's heat, both
        crop_overlay, product_overlay = explained.overlays()
        left = written[:, : written.shape[1] // 2]
        assert written.shape[0] > 300 and (left < 250).any() and (written[:, -40:-20] < 250).any()
        assert not np.array_equal(crop_overlay, explained.crop) and not np.array_equal(product_overlay,
                                                                                       explained.product)


def test_search_why_names_a_hostile_skus_file_safely(tmp_path: Path, exported_models: Path, ikea: Path,
                                                     ikea_products, scene_path, capsys: pytest.CaptureFixture[str]):
    """The SKU is feed text: it cannot pick the folder or the name. An embedder whose card names no
    feature map is the engine's one-line error, and the files already there stay as they are."""
    sofa = next(r for r in ikea_products if r["category"] == "sofa")
    data = _import(tmp_path, exported_models, ikea, [], [[HOSTILE_SKU, "Sofa", "sofa", str(ikea / sofa["image"])]])
    out = tmp_path / "why"
    args = ["-q", "--data-dir", str(data), "search", str(scene_path(SOFA_SCENE)), "--box", "300,400,900,700",
            "--why", str(out)]
    assert main(args) == 0
    (written,) = out.iterdir()
    assert written.name == "tag01-x_rm_-rf_png.png"
    assert f"why tag: {written}" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "feed.csv", "why"]  # nothing beside it

    assert main(["-q", "--data-dir", str(data), "--embedder", NO_SPATIAL, *args[3:]]) == 2  # no feature map
    error = capsys.readouterr().err
    assert "names no feature map before pooling" in error and error.count("\n") == 1
    assert [p.name for p in out.iterdir()] == [written.name]
