"""Hostile folders: what a merchandiser points ``decorlens tag``, ``catalog import`` and the app's Open Folder at.

Each test builds its folder from copies of real photos in tmp_path."""

from __future__ import annotations

import csv
import os
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from ikea_feed import write_feed
from png_bomb import png_claiming

from app.scene_files import each_scene_file, scene_files
from decorlens.errors import PARTLY_DONE
from decorlens.main import main
from engine.batch import SUMMARY, expand_scenes, tag_scenes, unique_stems
from engine.pipeline import MAX_NAMED

DEEP = 1_000  # folders nested, one in the next
EMPTY = 300  # empty files named .jpg


@pytest.fixture
def photo(ikea: Path) -> Path:
    return min((ikea / "scenes").glob("*.jpg"))


def _nested(top: Path, name: str, depth: int) -> Path:
    """``top/name/name/…`` ``depth`` levels down, made one level at a time (``os.makedirs`` itself recurses)."""
    folder = top
    for _ in range(depth):
        folder = folder / name
        folder.mkdir()
    return folder


def _past_path_max(top: Path) -> None:
    """Folders below ``top`` whose path passes the system's 4,096 bytes, a photo at the bottom (made by
    descriptor: the path itself cannot be used)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(25):
        os.mkdir("b" * 200, dir_fd=fd)
        inner = os.open("b" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("deepest.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    os.close(fd)


def _remove_chain(folder: Path) -> None:
    """``folder`` and the chain of single subfolders below it, removed by descriptor from the bottom up: pytest's
    clean-up of old tmp_paths (``shutil.rmtree``) recurses, and left these behind with a RecursionError."""
    fds, names = [os.open(folder, os.O_RDONLY | os.O_DIRECTORY)], []
    while True:
        entries = list(os.scandir(fds[-1]))
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.name, dir_fd=fds[-1])
        subfolders = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        if not subfolders:
            break
        names.append(subfolders[0])
        fds.append(os.open(subfolders[0], os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    while names:
        os.close(fds.pop())
        os.rmdir(names.pop(), dir_fd=fds[-1])
    os.close(fds.pop())
    folder.rmdir()


@pytest.fixture
def top(tmp_path: Path) -> Iterator[Path]:
    """An empty folder whose deep chains of subfolders are removed after the test."""
    folder = tmp_path / "photos"
    folder.mkdir()
    yield folder
    for entry in folder.iterdir():
        if entry.is_dir():
            _remove_chain(entry)


def test_a_folder_1000_deep_and_one_past_the_path_limit_are_listed_without_a_traceback(photo: Path, top: Path):
    """``rglob`` (the CLI's ``tag`` and the batch dialog) and the strip's recursive walk died of RecursionError at
    1,000 nested folders, and of "File name too long" where a path passed 4,096 bytes: a traceback, nothing tagged."""
    shutil.copy(photo, top / "top.jpg")
    shutil.copy(photo, _nested(top, "a", DEEP) / "bottom.jpg")
    _past_path_max(top)
    bottom = top.joinpath(*["a"] * DEEP, "bottom.jpg")
    assert expand_scenes([top]) == [bottom, top / "top.jpg"]
    assert list(each_scene_file([top])) == [bottom, top / "top.jpg"]
    assert scene_files([top]) == [bottom, top / "top.jpg"]


@pytest.fixture
def data_dir(fresh_pipeline, ikea: Path, ikea_products: list[dict[str, str]], tmp_path: Path) -> Path:
    """A data folder whose catalog holds a few real products."""
    feed = write_feed(ikea, [r for r in ikea_products if r["category"] in ("sofa", "lamp")][:6], tmp_path / "feed.csv")
    assert fresh_pipeline.import_catalog(feed).added == 6
    return fresh_pipeline.data_dir


def test_a_folder_of_thousands_of_bad_files_prints_a_bounded_number_of_lines(data_dir: Path, tmp_path: Path,
                                                                              capsys):
    """`tag` printed a `failed:` line per photo: 20,000 empty files named .jpg printed 20,000 lines, as each reason
    started with its own photo's path, so none were alike. The same reason is now said once with how many more, and
    at most MAX_NAMED lines come before how many more failed; summary.csv still lists every one."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for n in range(EMPTY):
        (photos / f"empty-{n:04d}.jpg").touch()
    for n in range(MAX_NAMED + 5):  # a reason of its own each: the size each claims
        (photos / f"huge-{n:02d}.png").write_bytes(png_claiming(15_000 + n, 15_000))
    capsys.readouterr()
    assert main(["-q", "--data-dir", str(data_dir), "tag", str(photos), "--out", str(tmp_path / "out")]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == MAX_NAMED + 2  # the lines named, how many more, the error
    assert sum(f"and {EMPTY - 1:,} more photos alike): empty file" in line for line in lines) == 1
    assert lines[-2].startswith("… and 6 more photos failed")
    with open(tmp_path / "out" / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        assert sum(1 for row in csv.DictReader(fh) if row["failed"]) == EMPTY + MAX_NAMED + 5


def test_a_photo_reached_twice_is_tagged_once_under_its_own_name(data_dir: Path, ikea: Path, tmp_path: Path,
                                                                  capsys):
    """`tag photos photos/sub` (a folder and a subfolder of it), a symlink or hard link beside a photo: the photo was
    tagged once per way it was reached, its rows repeated in summary.csv, "tagged 5 of 5" counted it again, and its
    JSON was written twice, the first renamed sub_… for the clash with itself. Each file is now tagged once, under
    its own name rather than a symlink's."""
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    first, second = sorted((ikea / "scenes").glob("*.jpg"))[:2]
    shutil.copy(first, photos / "room.jpg")
    shutil.copy(second, photos / "sub" / "kitchen.jpg")
    (photos / "a-link.jpg").symlink_to("room.jpg")  # sorts first
    os.link(photos / "sub" / "kitchen.jpg", photos / "hard.jpg")
    out = tmp_path / "out"
    assert main(["-q", "--data-dir", str(data_dir), "tag", str(photos), str(photos / "sub"),
                 str(photos / "sub" / "kitchen.jpg"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("tagged 2 of 2 photos")
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        scenes = {row["scene"] for row in csv.DictReader(fh)}
    assert scenes == {str(photos / "hard.jpg"), str(photos / "room.jpg")}
    assert sorted(p.name for p in out.glob("*.json")) == ["hard.json", "room.json"]


def test_the_apps_batch_tags_a_photo_listed_twice_once(data_dir: Path, fresh_pipeline, ikea: Path, tmp_path: Path):
    """The app's Batch Tag Folder lists the folder as its strip shows it (a symlink beside its photo included) and
    hands the list to tag_scenes, which tagged the photo twice; it now tags each file once, and counts so."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(min((ikea / "scenes").glob("*.jpg")), photos / "room.jpg")
    (photos / "a-link.jpg").symlink_to("room.jpg")
    totals: list[int] = []
    report = tag_scenes(fresh_pipeline, scene_files([photos]), tmp_path / "out",
                        progress=lambda _done, total: totals.append(total))
    assert report.done == [photos / "room.jpg"] and totals == [1]


def test_a_category_linking_back_to_the_catalog_folder_or_above_is_skipped(fresh_pipeline, ikea: Path,
                                                                           tmp_path: Path):
    """`catalog import products/` entered a category folder that is a link to products/ itself, to its parent or
    to /: the parent's photos (here a room photo beside products/) became products of a category "up", and / was
    listed as one. Such a link is now a skipped row saying why; a real category imports as before."""
    shutil.copy(min((ikea / "scenes").glob("*.jpg")), tmp_path / "room.jpg")
    products = tmp_path / "products"
    (products / "lamp").mkdir(parents=True)
    shutil.copy(min((ikea / "products" / "lamp").glob("*.jpg")), products / "lamp" / "L1.jpg")
    for name, target in (("self", "."), ("up", ".."), ("all", "/")):
        (products / name).symlink_to(target)
    report = fresh_pipeline.import_catalog(products)
    assert report.added == 1 and report.categories == {"lamp": 1}
    skipped = {Path(where).name: why for where, why in report.skipped}
    assert set(skipped) == {"self", "up", "all"} and all("a link back to" in why for why in skipped.values())


def test_a_photos_name_cannot_drive_the_terminal_from_a_failed_line(data_dir: Path, tmp_path: Path, capsys):
    """`failed:` lines (stderr) printed a photo's name as it is: ``ESC]0;…BEL`` retitled the terminal, ``ESC[2J``
    cleared it, and a right-to-left override made ``gpj.exe`` read as ``exe.jpg``. They show as ``\\uXXXX``, as
    on stdout and in the error line already; so does a category folder's name in `catalog import`'s skipped
    lines."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("title\x1b]0;pwned\x07\x1b[2J.jpg", "bidi\u202egpj.exe.jpg", "fine.jpg"):
        (photos / name).write_bytes(b"not a photo")
    capsys.readouterr()
    assert main(["-q", "--data-dir", str(data_dir), "tag", str(photos), "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert err.count("failed: ") == 3 and "\\u001b]0;pwned\\u0007\\u001b[2J" in err and "\\u202e" in err
    (photos / "chair\x1b[31m").mkdir()
    (photos / "chair\x1b[31m" / "notes.txt").write_text("no photo")
    assert main(["--data-dir", str(data_dir), "catalog", "import", str(photos)]) != 0
    err = capsys.readouterr().err
    assert "chair\\u001b[31m" in err
    assert not any(ch in err for ch in "\x1b\x07\u202e")


def test_photos_whose_names_differ_only_in_how_an_accent_is_encoded_get_outputs_of_their_own():
    """``café.jpg`` with é as one character and as e plus a combining accent are two files on Linux and one name
    on macOS (APFS ignores the difference, as it ignores case): both got the output stem ``café``, so on a Mac
    share the second photo's JSON and page overwrote the first's. They are told apart as names differing only in
    case are."""
    one, two = Path("photos") / "caf\u00e9.jpg", Path("photos") / "cafe\u0301.jpg"
    stems = unique_stems([one, two])
    assert len({unicodedata.normalize("NFC", stem).casefold() for stem in stems}) == 2


def test_a_folder_that_cannot_be_read_is_named_and_the_batch_is_done_in_part(data_dir: Path, photo: Path, top: Path,
                                                                             tmp_path: Path, capsys):
    """A folder that cannot be listed (here: its path past 4,096 bytes; for a user other than root also one
    without read permission) was passed over without a word, and `tag` said "tagged 1 of 1 photos", exit 0: a
    merchandiser could not tell that its photos were never tagged. It is named before the tagging, and the exit
    code says done in part."""
    shutil.copy(photo, top / "top.jpg")
    _past_path_max(top)
    capsys.readouterr()
    assert main(["-q", "--data-dir", str(data_dir), "tag", str(top), "--out", str(tmp_path / "out")]) == PARTLY_DONE
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("left out, its photos not tagged: ") and line.endswith(": File name too long")
    assert captured.out.startswith("tagged 1 of 1 photo")
