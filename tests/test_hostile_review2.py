"""Holes a second review of hostile input found in files a shared or synced data folder may hold, and in what
DecorLens generates from them: each a one-line error or a note, never a traceback, never markup run or shown.

test_hostile_review, test_hostile_inputs, test_hostile_models and test_hostile_training_inputs hold the attacks
thought of before (bundles, feeds, models, photos, corrections files).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from engine import corrections, scene_memory
from engine.catalog import Catalog, Product
from engine.categories import CategoryMap
from engine.errors import DecorLensError, ModelError
from engine.explain import PANEL_GAP, PANEL_HEIGHT, Explanation
from engine.files import NotAFile
from engine.modelpack import LOCK_FILE, install, read_pack
from engine.models import card_path_for, read_card
from engine.results import Match, SceneObject, SceneResult
from engine.review_queue import queue_head, review_queue
from engine.settings import Settings


def _user_map(data: Path, text: str) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    (data / "categories.yaml").write_text(text)
    return data


@pytest.mark.parametrize("key", ["null", "yes", "~"])
def test_a_category_map_naming_no_text_as_a_category_is_one_line(tmp_path: Path, key: str) -> None:
    """``null:`` or ``yes:`` as a category was kept as None or True: the app's tag panel and Settings list then
    ended in a TypeError at its first display name."""
    data = _user_map(tmp_path, f"categories:\n  {key}: {{search: [lamp]}}\n  lamp: {{}}\n")
    with pytest.raises(DecorLensError, match="where a category or class name goes") as caught:
        CategoryMap.load(data)
    assert "\n" not in str(caught.value)


def test_a_category_map_naming_a_category_in_digits_reads_it_as_text(tmp_path: Path) -> None:
    """``2024:`` is the category "2024", shown and searched as text wherever the map's categories go."""
    data = _user_map(tmp_path, "categories:\n  2024: {}\n  lamp: {search: [lamp]}\n"
                               "detectors:\n  coco: {vase: 2024}\n  7: {chair: lamp}\nnames:\n  2024: Year\n")
    cats = CategoryMap.load(data)
    assert cats.categories == ["2024", "lamp"]
    assert cats.searched("2024") == ("2024",)
    assert [cats.display_name(c) for c in cats.categories] == ["Year", "Lamp"]
    assert cats.decor_category("coco", "vase") == "2024"
    assert cats.decor_category("7", "chair") == "lamp"


@pytest.mark.parametrize("line", [
    "confidence: abc", "confidence: 5", "exact_threshold: abc", "exact_threshold: .nan", "top_k: -3", "top_k: 2.5",
    "padding: .nan", "device: foo", "detectors: [[{a: 1}]]", "detectors: [[]]", "embedder: [7]",
])
def test_a_config_value_of_the_wrong_kind_or_range_is_one_line_naming_it(tmp_path: Path, line: str) -> None:
    """config.yaml's values were taken as they were: ``confidence: abc`` ended a search in "unexpected
    UFuncTypeError", ``exact_threshold: abc`` and ``detectors: [[{a: 1}]]`` in "unexpected TypeError",
    ``confidence: 5`` found nothing in every photo and ``device: foo`` ran on the CPU, both without a word."""
    (tmp_path / "config.yaml").write_text(line + "\n")
    with pytest.raises(DecorLensError, match=f"config.yaml holds a value of the wrong kind \\({line.split(':')[0]}: "):
        Settings.for_data_dir(tmp_path)


def test_config_values_in_range_are_read(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("confidence: 0.3\nexact_threshold: 1.01\ntop_k: 12\npadding: 0\n"
                                          "device: cpu\ndetectors: [[a.onnx, b.onnx], c.onnx]\nembedder: e.onnx\n")
    settings = Settings.for_data_dir(tmp_path)
    assert (settings.confidence, settings.exact_threshold, settings.top_k, settings.padding, settings.device) == (
        0.3, 1.01, 12, 0, "cpu")
    assert settings.detectors == (("a.onnx", "b.onnx"), ("c.onnx",)) and settings.embedder == ("e.onnx",)


@pytest.mark.parametrize(("line", "refusal"), [
    ("query: {rerank: {top: .inf}}", "query rerank top must be a whole number"),
    ("query: {rerank: {top: 5, mirror: 'false'}}", "query rerank mirror must be true or false"),
    ("query: {rerank: {top: 5, reproj: .nan}}", "query rerank reproj must be a number"),
    ("query: {types: {weight: 0.3, top: 2.5}}", "query types top must be a whole number"),
    ("query: {flip: 'false'}", "query flip must be true or false"),
    ("query: {paddings: 0.1}", "query paddings must be a list of 1 to 4 numbers"),
    ("query: {paddings: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}", "a list of 1 to 4 numbers"),
    ("query: {paddings: [0.06, abc]}", "query paddings must be a number"),
])
def test_a_query_setting_is_cast_only_from_a_value_of_its_kind(tmp_path: Path, line: str, refusal: str) -> None:
    """Each field was cast by its default's type: ``top: .inf`` ended in "unexpected OverflowError", the text
    'false' turned mirroring on (``bool("false")``), a nan reached OpenCV and 2.5 candidates were quietly 2. So
    did 'false' turn flipping on; twenty paddings took a photo's embedding from 0.4 s to 6.5 s, and one number alone
    ended in "unexpected TypeError"."""
    (tmp_path / "config.yaml").write_text(line + "\n")
    with pytest.raises(DecorLensError, match=refusal):
        Settings.for_data_dir(tmp_path)


def test_a_query_setting_written_as_text_digits_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("query: {rerank: {top: '20', mirror: false}, types: {weight: '0.3'}}\n")
    query = Settings.for_data_dir(tmp_path).query
    assert (query.rerank.top, query.rerank.mirror, query.types.weight) == (20, False, 0.3)


def _scene(photo: Path, sha: str, sku: str) -> corrections.EditableScene:
    match = Match(1, sku, f"Product {sku}", "chair", 0.7, "similar", "", "", "")
    obj = SceneObject("chair", "chair", 0.9, (10, 10, 60, 90), (35, 50), [match])
    return corrections.EditableScene(SceneResult(str(photo), 200, 100, "CPU", {}, [obj]), sha)


@pytest.mark.parametrize("header", ["other", 5, "abc"])
def test_a_corrections_file_naming_another_photos_hash_is_set_aside_and_that_photos_edits_kept(
        tmp_path: Path, header: object) -> None:
    """``find_saved`` finds a photo's file by the key in its name; the scene then took the file's own image_sha256.
    A file under photo A's key holding photo B's hash (copied in from a shared folder): the app's next save of A
    overwrote B's edits with A's tags, and `decorlens tag A` dropped B from the scene memory (its rows deleted by
    hash) and stored A under B's hash. An image_sha256 of no hash (5) went on to fail at the first save."""
    data = tmp_path / "data"
    photos = {}
    for name, colour in (("a", "white"), ("b", "black")):
        photos[name] = tmp_path / f"{name}.jpg"
        Image.new("RGB", (200, 100), colour).save(photos[name])
    sha_a, sha_b = (corrections.image_digest(photos[n]) for n in "ab")
    b_file = corrections.save(_scene(photos["b"], sha_b, "mine").to_json(), data)
    b_bytes = b_file.read_bytes()
    planted = _scene(photos["a"], sha_a, "theirs").to_json()
    planted["corrections"]["image_sha256"] = sha_b if header == "other" else header
    a_file = corrections.corrections_path(data, photos["a"], sha_a)
    a_file.write_text(json.dumps(planted))

    assert corrections.find_saved(data, sha_a) == a_file
    with pytest.raises(corrections.UnreadableEdits, match="image_sha256") as caught:
        corrections.load(a_file, photos["a"])
    assert "\n" not in str(caught.value) and "kept as" in str(caught.value)
    assert not a_file.exists() and a_file.with_name(a_file.stem + ".unreadable.json").is_file()
    assert b_file.read_bytes() == b_bytes
    assert corrections.load(b_file, photos["b"]).image_sha256 == sha_b


def _manifest(tmp_path: Path, **entry: object) -> Path:
    fields = {"file": "model.onnx", "role": "detector", "size": 3, "sha256": "a" * 64, **entry}
    path = tmp_path / "modelpack.yaml"
    path.write_text(yaml.safe_dump({"name": "pack", "version": "1", "files": [fields]}))
    return path


@pytest.mark.parametrize(("entry", "refusal"), [
    ({"file": "../outside.onnx"}, "not a plain file name"),
    ({"file": "/tmp/outside.onnx"}, "not a plain file name"),
    ({"file": ".."}, "not a plain file name"),
    ({"file": "a\x1b[2Jb.onnx"}, "no control characters"),
    ({"file": ".install.lock"}, "not hidden"),
    ({"role": "<script>"}, "has role"),
    ({"size": "3"}, "no size in bytes"),
    ({"size": -1}, "no size in bytes"),
    ({"sha256": "../x"}, "no sha256"),
])
def test_a_model_pack_manifest_entry_install_must_not_act_on_is_refused_in_one_line(
        tmp_path: Path, entry: dict, refusal: str) -> None:
    """Each name was joined to the install folder as it was: an entry "../outside.onnx" wrote outside it, and a
    size that is no number ended in TypeError summing the pack's size. The manifest ships with the code; one
    edited in place (a packaged app's resources folder) is refused before anything is written."""
    with pytest.raises(ModelError, match=refusal) as caught:
        read_pack(_manifest(tmp_path, **entry))
    assert "\n" not in str(caught.value)


def test_a_folder_where_a_model_goes_is_refused_before_its_download(tmp_path: Path, shared_models: Path) -> None:
    """The rename over the folder failed once the whole file had come: 10 MB left in NAME.part, and fetched for
    nothing. The first file's place is taken by a folder; nothing is written beside it."""
    models = tmp_path / "models"
    first = read_pack().files[0].file
    (models / first).mkdir(parents=True)
    with pytest.raises(NotAFile, match=f"{first}: is a folder, not a file to write over") as caught:
        install(shared_models, models)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in models.iterdir()) == sorted([first, LOCK_FILE])


def test_the_shipped_manifest_passes_its_own_checks() -> None:
    assert len(read_pack().files) >= 10


def _explained(crop_shape: tuple[int, int], product_shape: tuple[int, int]) -> Explanation:
    crop, product = np.full((*crop_shape, 3), 90, np.uint8), np.full((*product_shape, 3), 200, np.uint8)
    return Explanation(crop, product, np.ones(crop_shape, np.float32), np.zeros(product_shape, np.float32))


def test_a_why_match_png_of_a_thin_box_is_no_wider_than_its_panels_allow() -> None:
    """Each picture was scaled to the panel's height alone: `decorlens search --box 0,300,1024,302 --why DIR` on an
    IKEA room wrote a PNG 82,288 px wide (500 MB peak), a longer photo's more. A thin crop now keeps its shape
    within explain.MAX_PANEL_ASPECT (4) panels' width, centred on white."""
    sheet = _explained((3, 1150), (800, 600)).side_by_side()
    assert sheet.shape[0] == PANEL_HEIGHT + 2 * PANEL_GAP
    assert sheet.shape[1] <= (4 + 1) * PANEL_HEIGHT + 3 * PANEL_GAP  # the crop at most 4 panels wide
    assert (sheet[PANEL_GAP, PANEL_GAP] == 255).all() and (sheet[PANEL_GAP + PANEL_HEIGHT // 2, PANEL_GAP] < 255).all()


def test_a_why_match_png_of_an_ordinary_crop_keeps_the_panel_height() -> None:
    sheet = _explained((400, 300), (800, 600)).side_by_side()
    assert sheet.shape == (PANEL_HEIGHT + 2 * PANEL_GAP, 2 * 240 + 3 * PANEL_GAP, 3)
    assert (sheet[PANEL_GAP : PANEL_GAP + PANEL_HEIGHT, PANEL_GAP : PANEL_GAP + 240] < 255).all()


def _memory_of_one_tag(path: Path, catalog: Catalog | None = None, photo: Path | None = None) -> Catalog:
    """A catalog (``catalog``, else a new one at ``path``) whose scene memory holds one tag with two matches, in
    the tables as ``remember`` writes them, of ``photo`` if given (its path and sha256), else of a made-up one."""
    catalog = catalog or Catalog(path)
    where, sha = (str(photo), corrections.image_digest(photo)) if photo else ("/photos/room.jpg", "0" * 64)
    with catalog.write():
        for sku in "AB":  # two photos: a runner-up sold with the best match's photo is no runner-up
            catalog.upsert(Product(sku, f"Product {sku}", "chair", f"/photos/{sku}.jpg", image_hash=sku * 64), 1)
        scene_memory._ensure_schema(catalog)
        db = catalog.db
        scene = db.execute("INSERT INTO scenes (path, sha256, width, height, origin, tagged_at) VALUES "
                           "(?, ?, 200, 100, 'batch', '2026-12-06T00:00:00+00:00')", (where, sha)).lastrowid
        obj = db.execute("INSERT INTO scene_objects (scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, "
                         "best_kind, confirmed) VALUES (?, 1, 'chair', 10, 10, 60, 90, 'A', 0.8, 'similar', 0)",
                         (scene,)).lastrowid
        db.executemany("INSERT INTO scene_matches (object_id, rank, sku, score) VALUES (?, ?, ?, ?)",
                       [(obj, 1, "A", 0.8), (obj, 2, "B", 0.7)])
    return catalog


@pytest.mark.parametrize("damage", [
    "UPDATE scene_matches SET score = 'abc' WHERE rank = 1",
    "UPDATE scene_objects SET x1 = 'left'",
    "UPDATE scene_objects SET number = 'n'",
    "UPDATE scene_objects SET category = x'00ff'",  # a path of bytes is the file name's (scene_memory.read_path)
])
def test_a_review_queue_cell_of_another_type_is_the_memorys_one_line(tmp_path: Path, damage: str) -> None:
    """A cell edited in a database browser (or a damaged page) ended the Review window's listing in "could not
    convert string to float" or a TypeError; scene_memory already says such a cell in one line for Where used."""
    catalog = _memory_of_one_tag(tmp_path / "catalog.sqlite")
    assert [(i.number, i.best_sku, i.runner_up_sku) for i in review_queue(catalog)] == [(1, "A", "B")]
    with catalog.write():
        catalog.db.execute(damage)
    with pytest.raises(DecorLensError, match="the memory of tagged photos is damaged") as caught:
        queue_head(catalog, 10)
    assert "\n" not in str(caught.value)


def test_remembered_vectors_of_another_size_than_the_embedders_are_the_memorys_one_line(fresh_pipeline) -> None:
    """Vectors stored under the active embedder's key but of another length (all alike, so the per-row size check
    passes) ended `decorlens search --scenes` in numpy's "matmul: Input operand 1 has a mismatch in its core
    dimension 0…" (reproduced on the IKEA data with every vector cut to 128 numbers)."""
    catalog, key, dim = fresh_pipeline.catalog, fresh_pipeline.embedder.key, fresh_pipeline.embedder.dim
    _memory_of_one_tag(catalog.path, catalog)
    with catalog.write():
        catalog.db.execute("INSERT INTO scene_vectors (object_id, embedder, vector) SELECT id, ?, ? FROM scene_objects",
                           (key, np.ones(128, np.float32).tobytes()))
    with pytest.raises(DecorLensError, match="the memory of tagged photos is damaged") as caught:
        scene_memory.rooms_like(fresh_pipeline, np.ones(dim, np.float32))
    assert "\n" not in str(caught.value) and f"the embedder's {dim:,}" in str(caught.value)


def test_a_remembered_box_of_text_is_the_memorys_one_line_when_embedded_again(fresh_pipeline, tmp_path: Path) -> None:
    """After an embedder switch the remembered objects are cut from their photos again; a box corner of text (an
    edit in a database browser) ended `decorlens search --scenes` on the IKEA data in "unexpected TypeError:
    unsupported operand type(s) for -: 'float' and 'str'"."""
    photo = tmp_path / "room.jpg"
    Image.new("RGB", (200, 100), "white").save(photo)
    catalog = fresh_pipeline.catalog
    _memory_of_one_tag(catalog.path, catalog, photo)
    with catalog.write():
        catalog.db.execute("UPDATE scene_objects SET x1 = 'left'")
    with pytest.raises(DecorLensError, match="the memory of tagged photos is damaged") as caught:
        scene_memory.rooms_like(fresh_pipeline, np.ones(fresh_pipeline.embedder.dim, np.float32))
    assert "\n" not in str(caught.value)


def test_a_card_named_past_what_a_folder_name_holds_is_refused_in_one_line(tmp_path: Path, shared_models: Path) -> None:
    """A card's name is the embedder's key, which names the index's folder: a stock embedder whose card was renamed
    in 300 characters failed `decorlens catalog import` with "…nnnn…: File name too long; check it", the folder
    blamed, not the card."""
    model = tmp_path / "mobilenet_v2_1.0_224_quant.float.onnx"
    model.symlink_to(shared_models / model.name)
    card = read_card(shared_models / model.name).to_dict()
    for name, refused in (("n" * 120, False), ("n" * 300, True)):
        card_path_for(model).write_text(json.dumps({**card, "name": name}))
        if refused:
            with pytest.raises(ModelError, match="'name' is 300 characters long, more than 120"):
                read_card(model)
        else:
            assert read_card(model).name == name


def test_every_wrong_config_value_is_named_in_the_one_line(tmp_path: Path) -> None:
    """The first alone was named: a file with two took two starts of the app, and two edits, to be put right."""
    (tmp_path / "config.yaml").write_text("top_k: many\nconfidence: 0.3\ndevice: gpu0\n")
    with pytest.raises(DecorLensError, match=r"kind \(top_k: 'many' is not a whole number [^)]*\); device is wrong too; fix"):
        Settings.for_data_dir(tmp_path)
