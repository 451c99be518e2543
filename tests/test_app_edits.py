"""Edits are never lost: undo and redo of every tag edit (the corrections file follows), and files that
cannot be opened change nothing. Real photos, models and catalog, offscreen (pytest-qt).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from app.main_window import MainWindow
from engine.corrections import FOLDER, USER

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames


def open_and_wait(qtbot, win: MainWindow, path: Path) -> None:
    win.open_paths([path])
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == path, timeout=WAIT_MS)


def saved(win: MainWindow) -> dict:
    """The photo's corrections file as it is on disk now ({} before the first save)."""
    files = list((win.pipeline.data_dir / FOLDER).glob("*.json"))
    return json.loads(files[0].read_text()) if files else {}


def saved_tag(win: MainWindow, number: int) -> dict | None:
    """Tag ``number`` in the saved file's objects (``None`` if it is not among them)."""
    return next((o for o in saved(win).get("objects", []) if o["number"] == number), None)


def undo(qtbot, win: MainWindow, file_shows) -> None:
    assert win.undo_action.isEnabled()
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: file_shows(), timeout=5_000)


def redo(qtbot, win: MainWindow, file_shows) -> None:
    assert win.redo_action.isEnabled()
    win.redo_action.trigger()
    qtbot.waitUntil(lambda: file_shows(), timeout=5_000)


def test_every_tag_edit_undoes_and_redoes_and_the_file_follows(qtbot, window, scene_path):
    open_and_wait(qtbot, window, scene_path(ROOM))
    scene, view = window.controller.scene, window.view
    assert window.undo_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert not window.undo_action.isEnabled()  # nothing to undo on a fresh photo

    # remove (Delete on the photo)
    gone = min(view.pins)
    view.activate(gone)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert gone not in view.pins
    qtbot.waitUntil(lambda: saved_tag(window, gone) is None and bool(saved(window)), timeout=5_000)
    assert "Remove Tag" in window.undo_action.text()
    undo(qtbot, window, lambda: saved_tag(window, gone) is not None and saved(window)["removed"] == [])
    assert gone in view.pins and not scene.tag(gone).removed
    redo(qtbot, window, lambda: saved_tag(window, gone) is None)
    assert gone not in view.pins
    undo(qtbot, window, lambda: saved_tag(window, gone) is not None)

    # recategorise: the new category's matches come and go with it
    chair = next(t for t in scene.visible if t.obj.category == "chair")
    old_matches = list(chair.obj.matches)
    window.controller.change_category(chair.number, "armchair")
    qtbot.waitUntil(
        lambda: (saved_tag(window, chair.number) or {}).get("category") == "armchair", timeout=WAIT_MS
    )
    assert scene.tag(chair.number).original_category == "chair"
    undo(qtbot, window, lambda: saved_tag(window, chair.number)["category"] == "chair")
    assert scene.tag(chair.number).obj.matches == old_matches
    assert saved_tag(window, chair.number)["original_category"] is None
    redo(qtbot, window, lambda: saved_tag(window, chair.number)["category"] == "armchair")
    assert scene.tag(chair.number).obj.matches != old_matches

    # confirm a match (the panel's button)
    tag = next(t for t in scene.visible if t.obj.matches and t.number != chair.number)
    view.activate(tag.number)
    qtbot.waitUntil(lambda: window.panel.number == tag.number and bool(window.panel.rows), timeout=5_000)
    sku = window.panel.rows[1].match.sku
    window.panel.rows[1].confirm.click()
    qtbot.waitUntil(lambda: saved_tag(window, tag.number)["confirmed_sku"] == sku, timeout=5_000)
    undo(qtbot, window, lambda: saved_tag(window, tag.number)["confirmed_sku"] == "")
    assert not scene.tag(tag.number).confirmed and not view.pins[tag.number].confirmed
    redo(qtbot, window, lambda: saved_tag(window, tag.number)["confirmed_sku"] == sku)
    assert view.pins[tag.number].confirmed

    # draw a box: undo takes the drawn tag out of the scene and the file, redo brings it back
    before = {t.number for t in scene.tags}
    window.controller.search_region(chair.obj.box)
    qtbot.waitUntil(lambda: len(scene.tags) == len(before) + 1, timeout=WAIT_MS)
    drawn = next(t.number for t in scene.tags if t.number not in before)
    qtbot.waitUntil(lambda: (saved_tag(window, drawn) or {}).get("origin") == USER, timeout=5_000)
    undo(qtbot, window, lambda: saved_tag(window, drawn) is None)
    assert drawn not in {t.number for t in scene.tags} and drawn not in view.pins
    redo(qtbot, window, lambda: saved_tag(window, drawn) is not None)
    assert drawn in view.pins and scene.tag(drawn).origin == USER

    # a new photo starts a new history
    window.open_paths([scene_path("bright-kitchen")])
    qtbot.waitUntil(lambda: window.controller.path != scene_path(ROOM), timeout=WAIT_MS)
    assert not window.undo_action.isEnabled()


def test_a_broken_file_leaves_the_open_photo_and_recent_list_alone(qtbot, window, scene_path, tmp_path):
    good = scene_path(ROOM)
    open_and_wait(qtbot, window, good)
    qtbot.waitUntil(lambda: bool(window.view.pins), timeout=5_000)
    window.controller.remove(min(window.view.pins))  # work in progress
    scene, pins, title = window.controller.scene, set(window.view.pins), window.windowTitle()
    recent = list(window.settings.recent)

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    window.open_paths([broken])
    qtbot.waitUntil(lambda: window.message.isVisible() and window.message.level == "error", timeout=WAIT_MS)
    assert window.message.text.text().startswith("broken.jpg could not be opened: ")  # one photo, named
    assert str(broken) not in window.message.text.text()  # once: the engine's line named the whole path again
    assert window.controller.path == good and window.controller.scene is scene
    assert set(window.view.pins) == pins and window.view.photo is not None
    assert window.windowTitle() == title and window.settings.recent == recent
    assert window.undo_action.isEnabled()  # the edit made before is still undoable

    # a folder opens on its first photo that loads; its broken file is listed but never recent
    folder = tmp_path / "shoot"
    folder.mkdir()
    shutil.copy(broken, folder / "0-broken.jpg")
    shutil.copy(scene_path("bright-kitchen"), folder / "1-kitchen.jpg")
    window.open_paths([folder])
    qtbot.waitUntil(lambda: window.controller.path == folder / "1-kitchen.jpg", timeout=WAIT_MS)
    assert window.photo_list.photos == [folder / "0-broken.jpg", folder / "1-kitchen.jpg"]
    assert window.photo_list.currentRow() == 1
    assert window.windowTitle().startswith("1-kitchen.jpg")
    assert str(folder / "0-broken.jpg") not in window.settings.recent

    # picking the broken one in the strip keeps the kitchen open and selected
    window.photo_list.setCurrentRow(0)
    qtbot.waitUntil(lambda: "0-broken.jpg" in window.message.text.text(), timeout=WAIT_MS)
    assert window.controller.path == folder / "1-kitchen.jpg" and window.photo_list.currentRow() == 1


def test_a_category_searched_for_a_tag_undone_or_removed_meanwhile_is_dropped(qtbot, window, scene_path):
    """Changing a drawn box's category and pressing Undo (its box goes) before the search came back raised
    KeyError in the slot; a tag removed meanwhile took the category anyway, as an edit nobody could see."""
    open_and_wait(qtbot, window, scene_path(ROOM))
    c = window.controller
    scene = c.scene.result
    c.search_region((scene.width * 0.3, scene.height * 0.3, scene.width * 0.6, scene.height * 0.6))
    qtbot.waitUntil(lambda: not c._running, timeout=WAIT_MS)
    drawn = max(t.number for t in c.scene.tags)
    with qtbot.captureExceptions() as raised:
        c.change_category(drawn, "clock")
        window.undo_action.trigger()  # Undo Draw Box, while the clocks are searched
        qtbot.waitUntil(lambda: not c._running, timeout=WAIT_MS)
    assert raised == [] and drawn not in {t.number for t in c.scene.tags}
    assert c.undo.redoText() == "Draw Box"

    tag = next(t for t in c.scene.visible if t.obj.category != "clock")
    c.change_category(tag.number, "clock")
    c.remove(tag.number)
    qtbot.waitUntil(lambda: not c._running, timeout=WAIT_MS)
    assert c.scene.tag(tag.number).obj.category == tag.obj.category and c.undo.undoText() == "Remove Tag"


def test_an_edit_made_while_the_same_photo_opens_again_is_kept(qtbot, window, scene_path):
    """The photo opened again (Open Recent, its row in the strip) read its saved edits before a confirmation made
    meanwhile was saved: the confirmation vanished from the photo while its file kept it, for the next edit to
    overwrite."""
    path = scene_path(ROOM)
    open_and_wait(qtbot, window, path)
    c = window.controller
    tag = next(t for t in c.scene.visible if t.obj.matches)
    c.open(path)
    assert window.io.pool.waitForDone(WAIT_MS)  # decoded and its edits read; the window is not told yet
    c.confirm(tag.number, tag.obj.matches[0])
    qtbot.waitUntil(lambda: c.undo.count() == 0 and not c._running and not window.saver.busy(), timeout=WAIT_MS)
    assert c.scene.tag(tag.number).confirmed_sku == tag.obj.matches[0].sku
    assert saved_tag(window, tag.number)["confirmed"]


def test_closing_the_window_waits_for_the_photos_memory_to_be_saved(qtbot, main_window, pipeline):
    """Every edit saves the photo's memory on a runner of its own, which closing the window did not wait for: a
    save still running at quit was cut off by the interpreter's exit (a full test run ended in a segfault)."""
    win = main_window(pipeline)
    memory = win.controller.memory

    def saving(job) -> None:  # a save that ends when asked to, as a step of a long one does
        while not job.cancelled():
            time.sleep(0.01)

    task = memory.start(saving)
    try:
        win.close()
        assert task.is_cancelled() and memory.pool.activeThreadCount() == 0
    finally:
        task.cancel()  # without the wait, the save would run on for ever
        memory.pool.waitForDone(10_000)


def test_a_photo_gone_after_it_opened_is_still_searched_as_shown(qtbot, window, scene_path, tmp_path):
    """The open photo's pixels are searched, not its file read again: with the file gone (a USB stick pulled,
    the photo moved), searching the whole catalog, drawing a box, changing a category and checking details
    each failed with "no such file"; and a photo changed since would have been searched as it is now, not as
    shown."""
    photo = tmp_path / "room.jpg"
    shutil.copy(scene_path(ROOM), photo)
    open_and_wait(qtbot, window, photo)
    c = window.controller
    tag = next(t for t in c.scene.visible if t.obj.matches)
    photo.unlink()
    failures: list[str] = []
    c.failed.connect(failures.append)
    c.checkFailed.connect(lambda _n, message: failures.append(message))
    with qtbot.waitSignal(c.matchesReady, timeout=WAIT_MS) as found:
        c.request_matches(tag.number, True)
    assert found.args[0] == tag.number and found.args[2]
    with qtbot.waitSignal(c.checkedReady, timeout=WAIT_MS) as checked:
        c.check_details(tag.number, False)
    assert checked.args[2]
    w, h = c.scene.result.width, c.scene.result.height
    with qtbot.waitSignal(c.tagAdded, timeout=WAIT_MS):
        c.search_region((w * 0.3, h * 0.3, w * 0.6, h * 0.6))
    c.change_category(tag.number, "clock")
    qtbot.waitUntil(lambda: not c._running, timeout=WAIT_MS)
    assert c.scene.tag(tag.number).obj.category == "clock" and failures == []


def test_other_models_put_in_use_tag_the_open_photo_again_unless_it_holds_edits(qtbot, window, pipeline, scene_path):
    """After the Train window's Use (or Settings), the photo open kept the previous models' tags until it was
    opened again. It is now tagged again with the models in use; a photo with edits keeps them, and says so."""
    from engine.pipeline import Pipeline

    path = scene_path(ROOM)
    open_and_wait(qtbot, window, path)
    c = window.controller
    before = [t.obj.box for t in c.scene.tags]
    coco_only = Pipeline(pipeline.settings.with_(detectors=pipeline.settings.detectors[:1]), pipeline.log)
    expected = [o.box for o in coco_only.search_scene(path, window.settings.top_k, require_catalog=False).objects]
    assert expected != before  # the Open Images detector's objects go
    window.view.activate(min(window.view.pins))
    assert window.panel.number is not None

    window.use_models(coco_only)
    assert window.panel.number is None  # the number will be another object's
    qtbot.waitUntil(lambda: [t.obj.box for t in c.scene.tags] == expected and not c._running, timeout=WAIT_MS)
    assert sorted(window.view.pins) == [t.number for t in c.scene.visible]

    gone = min(t.number for t in c.scene.visible)
    c.remove(gone)
    edited = c.scene
    window.use_models(pipeline)
    assert c.scene is edited and not c._running and gone not in {t.number for t in c.scene.visible}
    assert window.message.text.text().startswith("This photo keeps your edits")


def test_an_edited_photo_is_matched_again_by_another_embedder_put_in_use(qtbot, main_window, fresh_pipeline, ikea,
                                                                        shared_models, scene_path):
    """A photo with edits kept the previous embedder's matches after another was put in use, opened again or not:
    its lists ranked by vectors the catalog no longer searched, their scores read against the new embedder's
    thresholds. Its tags are now matched again by the embedder in use; the edits (a confirmation, a removal) stay."""
    for folder in sorted(p for p in (ikea / "products").iterdir() if p.is_dir()):
        (fresh_pipeline.data_dir / "src" / folder.name).mkdir(parents=True)
        for photo in sorted(folder.glob("*.jpg"))[:4]:
            shutil.copy(photo, fresh_pipeline.data_dir / "src" / folder.name)
    fresh_pipeline.import_catalog(fresh_pipeline.data_dir / "src")
    other = fresh_pipeline.with_embedder(shared_models / "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx")
    win = main_window(fresh_pipeline, (1280, 800))
    open_and_wait(qtbot, win, scene_path(ROOM))
    c = win.controller
    kept, gone = [t for t in c.scene.visible if len(t.obj.matches) > 1][:2]
    c.confirm(kept.number, kept.obj.matches[1])
    c.remove(gone.number)
    assert c.scene.matched_with == fresh_pipeline.embedder.key

    def matched_by(pipeline) -> bool:
        tags = c.scene.visible
        expected = pipeline.match_boxes(c.pixels, [t.obj.box for t in tags], [t.obj.category for t in tags],
                                        win.settings.top_k, parts=[t.obj.parts for t in tags])
        return [[m.sku for m in t.obj.matches] for t in tags] == [[m.sku for m in found] for found in expected]

    assert not matched_by(other)
    win.use_models(other)
    qtbot.waitUntil(lambda: c.scene.matched_with == other.embedder.key and not c._running, timeout=WAIT_MS)
    assert matched_by(other)
    assert c.scene.tag(kept.number).confirmed.sku == kept.obj.matches[1].sku and c.scene.tag(gone.number).removed
    assert win.message.text.text() == "This photo keeps your edits; its tags were matched again with the new embedder."
    qtbot.waitUntil(lambda: saved(win).get("corrections", {}).get("matched_with") == other.embedder.key, timeout=5_000)

    win.set_pipeline(fresh_pipeline)  # as Settings does, the photo open being another one
    open_and_wait(qtbot, win, scene_path("bright-kitchen"))
    open_and_wait(qtbot, win, scene_path(ROOM))
    qtbot.waitUntil(lambda: c.scene.matched_with == fresh_pipeline.embedder.key and not c._running, timeout=WAIT_MS)
    assert matched_by(fresh_pipeline) and c.scene.tag(gone.number).removed
    assert win.message.text.text().endswith("its tags were matched again with the embedder now in use.")
