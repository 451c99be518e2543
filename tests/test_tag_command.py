"""``decorlens tag`` where its output folder meets its input, a photo's name is not UTF-8, nothing in it
is tagged or it cannot be read, the output folder cannot be written (read-only or full), or no output folder is given: real
scenes, a small real catalog, the real CLI."""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image
from png_bomb import png_claiming

from decorlens.main import main
from engine.advice import Context, describe
from engine.batch import SUMMARY, SUMMARY_COLUMNS, tag_scenes
from engine.errors import Cancelled, DecorLensError
from engine.scene_memory import photo_count
from engine.shoppable import IMAGES

SCENES = ("a-cosy-space-for-coffee-and-conversation", "take-a-comfy-seat-on-the-sofa")
CATEGORIES = ("sofa", "chair", "lamp", "table")


@pytest.fixture
def data_dir(fresh_pipeline, ikea: Path, ikea_products: list[dict[str, str]], tmp_path: Path) -> Path:
    """A data folder whose catalog holds a few real products of the scenes' categories."""
    feed = tmp_path / "feed.csv"
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image"])
        for category in CATEGORIES:
            for row in [r for r in ikea_products if r["category"] == category][:2]:
                writer.writerow([row["product_id"], row["name"], category, str(ikea / row["image"])])
    assert fresh_pipeline.import_catalog(feed).added == 2 * len(CATEGORIES)
    return fresh_pipeline.data_dir


def _photos(folder: Path, scene_path, names: tuple[str, ...]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for fragment, name in zip(SCENES * len(names), names):
        shutil.copy(scene_path(fragment), folder / name)
    return [folder / n for n in names]


def _tag(data_dir: Path, *args: str) -> int:
    return main(["-q", "--data-dir", str(data_dir), "tag", *args])


def _scenes_in_summary(out: Path) -> set[str]:
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        return {row["scene"] for row in csv.DictReader(fh)}


def test_a_rerun_into_an_output_folder_inside_the_input_tags_only_the_photos(data_dir, scene_path, tmp_path):
    """The second run tagged the first run's page pictures and thumbnails as rooms and renamed the outputs."""
    photos = tmp_path / "photos"
    _photos(photos, scene_path, ("living.jpg", "lounge.jpg"))
    out = photos / "tagged"
    for _ in range(2):
        assert _tag(data_dir, str(photos), "--out", str(out), "--html") == 0
    assert (out / IMAGES / "living.jpg").is_file()  # the page's picture, which the rerun must not tag
    assert sorted(p.name for p in out.glob("*.json")) == ["living.json", "lounge.json"]
    assert {Path(s).name for s in _scenes_in_summary(out)} == {"living.jpg", "lounge.jpg"}


def test_the_folder_being_tagged_as_output_is_refused_in_one_line(data_dir, scene_path, tmp_path, capsys):
    photos = tmp_path / "photos"
    _photos(photos, scene_path, ("living.jpg",))
    assert _tag(data_dir, str(photos), "--out", str(photos), "--html") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--out" in err and "tagged" in err
    assert sorted(p.name for p in photos.iterdir()) == ["living.jpg"]  # nothing written among the photos


def test_a_folder_without_photos_is_an_error_in_one_line(data_dir, tmp_path, capsys):
    """Nothing tagged is a failed command: its one error line and exit code 2, not a note and a bug's 1."""
    empty = tmp_path / "holiday"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "list.txt").write_text("not a photo")
    assert _tag(data_dir, str(empty), "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("decorlens: error: no photos found in ") and "holiday" in err[0]
    assert not (tmp_path / "out").exists()


def test_a_photo_name_that_is_not_utf8_gets_its_page_and_the_batch_goes_on(data_dir, scene_path, tmp_path):
    """``b"bad\\xff\\xfename.jpg"`` stopped ``tag --html`` with exit 2, no summary, later photos untagged."""
    photos = tmp_path / "photos"
    bad = os.fsdecode(b"bad\xff\xfename.jpg")
    _photos(photos, scene_path, ("a.jpg", bad, "c.jpg"))
    out = tmp_path / "out"
    assert _tag(data_dir, str(photos), "--out", str(out), "--html") in (0, 1)  # 1: not remembered for Where used
    assert len(_scenes_in_summary(out)) == 3
    page = (out / bad.replace(".jpg", ".html")).read_text(encoding="utf-8")
    assert "<h1>Bad\ufffd\ufffdname</h1>" in page and f'src="{IMAGES}/bad%FF%FEname.jpg"' in page
    assert (out / IMAGES / bad).is_file() and (out / "c.html").is_file()


def test_a_photo_with_nothing_tagged_has_a_row_of_its_own_in_the_summary(
    data_dir, scene_path, tmp_path, capsys
):
    """summary.csv listed only tags: a photo in which nothing was found was missing from it, as a photo left
    out of the batch would be. A photo that cannot be opened has its row too, saying so."""
    photos = tmp_path / "photos"
    _photos(photos, scene_path, ("living.jpg",))
    Image.new("RGB", (640, 480), (128, 128, 128)).save(photos / "blank.png")  # nothing in it to tag
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    out = tmp_path / "out"
    assert _tag(data_dir, str(photos), "--out", str(out), "--html") == 1
    (failed,) = capsys.readouterr().err.strip().splitlines()
    assert failed.startswith("failed: ") and "broken.jpg" in failed  # the only failure
    assert json.loads((out / "blank.json").read_text())["objects"] == []
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    blank = [r for r in rows if r["scene"] == str(photos / "blank.png")]
    assert blank == [{column: "" for column in SUMMARY_COLUMNS} | {"scene": str(photos / "blank.png")}]
    living = [r for r in rows if r["scene"] == str(photos / "living.jpg")]
    assert living and all(r["object"] and r["category"] for r in living)
    (broken,) = [r for r in rows if r["scene"] == str(photos / "broken.jpg")]
    assert broken["failed"] and not broken["object"]
    assert len(rows) == len(living) + 2


def test_a_photo_that_failed_has_a_row_saying_why_in_the_summary(data_dir, scene_path, tmp_path, capsys):
    """A photo that could not be tagged (a cut-off JPEG, one too large to decode) had no row in summary.csv:
    a merchandiser reading it in a spreadsheet could not see it was skipped. Now it has one, in batch order,
    with the one-line reason in the column ``failed`` (then the last), and its path only in ``scene``."""
    photos = tmp_path / "photos"
    _photos(photos, scene_path, ("a-living.jpg", "d-lounge.jpg"))
    real = scene_path(SCENES[1]).read_bytes()
    (photos / "b-cut.jpg").write_bytes(real[: len(real) // 2])  # a real photo, its download cut off
    (photos / "c-huge.png").write_bytes(png_claiming(15800, 15800))
    out = tmp_path / "out"
    assert _tag(data_dir, str(photos), "--out", str(out)) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 2  # each still a `failed:` line
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    # each added last
    assert reader.fieldnames == SUMMARY_COLUMNS
    assert SUMMARY_COLUMNS[-4:] == ["failed", "alike", "category_name", "match_category_name"]
    # Excel reads a CSV as UTF-8 only after a byte order mark: without it "été.jpg" showed as "Ã©tÃ©.jpg"
    assert (out / SUMMARY).read_bytes().startswith(codecs.BOM_UTF8 + b"scene,")
    names = ["a-living.jpg", "b-cut.jpg", "c-huge.png", "d-lounge.jpg"]
    assert list(dict.fromkeys(Path(r["scene"]).name for r in rows)) == names  # in batch order
    failed = {Path(r["scene"]).name: r for r in rows if r["failed"]}
    assert sorted(failed) == ["b-cut.jpg", "c-huge.png"]
    assert "truncated" in failed["b-cut.jpg"]["failed"]
    assert failed["c-huge.png"]["failed"].startswith("image too large to decode (15800x15800 RGB")
    for name, row in failed.items():
        assert row == {column: "" for column in SUMMARY_COLUMNS} | {"scene": str(photos / name),
                                                                     "failed": row["failed"]}
        assert "\n" not in row["failed"] and str(tmp_path) not in row["failed"]  # one line, no path of its own
    tagged = [r for r in rows if Path(r["scene"]).name in ("a-living.jpg", "d-lounge.jpg")]
    assert tagged and all(r["object"] and r["failed"] == "" for r in tagged)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """An existing folder that cannot be written: chmod 555, or as root (whom modes do not stop) a
    read-only bind mount, skipped where mounting is impossible."""
    folder = tmp_path / "shelf"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, check=False).returncode:
        pytest.skip("no read-only folder can be made here (root, and mount is not allowed)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True, check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_output_folder_is_named_as_out_in_one_clean_line(
    data_dir, fresh_pipeline, scene_path, tmp_path, read_only, capsys
):
    """The line was cut in the middle ("romnt…/ikea-…ystem is read-only") and suggested --data-dir."""
    photos = _photos(tmp_path / "photos", scene_path, ("living.jpg",))
    for out in (read_only, read_only / "sub"):
        assert _tag(data_dir, str(photos[0]), "--out", str(out)) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"decorlens: error: --out {out}: {_problem(read_only)}"
    with pytest.raises(DecorLensError, match=f"^the output folder {read_only}: "):  # the app's batch too
        tag_scenes(fresh_pipeline, photos, read_only)


def _problem(folder: Path) -> str:
    return ("the file system is read-only; choose another output folder" if os.geteuid() == 0 else
            "permission denied; check its owner and permissions, or choose another output folder")


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 64 KB file system filled to the last block (tmpfs, as root where mounting is allowed):
    a file can still be made there, but not written."""
    folder = tmp_path / "full-disk"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                                           capture_output=True, check=False).returncode:
        pytest.skip("no small file system can be mounted here (needs root and mount)")
    try:
        with open(folder / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
            while fh.write(b"\0" * 4096):
                pass
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_output_folder_is_named_with_the_advice_every_path_gets(
    data_dir, fresh_pipeline, scene_path, tmp_path, full_disk, capsys
):
    """The batch kept its own copy of the advice for a full disk, whose words had drifted from the CLI's."""
    photos = _photos(tmp_path / "photos", scene_path, ("living.jpg",))
    out = full_disk / "tagged"
    advice = "no space left on the device; free some disk space, or choose another output folder"
    with pytest.raises(DecorLensError) as info:  # the app's batch
        tag_scenes(fresh_pipeline, photos, out)
    assert str(info.value) == f"stopped after tagging 0 of 1 photos: the output folder {out}: {advice}"
    assert _tag(data_dir, str(photos[0]), "--out", str(out)) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()  # its long path shortened to fit the terminal
    assert line.startswith("decorlens: error: stopped after tagging 0 of 1 photos: the output folder ")
    assert line.endswith(f"/full-disk/tagged: {advice}")
    any_path = describe(OSError(errno.ENOSPC, "No space left on device", str(out / "a.json")), Context())
    assert any_path == f"{out / 'a.json'}: {advice.replace('output folder', 'location')}"


def test_an_empty_out_is_refused_not_the_current_folder(data_dir, scene_path, tmp_path, monkeypatch, capsys):
    photos = _photos(tmp_path / "photos", scene_path, ("living.jpg",))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with pytest.raises(SystemExit) as stopped:
        _tag(data_dir, str(photos[0]), "--out", "")
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1 and "--out" in err
    assert not list(here.iterdir())


def test_a_photo_corrected_in_the_app_is_written_as_corrected(data_dir, fresh_pipeline, scene_path, tmp_path, capsys):
    """A merchandiser who removed a pin and confirmed a product in the app, then batch-tagged the folder,
    published the detector's guesses: the batch searched every photo again. A photo with saved edits is now
    written as the app shows it (JSON, summary rows by pin number with the confirmed product first, page), its
    tags matched by the embedder in use when another matched them; a photo without edits is searched as before."""
    from engine import corrections

    edited_photo, plain_photo = _photos(tmp_path / "photos", scene_path, ("living.jpg", "lounge.jpg"))
    scene = corrections.EditableScene(fresh_pipeline.search_scene(edited_photo),
                                      corrections.image_digest(edited_photo), matched_with="an-embedder-since-replaced")
    kept, gone = [t for t in scene.visible if len(t.obj.matches) > 1][:2]
    chosen = kept.obj.matches[1]
    scene.confirm(kept.number, chosen)
    scene.remove(gone.number)
    ranked = {t.number: [m.sku for m in t.obj.matches] for t in scene.visible}
    for tag in scene.visible:  # the other embedder's lists, in another order than this one's
        tag.obj.matches.reverse()
    corrections.save(scene.to_json(), data_dir)

    out = tmp_path / "out"
    assert _tag(data_dir, str(edited_photo), str(plain_photo), "--out", str(out), "--html") == 0
    assert "1 as corrected in the app" in capsys.readouterr().out
    written = json.loads((out / "living.json").read_text())
    assert [o["number"] for o in written["objects"]] == [t.number for t in scene.visible]
    assert {o["number"]: [m["sku"] for m in o["matches"]] for o in written["objects"]} == ranked
    assert next(o for o in written["objects"] if o["number"] == kept.number)["confirmed_sku"] == chosen.sku
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["scene"] == str(edited_photo)]
    assert {int(r["object"]) for r in rows} == set(ranked)
    first = next(r for r in rows if r["object"] == str(kept.number) and r["rank"] == "1")
    assert (first["sku"], first["match"]) == (chosen.sku, "confirmed")
    assert chosen.sku in (out / "living.html").read_text()
    plain = json.loads((out / "lounge.json").read_text())
    assert "corrections" not in plain
    assert len(plain["objects"]) == len(fresh_pipeline.search_scene(plain_photo).objects)


class _Opens:
    """Counts the opens of files of ``watched`` (Python's own ``open`` audit event: ``open`` and ``os.open``). An
    audit hook cannot be removed, so it counts only while ``watched`` is set."""

    watched: frozenset[str] = frozenset()
    counted: ClassVar[list[str]] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if event == "open" and cls.watched and isinstance(args[0], str | Path) and str(args[0]) in cls.watched:
            cls.counted.append(str(args[0]))

    @classmethod
    @contextlib.contextmanager
    def of(cls, paths: list[Path]) -> Iterator[list[str]]:
        if not getattr(cls, "installed", False):
            sys.addaudithook(cls.hook)
            cls.installed = True
        cls.counted.clear()
        cls.watched = frozenset(map(str, paths))
        try:
            yield cls.counted
        finally:
            cls.watched = frozenset()


def test_the_batch_opens_each_photo_once(data_dir, fresh_pipeline, scene_path, tmp_path):
    """A batch read each photo three times (hashed for its saved edits, decoded for its search, hashed again for
    the memory of tagged photos): on a network share, a folder of 20,000 photos was read 60,000 times. One read
    now gives the hash and the pixels, edited photos (matched again by this embedder) and plain ones alike."""
    from engine import corrections

    edited_photo, plain_photo = _photos(tmp_path / "photos", scene_path, ("living.jpg", "lounge.jpg"))
    scene = corrections.EditableScene(fresh_pipeline.search_scene(edited_photo),
                                      corrections.image_digest(edited_photo), matched_with="an-embedder-since-replaced")
    corrections.save(scene.to_json(), data_dir)
    with _Opens.of([edited_photo, plain_photo]) as opened:
        report = tag_scenes(fresh_pipeline, [edited_photo, plain_photo], tmp_path / "out")
    assert report.edited == [edited_photo] and report.done == [edited_photo, plain_photo]
    assert sorted(opened) == sorted(map(str, [edited_photo, plain_photo]))


def test_a_stopped_batch_started_again_tags_only_the_rest(data_dir, fresh_pipeline, scene_path, tmp_path, capsys):
    """A merchandiser who stopped a batch of 2,000 photos at 1,500 and started it again waited for all 2,000 again.
    A photo the last run into the folder tagged is kept while the photo, catalog and settings are the same."""
    photos = _photos(tmp_path / "photos", scene_path, ("a.jpg", "b.jpg"))
    out, done = tmp_path / "out", []
    with pytest.raises(Cancelled):  # stopped after the first photo, as Cancel or Ctrl-C stops it
        tag_scenes(fresh_pipeline, photos, out, progress=lambda n, _total: done.append(n), cancelled=lambda: bool(done))
    first = (out / "a.json").stat().st_ino  # each write is a new file (write_atomic)
    assert _tag(data_dir, str(tmp_path / "photos"), "--out", str(out)) == 0
    assert "1 kept as the last batch tagged them" in capsys.readouterr().out
    assert (out / "a.json").stat().st_ino == first and (out / "b.json").is_file()
    assert _scenes_in_summary(out) == {str(p) for p in photos}
    with fresh_pipeline.catalog.write():  # forgotten by Where used: tagged again, to be remembered
        fresh_pipeline.catalog.db.execute("DELETE FROM scenes WHERE path = ?", (str(photos[0].resolve()),))
    assert _tag(data_dir, str(tmp_path / "photos"), "--out", str(out)) == 0
    assert "1 kept as the last batch tagged them" in capsys.readouterr().out and (out / "a.json").stat().st_ino != first
    assert photo_count(fresh_pipeline.catalog) == 2
    first, second = (out / "a.json").stat().st_ino, (out / "b.json").stat().st_ino
    (out / "b.json").write_text((out / "b.json").read_text() + "\n")  # written over since (a run killed, a hand)
    assert _tag(data_dir, str(tmp_path / "photos"), "--out", str(out)) == 0
    assert "1 kept as the last batch tagged them" in capsys.readouterr().out
    assert (out / "a.json").stat().st_ino == first and (out / "b.json").stat().st_ino != second
    assert _tag(data_dir, str(tmp_path / "photos"), "--out", str(out), "--top-k", "2") == 0  # other settings
    assert "kept" not in capsys.readouterr().out and (out / "a.json").stat().st_ino != first


def test_edits_that_cannot_be_read_are_said_and_the_photo_searched(data_dir, fresh_pipeline, scene_path, tmp_path,
                                                                   capsys):
    """Saved edits that are not JSON: kept aside as the app keeps them, said on the photo's line, and the photo
    tagged by a search, its outputs still wanted (exit 1: done in part)."""
    from engine import corrections

    (photo,) = _photos(tmp_path / "photos", scene_path, ("living.jpg",))
    saved = corrections.corrections_path(data_dir, photo, corrections.image_digest(photo))
    saved.parent.mkdir(parents=True)
    saved.write_text("{not json")
    out = tmp_path / "out"
    assert _tag(data_dir, str(photo), "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "are unreadable" in err and "tagged without them" in err and len(err.strip().splitlines()) == 1
    assert saved.with_name(saved.stem + corrections.MOVED_ASIDE).is_file()
    written = json.loads((out / "living.json").read_text())
    assert len(written["objects"]) == len(fresh_pipeline.search_scene(photo).objects)


def test_a_photo_or_folder_that_is_not_there_stops_the_batch_before_it_starts(data_dir: Path, scene_path,
                                                                              tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]):
    """`tag photos/ room2.jpg --out out` with room2.jpg misspelt tagged the whole folder first, then said "failed:
    …room2.jpg: no such file" and exited 1; `tag gone.jpg` alone said "tagged 0 of 1 scenes", wrote a
    summary.csv of that one failure and exited 1 (done in part) with nothing done. A typo is one line, exit 2,
    before any photo is tagged or the output folder made."""
    photos = tmp_path / "photos"
    _photos(photos, scene_path, ("room.jpg",))
    out = tmp_path / "out"
    for inputs in ([photos, tmp_path / "room2.jpg"], [tmp_path / "gone"]):
        capsys.readouterr()
        assert _tag(data_dir, *map(str, inputs), "--out", str(out)) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"decorlens: error: {inputs[-1]}: no such file or folder; nothing was tagged"
        assert not out.exists()


def test_where_before_any_photo_is_tagged_says_how_to_tag_them(data_dir: Path, ikea_products,
                                                               capsys: pytest.CaptureFixture[str]):
    """`where SKU` on a catalog with no tagged photo said "best match of 0 tags in 0 of 0 tagged photos"."""
    sku = next(r["product_id"] for r in ikea_products if r["category"] == "sofa")
    assert main(["--data-dir", str(data_dir), "where", sku]) == 0
    out = capsys.readouterr().out
    assert "no photos are tagged yet" in out and "decorlens tag" in out and "0 tags" not in out


def test_the_batch_and_where_used_say_photos_and_tags_as_the_app_does(data_dir: Path, scene_path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]):
    """`tag` ended in "tagged 2 of 2 scenes (17 objects)" and `where` in "best match of 3 objects … object 2 [sofa]"
    where the app's batch dialog says "Tagged 2 photos (17 tags)" and its pins are tags."""
    photos = _photos(tmp_path / "photos", scene_path, ("living.jpg", "lounge.jpg"))
    out = tmp_path / "out"
    assert _tag(data_dir, *map(str, photos), "--out", str(out)) == 0
    written = [json.loads((out / f"{p.stem}.json").read_text())["objects"] for p in photos]
    tags = sum(map(len, written))
    assert capsys.readouterr().out == f"tagged 2 of 2 photos ({tags} tags) → {out / SUMMARY}\n"
    sku = written[0][0]["matches"][0]["sku"]
    assert main(["--data-dir", str(data_dir), "where", sku]) == 0
    head, *sightings = capsys.readouterr().out.splitlines()
    seen = [o for objects in written for o in objects if o["matches"] and o["matches"][0]["sku"] == sku]
    photos_seen = sum(any(o["matches"] and o["matches"][0]["sku"] == sku for o in objects) for objects in written)
    many = f"{len(seen)} tag{'s' if len(seen) > 1 else ''}"
    assert head.endswith(f": best match of {many} in {photos_seen} of 2 tagged photos")
    assert sightings and all(re.search(r"  tag \d+ \[", line) for line in sightings[:len(seen)])


def test_a_batch_in_which_nothing_could_be_tagged_fails_with_its_reason(data_dir: Path, tmp_path: Path, monkeypatch,
                                                                         capsys: pytest.CaptureFixture[str]):
    """`tag notes.txt` (no photo, named on its own) said "failed: …", then "tagged 0 of 1" and exited 1, done in
    part, with nothing done. Nothing tagged is the failure code, 2, and one error line with the reason; with
    several photos their `failed:` lines come first and the error line counts them."""
    monkeypatch.chdir(tmp_path)  # the names as typed: an absolute temp path is shortened in the line
    notes, broken = Path("notes.txt"), Path("broken.jpg")
    notes.write_text("shopping list: a lamp, a rug")
    broken.write_bytes(b"\xff\xd8\xff broken")
    assert _tag(data_dir, str(notes), "--out", "out") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"decorlens: error: {notes}: not an image (")
    assert err.endswith("; nothing was tagged\n") and len(err.splitlines()) == 1
    assert _tag(data_dir, str(notes), str(broken), "--out", "out2") == 2
    out, err = capsys.readouterr()
    *failed, line = err.strip().splitlines()
    assert out == "" and [f.split(": ")[1] for f in failed] == [str(notes), str(broken)]  # in the order given
    assert line == (f"decorlens: error: none of the 2 photos could be tagged (the reasons are above and in "
                    f"{Path('out2') / SUMMARY}); nothing was tagged")


def test_title_heads_one_photos_page_as_the_app_export_asks(data_dir: Path, scene_path, tmp_path: Path, capsys):
    """The app's Export Shoppable Page asks for the page's title; `tag --html` had no way to give one, so every
    page read its file name's words ("Living room 2041"). One photo takes --title; a batch keeps each file name's
    words, which tell its pages apart (one title on all would head, and describe, every photo alike)."""
    photos = _photos(tmp_path / "photos", scene_path, ("living-room_2041-s4.jpg", "den.jpg"))
    out = tmp_path / "out"
    capsys.readouterr()
    assert _tag(data_dir, str(photos[0]), "--out", str(out), "--html", "--title", " Autumn  guest room ") in (0, 1)
    assert capsys.readouterr().out.endswith(f"→ {out / 'summary.csv'}; shoppable pages: {out / '*.html'}\n")
    page = (out / "living-room_2041-s4.html").read_text(encoding="utf-8")
    assert "<h1>Autumn guest room</h1>" in page and 'alt="Autumn guest room"' in page, page[:600]
    assert _tag(data_dir, str(photos[1]), "--out", str(out), "--html") in (0, 1)
    assert "<h1>Den</h1>" in (out / "den.html").read_text(encoding="utf-8")  # the file name's words, as before
    capsys.readouterr()
    for args, says in ((["--html", "--title", "Autumn", str(tmp_path / "photos")], "2 photos were found"),
                       (["--title", "Autumn", str(photos[0])], "only --html writes"),
                       (["--html", "--title", "  ", str(photos[0])], "empty")):
        try:
            code = _tag(data_dir, *args, "--out", str(tmp_path / "refused"))
        except SystemExit as exc:  # argparse's usage error exits
            code = exc.code
        assert code == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
    assert not (tmp_path / "refused").exists()
