"""Holes a fourth review of hostile input found in the surfaces added last: feed photos rechecked at their URL,
HEIC photos and bundles, the hand-over between two copies of the app, its data-folder lock and its error log.

test_hostile_inputs, test_hostile_review, test_hostile_review2, test_hostile_review3, test_hostile_folders,
test_hostile_models, test_hostile_training_inputs and test_mutated_inputs hold the attacks thought of before. Tried
here and fine, so not tested again: image servers on 127.0.0.1 answering a first download with 304 (skipped, one
line), an ETag of 200,000 characters or 200 headers (http.client's caps: skipped), validators holding ESC, DEL or
NUL (not kept, so never sent back), a 404 whose reason phrase holds ESC sequences and a carriage return (escaped,
one line), a JPEG served as text/html (taken: the bytes decide), a photo that becomes a PNG claiming 15800x15800
or 60000x60000 on a recheck (refused, the cached copy kept); a HEIC of 900 images (its first decoded, 0.01 s), one
of 2,000 (libheif's item limit: one line), a HEIC named .jpg (read by its content, in folders and bundles); UTF-16
feeds big-endian, cut at an odd byte, holding a lone surrogate, of a BOM alone, of 60 MB without a line break, of
30 million tabs, and a UTF-32 one (each imported or refused in one line, under 220 MB); a bundle dropped or handed
over (the import asks first); the window's error log grows by one entry a failure and was left uncapped (only a
failed start or a bug writes to it); a lock file written on another host (QLockFile cannot tell, so "already open":
its semantics, kept). Not tried: a HEIC grid whose tiles add up to more than its ``ispe`` says.
"""
from __future__ import annotations

import http.server
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pillow_heif
import pytest
from lamp_shop import export_lamp_shop, run_cli
from local_http import LocalServers
from PIL import Image

from app.single_instance import HandOverServer, hand_over, server_name
from app.thumbnails import decode_fitted, decode_hashed
from decorlens.errors import LOG_NAME, log_error
from engine.imageio import WHOLE_READ_MAX
from engine.pipeline import Pipeline
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 60  # for a process that should end at once; reached only when it blocks


class _Counted:
    """A supplier's server holding one photo at every URL, sent whole (no validators); ``asked`` counts requests."""

    def __init__(self, body: bytes) -> None:
        self.body, self.asked = body, 0
        self.lock = threading.Lock()

    def __call__(self, request: http.server.BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.asked += 1
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.send_header("Content-Length", str(len(self.body)))
        request.end_headers()
        request.wfile.write(self.body)


@pytest.fixture
def serve() -> Iterator[LocalServers]:
    """``serve(handler)``: the URL of an HTTP server on 127.0.0.1 answering each GET with ``handler(request)``."""
    servers = LocalServers()
    yield servers
    servers.stop()


def test_products_sharing_one_photo_url_download_it_once_an_import(tmp_path: Path, ikea: Path, serve) -> None:
    """A feed whose products share one URL (a supplier's "photo coming soon" picture) downloaded it once a product,
    on every import: 2,000 such products from a server giving no validators were 2,000 whole downloads a week,
    racing to replace one cache file. Each URL is asked once an import."""
    photo = _Counted(min((ikea / "products" / "lamp").glob("*.jpg")).read_bytes())
    url = serve(photo) + "/coming-soon.jpg"
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,category,image\n" + "".join(f"R-{n},lamp,{url}\n" for n in range(6)), encoding="utf-8")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(feed).added == 6
    assert photo.asked == 1
    assert pipe.import_catalog(feed).summary() == "6 unchanged"
    assert photo.asked == 2


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe, not a file")
def test_the_hand_over_socket_lies_where_no_other_user_can_take_its_name(qapp, tmp_path: Path) -> None:
    """The window's socket was ``/tmp/decorlens-HASH``, a name any local user can compute from the data folder's
    path. Another user who bound it first (seen here as root: a squatter running as nobody) made the window's listen
    fail, and a later copy then sent its photos' paths to that user's process, which answered "ok": the copy exited
    without a word and the photos never opened. The socket now lies in a folder that is this user's alone."""
    server = HandOverServer(tmp_path / "data", lambda _paths: None)
    try:
        assert server.server.isListening(), server.server.errorString()
        folder = Path(server.server.fullServerName()).parent.stat()
        assert folder.st_uid == os.getuid() and not folder.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    finally:
        server.server.close()


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe, not a file")
def test_a_socket_folder_someone_made_first_is_not_used(qapp, tmp_path: Path, monkeypatch) -> None:
    """Where the session has no runtime folder, the socket's folder is made in the temporary folder; one found there
    open to others (made first by someone else, or loosened) is not used: the window does not listen, and a later
    copy says the folder is already open rather than hand its photos to whoever listens there."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    taken = tmp_path / f"decorlens-{os.getuid()}"
    taken.mkdir()
    taken.chmod(0o777)
    data = tmp_path / "data"
    assert server_name(data) is None
    server = HandOverServer(data, lambda _paths: None)
    assert not server.server.isListening() and not hand_over(data, [tmp_path / "photo.jpg"])
    assert list(taken.iterdir()) == []


def _in_a_process(code: str, tmp_path: Path) -> str:
    """The output of ``code`` run by Python in a process of its own (its temporary folder ``tmp_path``): one that
    would block for ever is ended, and the test fails naming it."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=WAIT_S, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still blocked after {WAIT_S} s: {code}")
    return done.stdout.strip()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_or_a_link_named_as_the_error_log_is_not_written(tmp_path: Path) -> None:
    """The app's error log was opened to append as any file is: a FIFO in its place (in a data folder, or made by
    another user as /tmp/decorlens-error.log, where the log goes when the data folder cannot be written) blocked
    the failing start for ever, with no window saying why; a link had the log written wherever it led. Neither is
    written now: the line is still said, the log is not named."""
    data = tmp_path / "data"
    data.mkdir()
    os.mkfifo(data / LOG_NAME)
    os.mkfifo(tmp_path / LOG_NAME)  # another user's, in a shared temporary folder
    elsewhere = tmp_path / "bashrc"
    elsewhere.write_text("kept\n")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / LOG_NAME).symlink_to(elsewhere)
    code = ("from pathlib import Path; from decorlens.errors import log_error; "
            "print([str(log_error('decorlens: error: x', ValueError('x'), f)) for f in "
            f"(Path({str(data)!r}), Path({str(linked)!r}), None)])")
    assert _in_a_process(code, tmp_path) == str(["None", "None", str(tmp_path / f"decorlens-{os.getuid()}" / LOG_NAME)])
    assert elsewhere.read_text() == "kept\n"
    window = ("import logging; from pathlib import Path; from decorlens.gui import log_errors; "
              f"log_errors(Path({str(data / LOG_NAME)!r})); "
              "logging.getLogger('app').error('a bug'); print('went on')")
    assert _in_a_process(window, tmp_path) == "went on"


def test_a_line_break_in_a_file_name_cannot_forge_an_entry_of_the_error_log(tmp_path: Path, monkeypatch) -> None:
    """Each entry of the log opens with "--- TIME COMMAND LINE"; a photo named with a line break and "--- …", given
    to the app, wrote an entry of its own. The command line's control characters are escaped."""
    monkeypatch.setattr(sys, "argv", ["decorlens", "gui", "room.jpg\n--- 2026-12-01T00:00:00+00:00 forged\nok"])
    log = log_error("decorlens: error: x", ValueError("x"), tmp_path)
    assert log == tmp_path / LOG_NAME
    entries = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("--- ")]
    assert len(entries) == 1 and "room.jpg\\u000a--- 2026-12-01" in entries[0]


@pytest.mark.parametrize("field", ["categories", "embedders"])
def test_a_manifest_cannot_list_names_of_nothing(ikea: Path, shared_models: Path, tmp_path: Path, field: str) -> None:
    """The import compares the manifest's count for each category and embedder with its database, and a name listed
    with 0 matched the 0 the database has of it: ``bundle info`` and the app's question said "2 products in 1,001
    categories" of a bundle of 2 lamps, and the import went ahead. An export lists only what its database holds."""
    shop = export_lamp_shop(tmp_path / "shop", shared_models, ikea)
    with zipfile.ZipFile(shop) as src:
        manifest = json.loads(src.read("manifest.json"))
    padded = {**manifest[field], **{f"room-{n}": 0 for n in range(1000)}}
    forged = tmp_path / "forged.dlcat"
    with zipfile.ZipFile(shop) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, json.dumps({**manifest, field: padded}).encode() if info.filename == "manifest.json"
                         else data)
    for command in ("info", "import"):
        code, out, err = run_cli(tmp_path / "data", shared_models, "bundle", command, str(forged))
        assert (code, out) == (2, ""), (command, out)
        assert err.strip() == f"decorlens: error: forged.dlcat: manifest.json has an invalid {field!r}; not a bundle " \
                              "DecorLens wrote", (command, err)
    assert not (tmp_path / "data" / "catalog.sqlite").exists()


def test_a_huge_file_named_as_a_photo_is_a_blank_tile_not_read_whole(qapp, ikea: Path, tmp_path: Path) -> None:
    """The Photos strip and the catalog's tiles read each photo whole to hash and decode it: a real JPEG padded to
    2 GB as a sparse file (8 KB on disk, made by anyone who can put a file in a folder the user opens) took 4.3 GB
    and 11 s for its tile, and a larger one ended the app. A file over ``WHOLE_READ_MAX`` is a blank tile."""
    big = tmp_path / "room.jpg"
    shutil.copy(min((ikea / "products" / "lamp").glob("*.jpg")), big)
    assert not decode_fitted(str(big), 160, 160, 1.0).isNull()
    os.truncate(big, WHOLE_READ_MAX + 1)
    image, key = decode_hashed(str(big), 160, 160, 1.0)
    assert image.isNull() and key == "" and decode_fitted(str(big), 160, 160, 1.0).isNull()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
@pytest.mark.parametrize("kind", ["a FIFO", "a link"])
def test_a_lock_file_that_is_no_file_is_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    """QLockFile reads the lock file it finds to see whose it is: a FIFO in its place (a sync tool's special file in
    a shared data folder) blocked the app's start for ever with no window, and a link to any file was a lock held by
    no one, "DecorLens is already open" for good. Each is now named, with what to do."""
    data = tmp_path / "data"
    data.mkdir()
    lock = data / "decorlens-app.lock"
    if kind == "a FIFO":
        os.mkfifo(lock)
    else:
        (tmp_path / "notes.txt").write_text("a user's notes\n")
        lock.symlink_to(tmp_path / "notes.txt")
    code = ("from app.main import hold_data_dir\ntry:\n    hold_data_dir(" + repr(str(data)) + ")\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)")
    what = "a link" if kind == "a link" else "not a regular file"
    assert _in_a_process(code, tmp_path) == f"DecorLensError {lock}: {what}, not the lock file DecorLens makes; remove it"
    if kind == "a link":
        assert (tmp_path / "notes.txt").read_text() == "a user's notes\n"


def test_a_bundle_of_heic_and_suffixless_photos_imports(ikea: Path, shared_models: Path, tmp_path: Path,
                                                        serve) -> None:
    """An export names each picture by its sha256 and its file's suffix; the import took only the suffixes of
    eight formats, so a bundle holding an iPhone's .heic, a feed's photo downloaded from a URL without a suffix
    ("…/p/12345") or a local photo named "lamp.jpg.bak" was refused by the DecorLens that wrote it ("unexpected
    file 'images/….heic' in the archive")."""
    lamps = sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]
    heic = tmp_path / "lamp.heic"
    pillow_heif.from_pillow(Image.open(lamps[0]).convert("RGB")).save(heic, quality=80)
    backup = tmp_path / "lamp.jpg.bak"
    shutil.copy(lamps[2], backup)
    url = serve(_Counted(lamps[1].read_bytes())) + "/p/12345"
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nH,lamp,{heic}\nU,lamp,{url}\nB,lamp,{backup}\n", encoding="utf-8")
    store = tmp_path / "store"
    assert run_cli(store, shared_models, "catalog", "import", str(feed))[:2] == (0, "3 added; catalog has 3 products\n")
    assert run_cli(store, shared_models, "bundle", "export", str(tmp_path / "shop.dlcat"))[0] == 0
    code, _out, err = run_cli(tmp_path / "data", shared_models, "bundle", "import", str(tmp_path / "shop.dlcat"))
    assert (code, err) == (0, ""), err
    assert run_cli(tmp_path / "data", shared_models, "catalog", "stats")[1].startswith("3 products")
