"""Hostile input, tenth review: files DecorLens writes and later reads back, changed between runs (by another
program, a sync tool, a damaged disk, someone with a way into the data folder). docs/reliability.md, "Tenth review".

Each test fails without its fix; the ones that would block for ever run in a process of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from app.settings import MAX_FILE_BYTES, MAX_RECENT, AppSettings

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 60  # for a process that should end at once; reached only when it blocks

# Each data folder gets one thing under settings.ini's name or its lock's; the child opens the settings, saves a
# choice as the window does, and prints what the window would say, one JSON line a folder.
SETTINGS_CHILD = """
import json, os, sys
from pathlib import Path
from app.settings import AppSettings
for folder in sys.argv[1:]:
    settings = AppSettings(data=folder)
    settings.top_k = 7
    settings.store.sync()
    print(json.dumps([settings.unreadable(), settings.store.status().name, AppSettings(data=folder).top_k]))
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_what_stands_in_the_settings_files_place_is_moved_aside_never_followed(tmp_path: Path) -> None:
    """QSettings opens settings.ini (and its lock, to save) by name and reads it whole: a link had the settings
    written into the file it named, outside the data folder (rewritten as INI, its own lines lost); a FIFO blocked
    the start for ever; a 3 GB sparse file ended the app in std::bad_alloc; a link, folder or FIFO as the lock hung
    the first choice saved. Each is now moved aside, said in the window's one line, and the choice is saved."""
    outside = tmp_path / "notes.txt"
    outside.write_text("[mine]\nkeep=these lines\n")
    planted = {
        "settings.ini": {"link out": lambda p: p.symlink_to(outside), "FIFO": os.mkfifo, "folder": Path.mkdir,
                         "huge": _sparse},
        "settings.ini.lock": {"link out": lambda p: p.symlink_to(outside), "FIFO": os.mkfifo, "folder": Path.mkdir},
    }
    folders = []
    for name, kinds in planted.items():
        for kind, plant in kinds.items():
            folder = tmp_path / f"{name}-{kind.replace(' ', '-')}"
            folder.mkdir()
            plant(folder / name)
            folders.append((folder, name, kind))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    try:
        done = subprocess.run([sys.executable, "-c", SETTINGS_CHILD, *(str(f) for f, _, _ in folders)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=WAIT_S, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"opening or saving the settings still blocked after {WAIT_S} s")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(folders), done.stderr
    for (folder, name, kind), (said, status, top_k) in zip(folders, lines, strict=True):
        aside = [p for p in folder.iterdir() if p.name.startswith(f"{name}.unusable-")]
        assert len(aside) == 1, (kind, name, sorted(folder.iterdir()))
        assert said.startswith(f"{folder / name} was "), (kind, said)
        assert f"moved aside as {aside[0].name}" in said and "\n" not in said
        assert (status, top_k) == ("NoError", 7), (kind, name, status)
        assert (folder / "settings.ini").is_file() and not (folder / "settings.ini").is_symlink()
    assert outside.read_text() == "[mine]\nkeep=these lines\n", "a file outside the data folder was written"


def _sparse(path: Path) -> None:
    """A file of no data over the settings file's bound (a 3 GB one crashed the app; this one is a bit past it)."""
    path.touch()
    os.truncate(path, MAX_FILE_BYTES + 1)


def test_a_hand_edited_list_in_the_settings_file_cannot_stop_the_window_or_flood_a_menu(tmp_path: Path) -> None:
    """A list nested 100,000 deep (100 KB) raised RecursionError where the window read its hidden categories and
    said what the file holds, so the app did not open; 200,000 recent photos filled Open Recent with them all."""
    recent = json.dumps([f"/photos/{n}.jpg" for n in range(20_000)]).replace('"', '\\"')
    (tmp_path / "settings.ini").write_text(f'[view]\nhidden_categories={"[" * 100_000}\n[files]\nrecent="{recent}"\n')
    settings = AppSettings(data=tmp_path)
    assert settings.hidden_categories == set()
    assert settings.recent == [f"/photos/{n}.jpg" for n in range(MAX_RECENT)]
    assert settings.unreadable().count("view/hidden_categories=") == 1


def test_page_titles_nested_deep_in_the_settings_file_leave_the_export_dialog_opening(qapp, tmp_path: Path) -> None:
    """The page export dialog reads the titles given before from settings.ini: a value nested 100,000 deep raised
    RecursionError, and Export Page… did nothing but log an unexpected error."""
    from PySide6.QtCore import QSettings

    from app.dialogs.shoppable import TITLES_KEY, PageExportDialog

    (tmp_path / "settings.ini").write_text(f"[export]\n{TITLES_KEY.split('/')[1]}={'[' * 100_000}\n")
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = PageExportDialog(store, tmp_path / "room.jpg")
    assert dialog.title.text() == dialog.title.placeholderText()  # the title made from the file name
    dialog.deleteLater()


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe, not a file")
def test_a_client_sending_a_list_nested_deep_is_dropped_and_the_next_copy_hands_over(qtbot, tmp_path: Path) -> None:
    """Any local process of the user's may write to the window's socket: a line of 100,000 brackets (under the
    1 MB a line may be) raised RecursionError in the socket's slot, the window's bug, and the client was kept till
    its time ran out. It is now dropped unanswered as other lines that are no list of paths are."""
    from PySide6.QtNetwork import QLocalSocket

    from app.single_instance import HandOverServer, server_name

    received: list[list[Path]] = []
    server = HandOverServer(tmp_path / "data", received.append)
    try:
        answers = []
        for line in (b"[" * 100_000 + b"\n", json.dumps([str(tmp_path / "room.jpg")]).encode() + b"\n"):
            client = QLocalSocket()
            client.connectToServer(server_name(tmp_path / "data"))
            assert client.waitForConnected(5_000)
            client.write(line)
            answer = bytearray()
            client.readyRead.connect(lambda c=client, a=answer: a.extend(c.readAll().data()))
            qtbot.waitUntil(lambda c=client: c.state() == QLocalSocket.LocalSocketState.UnconnectedState,
                            timeout=30_000)
            answers.append(bytes(answer))
        assert answers == [b"", b"ok\n"] and received == [[tmp_path / "room.jpg"]]
    finally:
        server.server.close()


# The child opens a catalog whose companion is planted, then lists and restores a backup whose journal is a FIFO.
COMPANION_CHILD = """
import json, os, sys
from pathlib import Path
from engine.backups import list_backups
from engine.catalog import Catalog
from engine.errors import CatalogError
said = []
for path in sys.argv[2:]:
    try:
        Catalog(Path(path)).close()
        said.append("opened")
    except CatalogError as exc:
        said.append(str(exc))
with Catalog(Path(sys.argv[1])) as catalog:
    backup = list_backups(catalog.path)[0]
    said.append(backup.products())
    try:
        catalog.restore_from(backup.path)
        said.append("restored")
    except CatalogError as exc:
        said.append(str(exc))
print(json.dumps(said))
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_catalogs_journal_wal_or_shared_memory_that_is_no_file_is_named_not_waited_on(tmp_path: Path) -> None:
    """SQLite opens ``catalog.sqlite-journal`` by name to see whether a transaction is left to roll back: a FIFO
    there (a sync tool's special file, a hostile share) blocked ``catalog stats`` and the app's start for ever, deaf
    to SIGTERM, and the restore's listing of a backup with one beside it. A link there SQLite refuses, and the
    line said the catalog was damaged and to import everything again. Each is now one line naming the file."""
    from engine.backups import take_backup
    from engine.catalog import Catalog

    outside = tmp_path / "notes.txt"
    outside.write_text("a user's notes\n")
    plants = {"FIFO": os.mkfifo, "link": lambda p: p.symlink_to(outside), "folder": Path.mkdir}
    cases = []
    for suffix in ("-journal", "-wal", "-shm"):
        for kind, plant in plants.items():
            path = tmp_path / f"{kind}{suffix}" / "catalog.sqlite"
            path.parent.mkdir()
            Catalog(path).close()
            plant(path.with_name(path.name + suffix))
            cases.append((path, suffix, kind))
    home = tmp_path / "home" / "catalog.sqlite"
    with Catalog(home) as catalog:
        backup = take_backup(catalog.db, home, "remove")
    os.mkfifo(backup.with_name(backup.name + "-journal"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    try:
        done = subprocess.run([sys.executable, "-c", COMPANION_CHILD, str(home), *(str(p) for p, _, _ in cases)],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=WAIT_S, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"opening a catalog or a backup still blocked after {WAIT_S} s")
    said = json.loads(done.stdout)
    words = {"FIFO": "a FIFO (named pipe)", "link": "a link", "folder": "a folder"}
    for (path, suffix, kind), line in zip(cases, said[:len(cases)], strict=True):
        assert line.startswith(f"{path}{suffix}: {words[kind]}, not a file SQLite writes beside catalog.sqlite"), line
        assert "damaged" not in line and line.endswith("move it out of the folder")
    products, restored = said[len(cases):]
    assert products is None, "a backup that cannot be opened is listed as unreadable"
    assert restored.startswith(f"{backup} is not a readable DecorLens catalog backup: {backup}-journal: a FIFO")
    assert outside.read_text() == "a user's notes\n"


CARD_CHILD = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from engine.user_calibration import keep_from_card
keep_from_card(Path(sys.argv[1]), Path(sys.argv[2]))
print("done")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS")
def test_a_huge_card_is_not_read_whole_before_models_fetch_replaces_it(tmp_path: Path) -> None:
    """``models fetch`` looks in a card it is about to replace for thresholds an older version calibrated there: it
    read the whole file and then kept its first MB, so a 2 GB sparse card (a models folder handed over) took 2 GB.
    Now at most a MB is read; such a card holds no thresholds to keep (here under a 1 GB address-space limit)."""
    model = tmp_path / "embedder.onnx"
    card = model.with_suffix(".json")
    card.touch()
    os.truncate(card, 2 << 30)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CARD_CHILD, str(card), str(model)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=WAIT_S, check=False)
    assert (done.returncode, done.stdout) == (0, "done\n"), done.stderr[-400:]
    assert [p.name for p in tmp_path.iterdir()] == [card.name]


@pytest.mark.parametrize("how", ["link", "hard link"])
def test_the_catalog_itself_named_as_a_backup_is_no_backup(tmp_path: Path, how: str) -> None:
    """A link or hard link to catalog.sqlite in backups/ under a backup's name was listed, and restoring it waited
    on the catalog's own write lock for two minutes ("waiting for another DecorLens to finish writing…"), then
    failed. It is left out of the listing, and given by its path it is refused as the catalog itself."""
    from engine.backups import find_backup, list_backups, take_backup
    from engine.catalog import Catalog
    from engine.errors import CatalogError

    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog:
        real = take_backup(catalog.db, path, "remove")
    planted = real.with_name("catalog-29991231T000000000000Z-remove.sqlite")
    if how == "link":
        planted.symlink_to(Path("..") / path.name)
    else:
        os.link(path, planted)
    assert [b.path for b in list_backups(path)] == [real]
    with pytest.raises(CatalogError, match="is the catalog itself, not a backup of it"):
        find_backup(path, str(planted))
    assert find_backup(path, real.name) == real


def test_a_cached_feed_photos_validators_nested_deep_leave_the_import_going(tmp_path: Path) -> None:
    """Each photo a feed's URL downloaded is kept in the data folder's cache with its ETag and Last-Modified in
    ``….http`` beside it, read again at the next import to ask the server whether the photo changed. That file was
    read whole with ``read_text``: JSON nested 100,000 deep there ended the import in RecursionError (and a FIFO
    blocked it for ever). Such a file is now no validators: the photo is fetched whole and compared."""
    from engine.feed_images import validators_file
    from tests.test_hostile_review9 import Server, _downloaded, _feed

    server = Server("127.0.0.1")
    try:
        feed, cache = _feed(tmp_path, [f"http://127.0.0.1:{server.port}/a.jpg"]), tmp_path / "cache"
        (first,) = _downloaded(feed, cache)
        validators_file(Path(first.image)).write_text("[" * 100_000)
        (again,) = _downloaded(feed, cache)
        assert (again.skip, again.image, server.asked) == ("", first.image, ["/a.jpg", "/a.jpg"])
    finally:
        server.stop()


def test_a_map_whose_cache_file_cannot_be_written_still_shows(pipeline, tmp_path: Path) -> None:
    """``maps/<embedder>.npz`` replaced by a folder (a FIFO goes the same way): the map was laid out (seconds to
    minutes), then its save raised "…: is a folder, not a file to write over; name a file", so the Map tab showed no
    map, every time. The map now shows, and a note says its cache could not be written. (Some 5 s: a real layout.)"""
    from engine.catalog import Catalog, Product
    from engine.catalog_map import cache_path, catalog_map

    embedder = pipeline.embedder
    vectors = np.random.default_rng(7).normal(size=(40, embedder.dim)).astype(np.float32)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        ids = [catalog.upsert(Product(f"S{n}", f"Lamp {n}", "lamp", f"/nowhere/{n}.jpg"), 1).id for n in range(40)]
        catalog.put_vectors(embedder.key, [(pid, "", v) for pid, v in zip(ids, vectors, strict=True)], 1)
        planted = cache_path(tmp_path, embedder.key)
        planted.parent.mkdir()
        planted.mkdir()
        heard: list[str] = []
        result = catalog_map(catalog, embedder, tmp_path, log=heard.append)
    assert sorted(result.ids.tolist()) == sorted(ids) and not result.cached
    note = f"catalog map cache {planted} cannot be written (is a folder, not a file to write over); the map is "
    assert heard == [note + "computed again next time"]
