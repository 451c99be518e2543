"""Users whose clocks and time zones are not simple: a clock set back, a laptop that travels, the DST change."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from app.train_jobs import newest_first, resumable_run, run_name
from engine.backups import KEEP, TEMP_PREFIX, back_up_file, backups_dir, list_backups, take_backup
from engine.imageio import MAX_SIDE
from engine.paths import TRAINING_RUNS
from engine.pipeline import Pipeline
from engine.scene_memory import Sighting, box_in
from engine.settings import Settings

AHEAD = "99991231T23595900000{}Z"  # a backup's time from a clock far ahead (set back since, or another machine's)


def _catalog(folder: Path) -> Path:
    """A small SQLite file standing for the catalog (the backups copy any database)."""
    path = folder / "catalog.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE products (sku TEXT)")
    return path


def test_backups_taken_after_the_clock_was_set_back_are_the_newest(tmp_path: Path):
    """Five backups named after now (taken while the clock was ahead) sorted before every backup taken since, so
    each backup taken pushed the one before it out: of two removals made since, the first could not be undone. Those
    named after now are counted apart, and listed after the others."""
    catalog = _catalog(tmp_path)
    folder = backups_dir(catalog)
    folder.mkdir()
    for n in range(KEEP):
        (folder / f"catalog-{AHEAD.format(n)}-remove.sqlite").write_bytes(catalog.read_bytes())
    first = take_backup(catalog, catalog, "remove")
    second = take_backup(catalog, catalog, "remove")
    found = [b.path for b in list_backups(catalog)]
    assert found == [second, first, *(folder / f"catalog-{AHEAD.format(n)}-remove.sqlite" for n in (4, 3, 2, 1, 0))]


def test_file_copies_taken_after_the_clock_was_set_back_are_kept(tmp_path: Path):
    """The copies of categories.yaml (a bundle import's) pruned the same way: each pushed out the one before it."""
    catalog = _catalog(tmp_path)
    folder = backups_dir(catalog)
    folder.mkdir()
    for n in range(KEEP):
        (folder / f"categories-{AHEAD.format(n)}-bundle-import.yaml").write_text("lamp: lamp\n")
    source = tmp_path / "categories.yaml"
    source.write_text("chair: chair\n")
    first = back_up_file(source, catalog, "bundle-import")
    second = back_up_file(source, catalog, "bundle-import")
    assert first.is_file() and second.is_file()
    assert len(list(folder.glob("categories-*"))) == KEEP + 2


def _in_zone(zone: str, code: str) -> str:
    """What ``code`` prints in a Python whose local time is ``zone`` (TZ set in a subprocess: the tests' own stays)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "TZ": zone}, cwd=Path(__file__).resolve().parent.parent)
    return done.stdout.strip()


def test_training_runs_sort_as_started_and_read_in_local_time():
    """Run folders were named in local time: a run started in the hour that repeats when the clocks go back (01:10
    the second time) sorted before one of the first pass (01:50), and a run started on landing in Los Angeles before
    the one started in Auckland that morning: the window showed the older one as the last run."""
    la, auckland = ZoneInfo("America/Los_Angeles"), ZoneInfo("Pacific/Auckland")
    first, second = datetime(2026, 11, 1, 1, 50, tzinfo=la), datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=la)
    flown = datetime(2026, 12, 9, 10, 0, tzinfo=auckland), datetime(2026, 12, 8, 14, 0, tzinfo=la)
    for earlier, later in ((first, second), flown):
        assert earlier.timestamp() < later.timestamp() and run_name(earlier) < run_name(later)
    code = ("from pathlib import Path; from app.train_jobs import started_words as s; "
            f"print(s(Path({run_name(first)!r})), s(Path({run_name(second)!r})), s(Path('app-20261207-153700')), "
            "sep='|')")
    assert _in_zone("America/Los_Angeles", code).split("|") == [
        "started 1 Nov at 01:50", "started 1 Nov at 01:10", "started 7 Dec at 15:37"]  # the last: named in local time
    assert _in_zone("Asia/Kolkata", code).split("|")[0] == "started 1 Nov at 14:20"  # 08:50 UTC, half an hour off


def _png(width: int, height: int, length: int) -> bytes:
    """A real PNG of ``width`` x ``height``, padded after its end to ``length`` bytes (two photos of one size)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "PNG")
    return out.getvalue().ljust(length, b"\0")


def test_a_photo_copied_over_with_the_same_size_and_time_is_read_again(tmp_path: Path):
    """A photo's header size was cached by its file's modification time and size: another photo of the same size from
    a camera whose clock was never set (both of 1 Jan 1970), copied over it keeping its time (``cp -p``), was the
    same file, and its boxes were fitted to the first photo's size."""
    photo = tmp_path / "IMG_0001.png"
    size = (MAX_SIDE // 2, MAX_SIDE)  # as stored by a DecorLens that reported boxes in the decoded picture
    seen = Sighting(str(photo), (10.0, 10.0, 50.0, 90.0), "chair", 1, 0.9, "exact", False, "", "", size)
    for width, height in ((300, 600), (600, 300)):
        photo.write_bytes(_png(width, height, 4096))
        os.utime(photo, ns=(0, 0))
        assert seen.photo_box == box_in(seen.box, size, width, height)


def test_a_temp_copy_left_while_the_clock_was_ahead_is_cleaned_up(tmp_path: Path):
    """A backup killed while the clock was ahead left its temp copy of the catalog dated in the future: a temp file
    was stale only once now was well past its time, so it stayed for as long as the clock had been ahead."""
    catalog = _catalog(tmp_path)
    folder = backups_dir(catalog)
    folder.mkdir()
    killed, writing = folder / f"{TEMP_PREFIX}killed.sqlite", folder / f"{TEMP_PREFIX}writing.sqlite"
    for temp in (killed, writing):
        temp.write_bytes(catalog.read_bytes())
    os.utime(killed, (2**33, 2**33))  # the year 2242
    take_backup(catalog, catalog, "remove")
    assert not killed.exists() and writing.exists()  # the other: another process's backup being written


def test_a_backup_named_after_now_is_not_the_first_pushed_out(tmp_path: Path):
    """Ranked oldest, a backup named after now (the clock stepped back a second after it, or fast for an hour) was
    the first the next backup pushed out, though it may be the one taken just before: it is counted apart."""
    catalog = _catalog(tmp_path)
    folder = backups_dir(catalog)
    folder.mkdir()
    older = [folder / f"catalog-2000010{n + 1}T000000000000Z-remove.sqlite" for n in range(KEEP)]
    ahead = folder / f"catalog-{AHEAD.format(0)}-remove.sqlite"
    for path in (*older, ahead):
        path.write_bytes(catalog.read_bytes())
    taken = take_backup(catalog, catalog, "remove")
    assert [b.path for b in list_backups(catalog)] == [taken, *older[:0:-1], ahead]  # the oldest went


def test_resume_offers_the_run_started_after_the_clock_was_set_back(tmp_path: Path):
    """Two runs stopped before the end, one started while the clock was ahead: every run started since is named
    before it, so Resume offered the older run, and the window showed it as the last one."""
    runs = tmp_path / TRAINING_RUNS
    ahead, since = runs / run_name(datetime(9999, 1, 1, tzinfo=UTC)), runs / run_name(datetime(2000, 1, 1, tzinfo=UTC))
    for run in (ahead, since):
        (run / "embedder" / "mobilenet").mkdir(parents=True)
        (run / "embedder" / "mobilenet" / "last.pt").write_bytes(b"checkpoint")
        (run / "job.json").write_text("{}")
    assert newest_first(runs) == [since, ahead]
    assert resumable_run(Pipeline(Settings.defaults().with_(data_dir=tmp_path))) == since
