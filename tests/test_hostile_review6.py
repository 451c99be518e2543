"""A sixth hostile-input review: what sessions 43-45 added (the batch's resume file, boxes in the photo's own pixels,
the Photos strip's tag counts).

Each test fails without the fix it names; real files in tmp_path, no mocks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scene_copy import copy_data_dir

from decorlens.main import main
from engine import scene_memory
from engine.batch import RESUME, RESUME_MAX_BYTES, SUMMARY, tag_scenes
from engine.catalog import Catalog
from engine.errors import DecorLensError
from engine.imageio import load_image, photo_size, upright_size
from engine.pipeline import Pipeline
from engine.results import SceneResult
from engine.review_queue import review_queue
from engine.scene_memory import embed_missing_objects, where_used
from engine.settings import Settings
from engine.shoppable import export_batch

SCENE = "a-cosy-space-for-coffee-and-conversation"
MATCH = {"product_id": 1, "sku": "S1", "name": "Lamp", "category": "lamp", "score": 0.5, "match": "similar"}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, scene_path, ikea: Path,
           ikea_products: list[dict[str, str]]) -> tuple[Pipeline, Path, Path]:
    """A pipeline over a catalog of its own (a product of each of four categories), a photo, and the output folder of
    a batch that tagged it."""
    data = tmp_path_factory.mktemp("data")
    shutil.copytree(exported_models, data / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    with open(data / "feed.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image"])
        for category in ("sofa", "chair", "lamp", "table"):
            row = next(r for r in ikea_products if r["category"] == category)
            writer.writerow([row["product_id"], row["name"], category, str(ikea / row["image"])])
    assert pipeline.import_catalog(data / "feed.csv").added == 4
    photo = data / "photos" / "living.jpg"
    photo.parent.mkdir()
    shutil.copy(scene_path(SCENE), photo)
    out = data / "tagged"
    report = tag_scenes(pipeline, [photo], out)
    assert report.done == [photo], report.failed
    return pipeline, photo, out


def _copy(out: Path, to: Path) -> Path:
    """The batch's output folder copied (plain files: no catalog among them)."""
    shutil.copytree(out, to)
    return to


def test_a_planted_resume_file_is_read_within_bounds_and_its_reason_said(tagged, tmp_path, capsys):
    """A resume file of JSON nested past the recursion limit ended the batch in 'unexpected RecursionError'; one of
    70 MB was read whole; one that could not be read was passed over without a word, every photo tagged again."""
    pipeline, photo, out = tagged
    planted = {"nested": "[" * 100_000, "cut short": (out / RESUME).read_text()[:60]}
    for name, text in planted.items():
        copy = _copy(out, tmp_path / name)
        (copy / RESUME).write_text(text)
        report = tag_scenes(pipeline, [photo], copy)
        assert report.kept == [] and report.done == [photo], name
        assert report.resume_unused and RESUME in report.resume_words(copy), name
        assert json.loads((copy / RESUME).read_text())["photos"][str(photo)]["stem"] == "living"  # written anew
    huge = _copy(out, tmp_path / "huge")
    os.truncate(huge / RESUME, RESUME_MAX_BYTES + 1)  # sparse: nothing written to disk
    assert main(["--data-dir", str(pipeline.data_dir), "tag", str(photo), "--out", str(huge)]) == 0
    said = capsys.readouterr()
    assert f"{RESUME} not used (over 64 MB), so each photo was tagged again" in said.err and "kept" not in said.out
    report = tag_scenes(pipeline, [photo], huge)  # the file it wrote is used: nothing said
    assert report.kept == [photo] and report.resume_unused == "" and report.resume_words(huge) == ""


def test_a_fifo_or_folder_named_as_the_resume_file_is_refused_before_any_photo(tagged, tmp_path):
    """A FIFO under the resume file's name blocked the batch before its first photo, deaf to Ctrl-C (here a writer
    opens it and closes it at once, so the old code went on: it tagged the photo again, then refused to write the
    FIFO over). A folder under it or under summary.csv let the batch tag every photo and then fail."""
    pipeline, photo, out = tagged
    for name, plant in [("fifo", os.mkfifo), ("folder", os.mkdir), ("summary", os.mkdir)]:
        copy = _copy(out, tmp_path / name)
        target = copy / (SUMMARY if name == "summary" else RESUME)
        target.unlink()
        plant(target)
        if name == "fifo":
            threading.Thread(target=lambda fifo=target: os.close(os.open(fifo, os.O_WRONLY)), daemon=True).start()
        json_file = copy / "living.json"
        before = json_file.stat().st_ino
        with pytest.raises(DecorLensError, match="not a file to write over; move it, or choose another output"):
            tag_scenes(pipeline, [photo], copy)
        assert json_file.stat().st_ino == before, name  # nothing tagged again
        if name == "fifo":  # the writer thread, if still waiting, opens and ends
            os.close(os.open(target, os.O_RDONLY | os.O_NONBLOCK))


def _forge(copy: Path, photo: Path, change) -> None:
    """The photo's JSON changed by ``change`` and the resume file given its new hash, as one forging both would."""
    json_file = copy / "living.json"
    data = json.loads(json_file.read_text())
    change(data)
    json_file.write_text(json.dumps(data))
    resume = json.loads((copy / RESUME).read_text())
    resume["photos"][str(photo)]["files"][".json"] = hashlib.sha256(json_file.read_bytes()).hexdigest()
    (copy / RESUME).write_text(json.dumps(resume))


def test_a_forged_json_with_its_hash_in_the_resume_file_is_tagged_again(tagged, tmp_path):
    """A kept photo's JSON is read back as it stands: a match's score of "=1+1" ended the batch in 'unexpected
    TypeError' writing summary.csv, and a JSON naming another photo listed that photo in the summary."""
    pipeline, photo, out = tagged
    assert json.loads((out / "living.json").read_text())["objects"], "the scene has no tags to forge"
    forged = {"score": lambda d: d["objects"][0]["matches"].append({**MATCH, "score": "=1+1"}),
              "image": lambda d: d.update(image="elsewhere.jpg")}
    for name, change in forged.items():
        copy = _copy(out, tmp_path / name)
        _forge(copy, photo, change)
        report = tag_scenes(pipeline, [photo], copy)
        assert report.kept == [] and report.done == [photo], name
        assert "elsewhere" not in (copy / SUMMARY).read_text(encoding="utf-8-sig"), name


@pytest.mark.parametrize("change", [
    {"box": ["nan", "inf", "-inf", 1e308]}, {"tag": ["1e999", 0]}, {"category": None},
    {"matches": [{**MATCH, "sku": ["=HYPERLINK(1)"]}]}, {"matches": [{**MATCH, "match": "=1+1"}]},
    {"matches": [{**MATCH, "product_id": "1"}]},
])
def test_a_result_read_back_holds_text_and_finite_numbers_where_its_json_has_them(change):
    """``SceneResult.from_json`` (a kept photo's JSON) took a box of NaN and infinities, a SKU of a list (written to
    summary.csv as its repr) and a match word of a formula as they stood."""
    obj = {"category": "lamp", "label": "lamp", "score": 0.5, "box": [1, 2, 3, 4], "parts": [], "tag": [2, 3],
           "source": "coco", "matches": [MATCH]}
    data = {"image": "a.jpg", "width": 10, "height": 10, "device": "cpu", "timings_ms": {}, "looked_for": None,
            "unsold": {}, "unfound": [], "objects": [obj]}
    assert SceneResult.from_json(data).objects[0].matches[0].sku == "S1"
    with pytest.raises((TypeError, ValueError)):
        SceneResult.from_json({**data, "objects": [{**obj, **change}]})


def test_stored_photo_paths_the_system_cannot_look_up_are_listed_as_gone(tagged):
    """A scene memory row (an older data dir, a hand edit) whose path is past the system's length limit ended `where`
    in 'File name too long' (``Sighting.exists``), and one holding a NUL character, stored at the decoded size, in
    'unexpected ValueError: embedded null byte' (the header read behind ``photo_box``): nothing was listed."""
    pipeline, _photo, _out = tagged
    paths = ["/" + "a" * 100_000 + ".jpg", "/tmp/room\x00.jpg"]
    with pipeline.catalog.write():
        for path in paths:
            scene = pipeline.catalog.db.execute(
                "INSERT INTO scenes (path, sha256, width, height, origin, tagged_at) VALUES (?, 'x', 4096, 3072, "
                "'batch', '2026-01-01')", (path,)).lastrowid
            pipeline.catalog.db.execute(
                "INSERT INTO scene_objects (scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, "
                "best_kind, confirmed) VALUES (?, 1, 'lamp', 1, 2, 3, 4, 'HOSTILE-SKU', 0.9, 'exact', 0)", (scene,))
    seen = where_used(pipeline.catalog, "HOSTILE-SKU")
    assert sorted(s.photo for s in seen) == sorted(paths)
    assert [(s.exists, s.photo_box) for s in seen] == [(False, (1.0, 2.0, 3.0, 4.0))] * 2
    assert embed_missing_objects(pipeline) == 0  # their objects cannot be cut again: passed over, said in the log


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_a_pngs_upright_size_is_read_from_its_header_alone(tmp_path):
    """``upright_size`` (a kept batch photo; a box stored at the decoded size, brought to the photo's) asked Pillow for
    a PNG's EXIF, which decodes the whole picture to look for one after the pixel data: a 700 KB PNG of 15000x15000
    took 900 MB and 2 s, past every decode limit. An EXIF after the pixels (the PNG specification puts it before) is
    now not read, by ``upright_size`` and the decoder alike, so the two agree on the photo's size."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate to view: the size would be 20x40
    plain = io.BytesIO()
    Image.new("RGB", (40, 20), (90, 60, 30)).save(plain, "PNG")
    data = plain.getvalue()
    end = data.rindex(b"IEND") - 4
    path = tmp_path / "exif-after-pixels.png"
    path.write_bytes(data[:end] + _chunk(b"eXIf", exif.tobytes()) + data[end:])
    assert upright_size(path) == photo_size(load_image(path)) == (40, 20)


def test_the_batch_dialog_says_why_the_resume_file_was_not_used(qtbot, tagged, tmp_path, qapp):
    """The app's Batch Tag Folder tagged every photo again past an unreadable resume file without a word, as tag did."""
    from app.dialogs.batch import BatchDialog
    from app.workers import Runner

    pipeline, photo, out = tagged
    copy = _copy(out, tmp_path / "cut")
    (copy / RESUME).write_text("{")
    dialog = BatchDialog(pipeline, Runner(2, qapp), 3)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(photo.parent))
    dialog.target.setText(str(copy))
    with qtbot.waitSignal(dialog.finished_batch, timeout=120_000):
        dialog.start()
    assert (f"{RESUME} not used (not JSON as DecorLens writes it: cut short or edited), so each photo was tagged "
            "again") in dialog.status.text()


def test_a_page_whose_pictures_are_gone_is_written_again(tagged, tmp_path):
    """A batch run again kept a photo's shoppable page while its pictures (``images/``, moved to a web server or
    cleared) were gone: the page showed empty frames, and the same command never mended it."""
    pipeline, photo, _out = tagged
    out = tmp_path / "pages"
    export_batch(pipeline, [photo], out)
    shutil.rmtree(out / "images")
    assert export_batch(pipeline, [photo], out).kept == []
    assert (out / "images" / "living.jpg").is_file() and len(list((out / "images" / "products").iterdir())) > 1
    assert export_batch(pipeline, [photo], out).kept == [photo]  # all there: kept


def _photo_named_in_bytes(scene: Path, folder: Path, name: bytes, mirrored: bool = False) -> Path:
    """A copy of a real photo under a file name that is not UTF-8, as Python gives it (lone surrogates); mirrored,
    its content (and so its hash, the memory's other key) is not the fixture's photo's."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / os.fsdecode(name)
    if mirrored:
        Image.open(scene).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photo, "JPEG")
    else:
        shutil.copy(scene, photo)
    return photo


def test_a_photo_whose_name_is_not_utf8_is_remembered_and_listed_under_its_exact_path(tagged, tmp_path, capsys):
    """Such a photo was tagged but refused by the memory ("tagged but not remembered for Where used"), so Where used
    never listed it; listed, its name raised UnicodeEncodeError wherever the output is strict UTF-8 ("the input: not
    UTF-8 text"). Now its name's own bytes are stored, `where` shows it with U+FFFD and --json keeps it exact."""
    pipeline, photo, _out = tagged
    bad = _photo_named_in_bytes(photo, tmp_path / "photos", b"room-\xff\xfe.jpg", mirrored=True)
    report = tag_scenes(pipeline, [bad], tmp_path / "out")
    assert report.done == [bad] and report.failed == []
    assert tag_scenes(pipeline, [bad], tmp_path / "out").kept == [bad]  # the run resumed finds it remembered
    (sku,) = pipeline.catalog.db.execute(
        "SELECT o.best_sku FROM scene_objects o JOIN scenes s ON s.id = o.scene_id WHERE s.path = ? AND "
        "o.best_sku != '' LIMIT 1", (os.fsencode(bad.resolve()),)).fetchone()
    seen = [s for s in where_used(pipeline.catalog, sku) if s.photo == str(bad.resolve())]
    assert seen and all(s.exists for s in seen)
    assert main(["--data-dir", str(pipeline.data_dir), "where", sku, "--limit", "50"]) == 0
    assert f"room-\ufffd\ufffd.jpg  tag {seen[0].number} " in capsys.readouterr().out
    assert main(["--data-dir", str(pipeline.data_dir), "where", sku, "--limit", "50", "--json"]) == 0
    photos = [p["photo"] for p in json.loads(capsys.readouterr().out)["photos"]]
    assert str(bad.resolve()) in photos and Path(str(bad.resolve())).is_file()


def test_stored_paths_that_are_not_utf8_text_are_entries_not_a_damaged_catalog(qtbot, tagged, tmp_path,
                                                                               capsys, qapp):
    """A scene row whose path is TEXT that is not UTF-8 (a hand edit, another tool) ended `where`, `search --scenes`
    and the Where used panel in "the catalog … is damaged (Could not decode to UTF-8 column 'path')"; one whose path
    is a BLOB in "the memory of tagged photos is damaged". Each is now one entry of its own: its bytes as the file
    name, shown with U+FFFD, gone when no such file exists and opened when one does."""

    from app.widgets.where_used import WhereUsedPanel
    from app.workers import Runner

    pipeline, photo, _out = tagged
    real = _photo_named_in_bytes(photo, tmp_path, b"kept-\xe9.jpg", mirrored=True)
    runner_up = pipeline.catalog.products()[0].sku
    digest = hashlib.sha256(real.read_bytes()).hexdigest()
    rows = [("CAST(? AS TEXT)", b"/tmp/hand-\xff.jpg", "y"), ("?", b"/tmp/blob-\xfe.jpg", "y"),
            ("?", os.fsencode(real), digest)]
    with pipeline.catalog.write():
        for cell, path, sha256 in rows:
            scene = pipeline.catalog.db.execute(
                f"INSERT INTO scenes (path, sha256, width, height, origin, tagged_at) VALUES ({cell}, ?, 640, 480, "
                "'batch', '2026-01-01')", (path, sha256)).lastrowid
            tag = pipeline.catalog.db.execute(
                "INSERT INTO scene_objects (scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, "
                "best_kind, confirmed) VALUES (?, 1, 'lamp', 1, 2, 30, 40, 'UTF8-SKU', 0.9, 'exact', 0)", (scene,))
            pipeline.catalog.db.executemany("INSERT INTO scene_matches (object_id, rank, sku, score) VALUES (?, ?, ?, ?)",
                                            [(tag.lastrowid, 1, "UTF8-SKU", 0.9), (tag.lastrowid, 2, runner_up, 0.8)])
    seen = where_used(pipeline.catalog, "UTF8-SKU")
    assert sorted((s.photo, s.exists) for s in seen) == sorted(
        [(os.fsdecode(b"/tmp/hand-\xff.jpg"), False), (os.fsdecode(b"/tmp/blob-\xfe.jpg"), False), (str(real), True)])
    assert embed_missing_objects(pipeline) >= 1  # the real one is cut again, the others passed over
    assert main(["--data-dir", str(pipeline.data_dir), "where", "UTF8-SKU"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("hand-\ufffd.jpg", "blob-\ufffd.jpg", "kept-\ufffd.jpg")), out
    queued = {item.photo for item in review_queue(pipeline.catalog, 1000) if item.best_sku == "UTF8-SKU"}
    assert queued == {Path(s.photo) for s in seen}
    assert main(["--data-dir", str(pipeline.data_dir), "search", "--scenes", str(real), "--top-k", "50"]) == 0
    assert "kept-\ufffd.jpg: " in (out := capsys.readouterr().out) and "kept-\ufffd.jpg  object 1 " in out, out
    assert main(["--data-dir", str(pipeline.data_dir), "search", "--scenes", str(real), "--top-k", "50", "--json"]) == 0
    assert str(real) in [hit["photo"] for hit in json.loads(capsys.readouterr().out)["scenes"]]
    panel = WhereUsedPanel(pipeline, Runner(1, qapp))
    qtbot.addWidget(panel)
    failed: list[str] = []
    panel.failed.connect(failed.append)
    panel.show_product("UTF8-SKU")
    qtbot.waitUntil(lambda: panel.sightings.count() == 3 or bool(failed), timeout=60_000)
    assert not failed
    items = [panel.sightings.item(i) for i in range(3)]
    assert sorted(i.text().split("\n")[0] for i in items) == ["blob-\ufffd.jpg", "hand-\ufffd.jpg", "kept-\ufffd.jpg"]
    (kept,) = [i for i in items if i.text().startswith("kept")]
    with qtbot.waitSignal(panel.tagRequested) as opened:
        panel.sightings.itemActivated.emit(kept)
    assert opened.args == [real, 1] and "kept-\ufffd.jpg" in kept.toolTip()


def test_stored_texts_that_are_not_utf8_are_read_with_replacements_not_a_damaged_memory(tagged, tmp_path, capsys):
    """A tag whose category, SKU or date is TEXT that is not UTF-8 (a hand edit, another tool, an older data dir)
    ended `where`, `search --scenes` and the Review window in "Could not decode to UTF-8", said as a damaged catalog.
    Each such cell is now read with U+FFFD for its bytes: the tag is one entry, its unreadable SKU shown as gone."""
    pipeline, photo, _out = tagged
    data = copy_data_dir(pipeline, tmp_path / "data")
    sku, bad = pipeline.catalog.products()[0].sku, "CAST(X'6C6Aff' AS TEXT)"  # b"lj\xff"
    with sqlite3.connect(data / "catalog.sqlite") as db:
        db.executescript(scene_memory.SCHEMA)
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (scene_memory.VERSION_KEY, str(scene_memory.VERSION)))
        db.execute("INSERT INTO scenes (id, path, sha256, width, height, origin, tagged_at) VALUES "
                   f"(1, ?, 'x', 640, 480, 'batch', {bad}), (2, ?, 'y', 640, 480, 'batch', '2026-01-01')",
                   (str(photo), str(tmp_path / "gone.jpg")))
        db.execute("INSERT INTO scene_objects (id, scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, "
                   f"best_kind, confirmed) VALUES (1, 1, 1, {bad}, 1, 2, 30, 40, ?, 0.9, 'exact', 0), "
                   f"(2, 2, 1, 'lamp', 5, 6, 50, 60, {bad}, 0.8, 'similar', 0)", (sku,))
        db.execute(f"INSERT INTO scene_matches VALUES (2, 1, {bad}, 0.8), (2, 2, ?, 0.7)", (sku,))
        vector = np.ones(pipeline.embedder.dim, np.float32).tobytes()
        db.executemany("INSERT INTO scene_vectors VALUES (?, ?, ?)", [(i, pipeline.embedder.key, vector) for i in (1, 2)])
    db.close()
    assert main(["--data-dir", str(data), "where", sku]) == 0
    assert "tag 1 [Lj\ufffd]" in capsys.readouterr().out
    assert main(["--data-dir", str(data), "where", sku, "--json"]) == 0
    (seen,) = json.loads(capsys.readouterr().out)["photos"]
    assert (seen["category"], seen["tagged_at"], seen["photo"]) == ("lj\ufffd", "lj\ufffd", str(photo))
    assert main(["--data-dir", str(data), "search", "--scenes", str(photo), "--json"]) == 0
    assert sorted(h["sku"] for h in json.loads(capsys.readouterr().out)["scenes"]) == sorted([sku, "lj\ufffd"])
    catalog = Catalog(data / "catalog.sqlite")
    try:
        assert [(i.best_sku, i.runner_up_sku, i.category) for i in review_queue(catalog)] == [("lj\ufffd", sku, "lamp")]
    finally:
        catalog.close()


def test_a_stored_hash_that_is_not_utf8_matches_no_photo_and_is_no_damaged_memory(tagged, tmp_path, capsys):
    """A photo's sha256 stored as TEXT that is not UTF-8 (a hand edit, another tool) ended the Photos strip's tag
    counts and `search --scenes` after an embedder switch in "Could not decode to UTF-8", said as a damaged catalog.
    Such a hash matches no photo's content: the strip counts the photo's tags by path, and the search passes it over
    as changed since tagged. Its origin so stored is written, never read: nothing of it changes."""
    pipeline, photo, _out = tagged
    data = copy_data_dir(pipeline, tmp_path / "data")
    bad = "CAST(X'6162ff' AS TEXT)"  # b"ab\xff"
    with sqlite3.connect(data / "catalog.sqlite") as db:
        db.executescript(scene_memory.SCHEMA)
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (scene_memory.VERSION_KEY, str(scene_memory.VERSION)))
        db.execute(f"INSERT INTO scenes VALUES (1, ?, {bad}, 640, 480, {bad}, '2026-01-01')", (str(photo),))
        db.execute("INSERT INTO scene_objects (id, scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, "
                   "best_kind, confirmed) VALUES (1, 1, 1, 'lamp', 1, 2, 30, 40, 'S1', 0.9, 'exact', 0)")
    db.close()
    catalog = Catalog(data / "catalog.sqlite")
    try:
        assert scene_memory.tag_counts(catalog) == scene_memory.TagCounts({}, {str(photo): 1})
    finally:
        catalog.close()
    assert main(["--data-dir", str(data), "search", "--scenes", str(photo)]) == 0
    assert "1 remembered photo was moved or changed since tagged; tag it again" in capsys.readouterr().err
