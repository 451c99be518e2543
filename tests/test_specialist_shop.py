"""A specialist shop: a catalog of IKEA's lamps only, walked on the shared IKEA room photos, most of which hold no
lamp. DecorLens tags only what the catalog sells (``Pipeline.sold_categories``); every screen must then say what it
looked for and that other objects were seen but are not sold here, not "no decor found" of a room full of furniture.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from error_lines import assert_names
from ikea_feed import write_feed
from lamp_shop import run_cli

from decorlens.main import main
from engine.corrections import EditableScene
from engine.pipeline import Pipeline
from engine.settings import Settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

from app.dialogs.batch import BatchDialog
from app.dialogs.review_queue import ReviewWindow
from app.main_window import CATALOG_TAB, PHOTO_TAB
from app.widgets.where_used import WhereUsedPanel
from app.workers import Runner

SOFA_BED = "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4"  # a bed, chairs, a table: no lamp
DINING = "ikea-a-rustic-way-to-dine__1364308411325-s4"  # a pendant lamp over a table and chairs
WAIT_MS = 90_000


@pytest.fixture(scope="module")
def lamp_shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]],
              shared_models: Path) -> Path:
    """A data dir whose catalog holds the shared IKEA lamps and nothing else, imported with the CLI."""
    data = tmp_path_factory.mktemp("lamp-shop")
    lamps = [row for row in ikea_products if row["category"] == "lamp"]
    code, _out, err = run_cli(data, shared_models, "catalog", "import", str(write_feed(ikea, lamps, data / "lamps.csv")))
    assert code == 0, err
    return data


def _cli(data: Path, models: Path, *args: str) -> tuple[int, str, str]:
    """``decorlens ARGS`` without ``-q`` (which ``run_cli`` gives): its notes on stderr are what is tested."""
    gc.collect()  # the catalog an earlier command's pipeline left open (run_cli says why)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["--data-dir", str(data), "--models-dir", str(models), *args])
    return code, out.getvalue(), err.getvalue()


def _scene(ikea: Path, name: str) -> str:
    return str(ikea / "scenes" / f"{name}.jpg")


def test_a_search_counts_what_it_saw_but_the_shop_does_not_sell(lamp_shop: Path, ikea: Path) -> None:
    pipeline = Pipeline(Settings.defaults().with_(data_dir=lamp_shop))
    try:
        result = pipeline.search_scene(_scene(ikea, SOFA_BED))
    finally:
        pipeline.close()
    assert result.objects == []
    assert result.looked_for == ("lamp",)
    assert {"bed", "chair", "table"} <= set(result.unsold), result.unsold
    data = result.to_json()
    assert data["looked_for"] == ["lamp"] and data["unsold"]["bed"] >= 1


def test_a_corrected_photo_keeps_what_was_looked_for_and_seen(lamp_shop: Path, ikea: Path) -> None:
    """A photo corrected in the app is written (its saved edits, a batch's JSON) from ``EditableScene``, whose
    result said looked_for null ('every category') and nothing seen, of a lamp shop's bedroom."""
    pipeline = Pipeline(Settings.defaults().with_(data_dir=lamp_shop))
    try:
        result = pipeline.search_scene(_scene(ikea, SOFA_BED))
    finally:
        pipeline.close()
    data = EditableScene(result, "0" * 64).to_json()
    assert (data["looked_for"], data["unsold"], data["unfound"]) == (["lamp"], result.unsold, [])
    again = EditableScene.from_json(json.loads(json.dumps(data)), result.image).result
    assert (again.looked_for, again.unsold) == (("lamp",), result.unsold)


def test_cli_search_says_what_it_looked_for_and_what_it_saw(lamp_shop: Path, ikea: Path,
                                                           shared_models: Path) -> None:
    code, out, err = run_cli(lamp_shop, shared_models, "search", _scene(ikea, SOFA_BED))
    assert code == 0, err
    assert "nothing the catalog sells (lamp) was found" in out, out
    seen = next(line for line in out.splitlines() if line.startswith("seen but not sold here"))
    assert " bed" in seen and " chair" in seen, out

    code, out, err = run_cli(lamp_shop, shared_models, "search", _scene(ikea, DINING))
    assert code == 0, err
    assert "[1] Lamp" in out and "also seen but not sold here, so not tagged: " in out, out


def test_cli_tag_says_why_photos_of_a_folder_have_no_tag(lamp_shop: Path, ikea: Path, shared_models: Path,
                                                         tmp_path: Path) -> None:
    photos = tmp_path / "rooms"
    photos.mkdir()
    for name in (SOFA_BED, DINING):
        (photos / f"{name}.jpg").symlink_to(_scene(ikea, name))
    code, out, err = _cli(lamp_shop, shared_models, "tag", str(photos), "--out", str(tmp_path / "tagged"))
    assert code == 0, err
    assert out == f"tagged 2 of 2 photos (1 tag) → {tmp_path / 'tagged' / 'summary.csv'}\n"  # stdout: one line
    assert "1 of the 2 photos has no tag: nothing the catalog sells (lamp) was found in it" in err, err
    # which one: it was said of none, as the failed photos are named
    assert_names(next(line for line in err.splitlines() if line.startswith("no tag: ")),
                 "no tag: ", photos / f"{SOFA_BED}.jpg", "")
    seen = next(line for line in err.splitlines() if line.startswith("seen in the photos but not sold here, so not tagged: "))
    assert " chair" in seen and " table" in seen, err


@pytest.fixture
def lamp_pipeline(lamp_shop: Path) -> Pipeline:
    """A pipeline over the lamp shop, left open: a window's workers may still read its catalog at teardown."""
    return Pipeline(Settings.defaults().with_(data_dir=lamp_shop))


def _open(qtbot, win, photo: Path) -> None:
    win.open_paths([photo])
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == photo, timeout=WAIT_MS)


def test_the_window_says_what_a_photo_without_tags_was_searched_for(qtbot, main_window, lamp_pipeline,
                                                                    ikea: Path) -> None:
    win = main_window(lamp_pipeline, (1280, 800))
    _open(qtbot, win, Path(_scene(ikea, SOFA_BED)))
    qtbot.waitUntil(lambda: win.message.isVisible(), timeout=WAIT_MS)
    said = win.message.text.text()
    assert not win.view.pins
    assert "Nothing your catalog sells (Lamp) was found" in said, said
    assert re.search(r"Not tagged, as your catalog has none: \d+ chairs, .*\b\d+ beds?\b", said), said  # not "Chair ×4"
    assert "×" not in said, said  # a screen reader read it "times"
    assert win.panel.status.text() == f"This photo has no tags.\n\n{said}"  # not "Click a tag"; stays as the bar fades
    assert win.view.accessibleName() == "Room photo, no tags: nothing your catalog sells was found"


def _batch_said(qtbot, pipeline: Pipeline, ikea: Path, tmp_path: Path, scenes: tuple[str, ...]) -> str:
    """What Batch Tag Folder's summary says once it has tagged a folder of ``scenes`` (linked IKEA rooms)."""
    photos = tmp_path / "rooms"
    photos.mkdir()
    for name in scenes:
        (photos / f"{name}.jpg").symlink_to(_scene(ikea, name))
    dialog = BatchDialog(pipeline, Runner(2, QApplication.instance()), 3)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(photos))
    dialog.target.setText(str(tmp_path / "tagged"))
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS):
        dialog.start()
    return dialog.status.text()


def test_the_batch_dialog_says_why_photos_of_a_folder_have_no_tag(qtbot, lamp_pipeline, ikea: Path,
                                                                  tmp_path: Path) -> None:
    said = _batch_said(qtbot, lamp_pipeline, ikea, tmp_path, (SOFA_BED, DINING))
    assert "Tagged 2 photos (1 tag)." in said, said
    # which one, named as the failed photos are below it: it was said of none
    assert f"1 photo has no tag: nothing your catalog sells (Lamp) was found in it:\n  {SOFA_BED}.jpg\n" in said, said
    assert re.search(r"Not tagged, as your catalog has none: \d+ chairs", said), said


COFFEE = "ikea-a-cosy-space-for-coffee-and-conversation__1364308407140-s4"  # three chairs at a table, no lamp found


def test_an_import_of_another_category_tags_the_open_photo_again_and_says_so(
        qtbot, main_window, lamp_shop: Path, ikea: Path, ikea_products: list[dict[str, str]], tmp_path: Path) -> None:
    shutil.copytree(lamp_shop, tmp_path / "shop")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "shop"))
    win = main_window(pipeline, (1280, 800))
    _open(qtbot, win, Path(_scene(ikea, COFFEE)))
    assert not win.controller.scene.visible
    chairs = [row for row in ikea_products if row["category"] == "chair"][:6]
    busy: list[str] = []
    win.controller.busyChanged.connect(busy.append)
    win.tabs.setCurrentIndex(CATALOG_TAB)
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
        win.catalog.import_from(write_feed(ikea, chairs, tmp_path / "chairs.csv"))
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)
    assert {t.obj.category for t in win.controller.scene.visible} == {"chair"}
    assert "Finding what your catalog now sells…" in busy, busy  # not "… with the models now in use"
    assert win.message.text.text().startswith("Catalog import done: 6 added."), win.message.text.text()  # kept
    win.tabs.setCurrentIndex(PHOTO_TAB)
    said = win.message.text.text()
    assert said == "Your catalog now sells Chair, Stools & benches too: this photo was tagged again.", said  # found by a detector


@pytest.fixture
def chairs_later(lamp_shop: Path, ikea: Path, ikea_products: list[dict[str, str]], shared_models: Path,
                 tmp_path: Path) -> tuple[Path, str]:
    """The lamp shop, copied, its two photos tagged, then three chairs imported: (its data dir, a chair's SKU)."""
    shop = Path(shutil.copytree(lamp_shop, tmp_path / "shop"))
    photos = tmp_path / "rooms"
    photos.mkdir()
    for name in (SOFA_BED, DINING):
        (photos / f"{name}.jpg").symlink_to(_scene(ikea, name))
    assert run_cli(shop, shared_models, "tag", str(photos), "--out", str(tmp_path / "tagged"))[0] == 0
    chairs = [row for row in ikea_products if row["category"] == "chair"][:3]
    assert run_cli(shop, shared_models, "catalog", "import", str(write_feed(ikea, chairs, tmp_path / "c.csv")))[0] == 0
    return shop, chairs[0]["product_id"]


def test_where_says_when_no_photo_was_tagged_looking_for_a_products_kind(
        chairs_later: tuple[Path, str], ikea: Path, ikea_products: list[dict[str, str]], shared_models: Path) -> None:
    shop, chair = chairs_later
    code, out, err = run_cli(shop, shared_models, "where", chair)
    assert code == 0, err
    assert ("none of the 2 tagged photos has a tag of its kind (chair): were they tagged before the catalog sold "
            "it? `decorlens tag FOLDER --out DIR` tags them again") in out, out
    lamp = next(row["product_id"] for row in ikea_products if row["category"] == "lamp"
                and "no tag" in run_cli(shop, shared_models, "where", row["product_id"])[1])
    out = run_cli(shop, shared_models, "where", lamp)[1]
    assert "the best match of no tag in the 2 tagged photos (they hold 1 tag of its kind, lamp);" in out, out
    sofa = ikea / "products" / "sofa" / "903.007.25.jpg"  # ranked against the one lamp: said, not "every category"
    out = run_cli(shop, shared_models, "search", "--scenes", str(sofa))[1]
    assert "closest object first (objects of every category tagged: 1 lamp)" in out, out


def test_the_first_import_tags_the_open_photo_again_for_what_the_catalog_sells(
        qtbot, main_window, fresh_pipeline, ikea: Path, ikea_products: list[dict[str, str]], tmp_path: Path) -> None:
    """With an empty catalog every kind of decor is pinned, unmatched; after the first import, of lamps, the open
    photo kept its 14 pins of chairs, tables and bowls, none of which the catalog could match."""
    win = main_window(fresh_pipeline, (1280, 800))
    _open(qtbot, win, Path(_scene(ikea, DINING)))
    assert {t.obj.category for t in win.controller.scene.visible} > {"lamp", "chair"}
    lamps = [row for row in ikea_products if row["category"] == "lamp"][:6]
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
        win.catalog.import_from(write_feed(ikea, lamps, tmp_path / "lamps.csv"))
    qtbot.waitUntil(lambda: {t.obj.category for t in win.controller.scene.visible} == {"lamp"}, timeout=WAIT_MS)
    assert win.message.text.text() == "Your catalog now sells Lamp: this photo was tagged again."


@pytest.fixture(scope="module")
def rug_shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]],
             shared_models: Path) -> Path:
    """A data dir whose catalog holds a few shared IKEA rugs and nothing else: no stock detector finds a rug."""
    data = tmp_path_factory.mktemp("rug-shop")
    rugs = [row for row in ikea_products if row["category"] == "rug"][:5]
    code, _out, err = run_cli(data, shared_models, "catalog", "import", str(write_feed(ikea, rugs, data / "rugs.csv")))
    assert code == 0, err
    return data


def test_a_rug_shop_is_told_no_detector_finds_rugs(rug_shop: Path, ikea: Path, shared_models: Path,
                                                  tmp_path: Path) -> None:
    """COFFEE has a large kilim under its table; the stock detectors have no class for a rug, so a rug shop's photos
    had no tag, said as "nothing the catalog sells (rug) was found", as if there were no rug in them."""
    pipeline = Pipeline(Settings.defaults().with_(data_dir=rug_shop))
    try:
        result = pipeline.search_scene(_scene(ikea, COFFEE))
    finally:
        pipeline.close()
    assert (result.objects, result.looked_for, result.unfound) == ([], (), ("rug",))
    code, out, err = run_cli(rug_shop, shared_models, "search", _scene(ikea, COFFEE))
    assert code == 0, err
    assert "no tags: the detectors in use find no rug, all the catalog sells; `--box X1,Y1,X2,Y2`" in out, out
    photos = tmp_path / "rooms"
    photos.mkdir()
    (photos / f"{COFFEE}.jpg").symlink_to(_scene(ikea, COFFEE))
    code, out, err = _cli(rug_shop, shared_models, "tag", str(photos), "--out", str(tmp_path / "tagged"))
    assert code == 0, err
    assert ("1 of the 1 photo has no tag: the detectors in use find no rug, all the catalog sells; "
            "`decorlens train-detector` trains one that does") in err, err


def test_the_window_and_the_batch_tell_a_rug_shop_no_detector_finds_rugs(qtbot, main_window, rug_shop: Path,
                                                                         ikea: Path, tmp_path: Path) -> None:
    pipeline = Pipeline(Settings.defaults().with_(data_dir=rug_shop))
    win = main_window(pipeline, (1280, 800))
    _open(qtbot, win, Path(_scene(ikea, COFFEE)))
    qtbot.waitUntil(lambda: win.message.isVisible(), timeout=WAIT_MS)
    said = win.message.text.text()
    assert said.startswith("No detector in use finds Rug, all your catalog sells: drag a box around one"), said
    said = _batch_said(qtbot, pipeline, ikea, tmp_path, (COFFEE,))
    assert "1 photo has no tag: no detector in use finds Rug, all your catalog sells" in said


def test_quiet_leaves_the_notes_on_photos_without_tags_out(lamp_shop: Path, ikea: Path, shared_models: Path,
                                                           tmp_path: Path) -> None:
    """-q: "no progress bars or notes on stderr (warnings and failures still show)"."""
    photos = tmp_path / "rooms"
    photos.mkdir()
    (photos / f"{SOFA_BED}.jpg").symlink_to(_scene(ikea, SOFA_BED))
    code, _out, err = run_cli(lamp_shop, shared_models, "tag", str(photos), "--out", str(tmp_path / "tagged"))
    assert (code, err) == (0, "")


def test_where_used_says_when_no_photo_was_tagged_looking_for_a_products_kind(qtbot, chairs_later: tuple[Path, str],
                                                                             ikea: Path, qapp) -> None:
    shop, chair = chairs_later
    pipeline = Pipeline(Settings.defaults().with_(data_dir=shop))
    panel = WhereUsedPanel(pipeline, Runner(2, qapp))
    qtbot.addWidget(panel)
    panel.show_product(chair)
    qtbot.waitUntil(lambda: "tagged photo" in panel.title.text(), timeout=WAIT_MS)
    assert panel.title.text().endswith("— none of the 2 tagged photos has a tag of its kind: were they tagged before "
                                       "your catalog sold it? Open them again, or Batch tag their folder")
    panel.show_photo(ikea / "products" / "sofa" / "903.007.25.jpg")  # ranked against the one lamp: said so
    qtbot.waitUntil(lambda: "closest object first" in panel.title.text(), timeout=WAIT_MS)
    assert panel.title.text().endswith("closest object first (objects of every category tagged: 1 lamp)")  # as the CLI says it


def test_the_review_window_of_photos_without_tags_says_so(qtbot, rug_shop: Path, ikea: Path, shared_models: Path,
                                                          tmp_path: Path) -> None:
    """It said "every tag of the 1 photo tagged so far is confirmed" of a photo with no tag at all."""
    shop = Path(shutil.copytree(rug_shop, tmp_path / "shop"))
    photos = tmp_path / "rooms"
    photos.mkdir()
    (photos / f"{COFFEE}.jpg").symlink_to(_scene(ikea, COFFEE))
    assert run_cli(shop, shared_models, "tag", str(photos), "--out", str(tmp_path / "tagged"))[0] == 0
    pipeline = Pipeline(Settings.defaults().with_(data_dir=shop))
    window = ReviewWindow(pipeline)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "review" in window.summary.text(), timeout=WAIT_MS)
    assert window.summary.text() == ("Nothing to review: the 1 photo tagged so far has no tags, as nothing your "
                                     "catalog sells was found in it. A box you draw on a photo is a tag too.")


def test_a_photo_whose_tags_were_all_removed_says_so_when_opened_again(qtbot, main_window, lamp_shop: Path,
                                                                       ikea: Path, tmp_path: Path) -> None:
    """Opened again, a photo whose one lamp tag was removed said "Nothing your catalog sells (Lamp) was found"
    (a047249 keeps what it looked for in its saved edits; before, "No furniture or decor found")."""
    pipeline = Pipeline(Settings.defaults().with_(data_dir=Path(shutil.copytree(lamp_shop, tmp_path / "shop"))))
    win = main_window(pipeline, (1280, 800))
    dining, sofa_bed = Path(_scene(ikea, DINING)), Path(_scene(ikea, SOFA_BED))
    _open(qtbot, win, dining)
    (tag,) = win.controller.scene.visible
    win.controller.remove(tag.number)
    _open(qtbot, win, sofa_bed)
    _open(qtbot, win, dining)
    qtbot.waitUntil(lambda: "removed" in win.panel.status.text(), timeout=WAIT_MS)  # the bar: "Restored your edits"
    assert win.panel.status.text() == ("This photo has no tags.\n\nEvery tag of this photo was removed. Drag a box "
                                       "around a piece to search it.")
