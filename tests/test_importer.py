"""Catalog sources as users and attackers write them: CSV quoting, odd folders, slow image servers.

Downloads are tested against real HTTP servers on 127.0.0.1 that stall, dribble or send too much; the
import must skip those rows with one line each and must not hold the catalog's write lock meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from local_http import LocalServers

from engine.errors import CatalogError
from engine.feed_images import download_images
from engine.importer import read_source
from engine.pipeline import Pipeline
from engine.settings import Settings

WAIT = 30.0  # upper bound on waiting for the other thread; never reached when things work


@pytest.fixture(scope="module")
def photos(ikea: Path) -> list[Path]:
    return sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]


def test_quoted_newlines_and_commas_survive(tmp_path: Path, photos: list[Path]):
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "sku,name,category,image,notes\n"
        f'L-1,"Lamp, tall\nwith a two-line name",lamp,{photos[0]},"a ""quoted"" word"\n'
        f"L-2,Plain,lamp,{photos[1]},\n",
        encoding="utf-8",
    )
    rows = read_source(feed)
    assert [(r.sku, r.name) for r in rows] == [("L-1", "Lamp, tall\nwith a two-line name"), ("L-2", "Plain")]
    assert rows[0].extra == {"notes": 'a "quoted" word'}


def test_a_quote_never_closed_is_refused_at_its_line_not_read_as_the_rest_of_the_feed(tmp_path: Path,
                                                                                      photos: list[Path]):
    """csv reads everything after an unclosed quote as one field: the feed's later rows vanished and the import
    said only "1 skipped: no category"."""
    feed = tmp_path / "feed.csv"
    rows = "".join(f"L-{i},lamp,{photo}\n" for i, photo in enumerate(photos))
    feed.write_text(f'sku,category,image\nL-0,lamp,{photos[0]}\n"L-1,lamp,{photos[1]}\n{rows}', encoding="utf-8")
    with pytest.raises(CatalogError) as refused:
        read_source(feed)
    assert str(refused.value) == (f"{feed}, line 3: a quote opened here is never closed, so the {len(photos)} lines "
                                  "below would be read as one field; close it")
    feed.write_text(f'sku,category,image\nL-0,"lamp",{photos[0]}', encoding="utf-8")  # closed, no final newline
    assert [(r.sku, r.category) for r in read_source(feed)] == [("L-0", "lamp")]


def test_bom_semicolons_and_tsv_are_read(tmp_path: Path, photos: list[Path]):
    (tmp_path / "a.csv").write_text(f"\ufeffsku;category;image\nS-1;lamp;{photos[0]}\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text(f"id\tproduct_type\timage_link\nT-1\tlamp\t{photos[1]}\n", encoding="utf-8")
    assert [r.sku for r in read_source(tmp_path / "a.csv") + read_source(tmp_path / "b.tsv")] == ["S-1", "T-1"]


def test_invisible_characters_in_a_header_do_not_hide_its_columns(tmp_path: Path, photos: list[Path]):
    """A second byte-order mark (a feed saved again by another tool) and a zero-width space (a header pasted from
    a web page) before a column's name: the columns read as their names, as they do to the eye."""
    feed = tmp_path / "feed.csv"
    feed.write_text(f"\ufeff\ufeffsku,\u200bcategory,image\u200d\nS-1,lamp,{photos[0]}\n", encoding="utf-8")
    assert [(r.sku, r.category) for r in read_source(feed)] == [("S-1", "lamp")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sku,category,image\nX," + "y" * 200_000 + ",z.jpg\n", "line 2: field larger than field limit"),
        ("sku,category,image\nX,Caf\xe9,z.jpg\n".encode("latin-1"), "not UTF-8"),
        ("", "no column for sku, category, image"),
    ],
)
def test_unreadable_feeds_are_one_line_errors(tmp_path: Path, content: str | bytes, message: str):
    feed = tmp_path / "feed.csv"
    feed.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(CatalogError, match=message) as info:
        read_source(feed)
    assert "\n" not in str(info.value)


def test_a_missing_source_is_named_as_missing(tmp_path: Path):
    with pytest.raises(CatalogError, match=r"nosuchdir: no such file or folder$"):
        read_source(tmp_path / "nosuchdir")


def test_a_fifo_feed_is_refused_without_blocking(tmp_path: Path):
    os.mkfifo(tmp_path / "feed.csv")  # opening it for reading would wait for a writer forever
    with pytest.raises(CatalogError, match="FIFO"):
        read_source(tmp_path / "feed.csv")


def test_image_urls_of_other_schemes_are_skipped(tmp_path: Path, photos: list[Path]):
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nA,lamp,javascript:alert(1)\nB,lamp,file://{photos[0]}\n", encoding="utf-8")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    report = pipe.import_catalog(feed)
    assert report.added == 1  # a file: URL is a local path (Windows feeds write them)
    assert [reason.split(": ")[-1].split(" (")[0] for _, reason in report.skipped] == [
        "unsupported image URL scheme 'javascript'"
    ]


def test_folder_import_counts_what_it_skips(tmp_path: Path, photos: list[Path]):
    src = tmp_path / "src"
    (src / "lamp" / "nested").mkdir(parents=True)
    shutil.copy(photos[0], src / "lamp" / "good.jpg")
    (src / "lamp" / "mood.psd").write_bytes(b"8BPS\x00\x01")
    (src / "lamp" / "notes.txt").write_text("x")
    (src / "lamp" / ".DS_Store").write_bytes(b"\x00")  # hidden files are not the user's products
    shutil.copy(photos[1], src / "loose.jpg")
    rows = read_source(src)
    assert [(r.sku, r.skip) for r in rows if not r.skip] == [("good", "")]
    reasons = {Path(r.image).name: r.skip for r in rows if r.skip}
    assert set(reasons) == {"loose.jpg", "nested", "notes.txt", "mood.psd"}
    assert "not an image format" in reasons["mood.psd"] and "category subfolder" in reasons["loose.jpg"]
    report = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data")).import_catalog(src)
    assert (report.added, len(report.skipped)) == (1, 4)
    assert report.summary() == "1 added, 4 skipped"



def test_a_decomposed_folder_name_is_the_same_category_as_a_feeds(tmp_path: Path, photos: list[Path]):
    """A Mac names a folder "Décor" decomposed (e + U+0301): it was stored as a category of its own beside the
    feed's "Décor", which no tag searched, and "Été" products went by a name that compared unequal to the feed's."""
    decomposed = unicodedata.normalize("NFD", "Décor")
    (tmp_path / "src" / decomposed).mkdir(parents=True)
    shutil.copy(photos[0], tmp_path / "src" / decomposed / f"{unicodedata.normalize('NFD', 'Été')}.jpg")
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,name,category,image\nF-1,Été,Décor,{photos[1]}\n", encoding="utf-8")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(tmp_path / "src")
    pipe.import_catalog(feed)
    assert {(p.name, p.category) for p in pipe.catalog.products()} == {("Été", "Décor")}


def test_every_readable_format_is_listed_by_folder_import(tmp_path: Path, photos: list[Path]):
    """The formats search decodes are the ones folder import lists: an AVIF imports (it was ignored), and an
    iPhone's HEIC (it was skipped: tests/test_heic.py)."""
    import pillow_heif
    from PIL import Image

    from engine.imageio import IMAGE_SUFFIXES

    (tmp_path / "src" / "lamp").mkdir(parents=True)
    Image.open(photos[0]).save(tmp_path / "src" / "lamp" / "photo.avif")
    pillow_heif.from_pillow(Image.open(photos[1])).save(tmp_path / "src" / "lamp" / "phone.heic")
    assert {".avif", ".heic"} <= IMAGE_SUFFIXES
    assert sorted((r.sku, r.skip) for r in read_source(tmp_path / "src")) == [("phone", ""), ("photo", "")]


def test_relative_folder_paths_are_stored_absolute(tmp_path: Path, photos: list[Path], monkeypatch):
    (tmp_path / "shop" / "lamp").mkdir(parents=True)
    shutil.copy(photos[0], tmp_path / "shop" / "lamp" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(Path("shop"))
    monkeypatch.chdir(tmp_path / "data")
    stored = Path(pipe.catalog.get_by_sku("a").image_path)
    assert stored.is_absolute() and stored.is_file() and stored == tmp_path / "shop" / "lamp" / "a.jpg"


# -- downloads -------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LocalServers]:
    """``server(handler)`` starts an HTTP server on 127.0.0.1 answering GETs with ``handler(request)``;
    ``server.stop()`` stops them all."""
    servers = LocalServers()
    yield servers
    servers.stop()


def _feed(tmp_path: Path, url: str) -> Path:
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nR-1,lamp,{url}\n", encoding="utf-8")
    return feed


def _sends(body: bytes, length: int | None) -> Callable:
    """A handler sending ``body``, announcing ``length`` (None: no Content-Length, read to the end)."""

    def handler(request) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        if length is not None:
            request.send_header("Content-Length", str(length))
        request.end_headers()
        request.wfile.write(body)

    return handler


def test_a_downloaded_image_is_imported_into_the_data_dir(tmp_path: Path, photos: list[Path], server):
    body = photos[0].read_bytes()
    url = server(_sends(body, len(body))) + "/p/lamp.jpg?size=big"
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(_feed(tmp_path, url)).added == 1
    stored = Path(pipe.catalog.get_by_sku("R-1").image_path)
    assert stored.parent == tmp_path / "data" / "images" and stored.read_bytes() == photos[0].read_bytes()
    assert not list(stored.parent.glob("*.part"))


def test_a_dribbling_server_is_cut_off_and_never_holds_the_write_lock(tmp_path: Path, server, monkeypatch):
    """The server answers only after the test took the catalog's write lock itself, then sends a byte at a
    time for ever: the import (in a thread) must be waiting outside its transaction, then give up."""
    monkeypatch.setattr("engine.feed_images.DOWNLOAD_DEADLINE_S", 1.0)
    arrived, checked, stop = threading.Event(), threading.Event(), threading.Event()

    def dribble(request) -> None:
        arrived.set()
        checked.wait(WAIT)
        request.send_response(200)
        request.end_headers()
        while not stop.wait(0.05):
            request.wfile.write(b"\xff")
            request.wfile.flush()

    feed = _feed(tmp_path, server(dribble) + "/slow.jpg")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.catalog.count()  # the catalog file exists before the import starts
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(report=pipe.import_catalog(feed)))
    worker.start()
    try:
        assert arrived.wait(WAIT), "the importer never asked for the image"
        other = sqlite3.connect(tmp_path / "data" / "catalog.sqlite", timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the import held the lock
        other.execute("ROLLBACK")
        other.close()
    finally:
        checked.set()
        worker.join(WAIT)
        stop.set()
    report = outcome["report"]
    assert report.added == 0 and "took longer than 1 s" in report.skipped[0][1]



def test_a_server_dribbling_its_headers_is_cut_off_at_the_deadline(tmp_path: Path, photos: list[Path], server,
                                                                    monkeypatch):
    """The deadline held only for the body: a server sending its status line and headers a byte at a time was
    bounded only by the 15 s per-read timeout, for each byte, so it could hold the import for days. It sends
    for ever here; that image is skipped in one line and the feed's other products are imported."""
    monkeypatch.setattr("engine.feed_images.DOWNLOAD_DEADLINE_S", 1.0)
    stop = threading.Event()

    def dribble(request) -> None:
        for byte in b"HTTP/1.0 200 OK\r\nX-Slow: ":
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            stop.wait(0.05)
        while not stop.wait(0.05):
            request.wfile.write(b"a")
            request.wfile.flush()

    body = photos[1].read_bytes()
    slow, good = server(dribble) + "/slow.jpg", server(_sends(body, len(body))) + "/good.jpg"
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nR-1,lamp,{slow}\nR-2,lamp,{good}\nR-3,lamp,{photos[0]}\n", encoding="utf-8")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(report=pipe.import_catalog(feed)), daemon=True)
    worker.start()
    worker.join(WAIT)
    stop.set()
    assert not worker.is_alive(), f"the import still waits for {slow} after {WAIT:g} s"
    report = outcome["report"]
    assert report.added == 2 and report.skipped == [("R-1", f"{slow}: download took longer than 1 s; skipped")]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (_sends(b"x" * 10, length=10**9), "over the 1 MiB limit"),  # a Content-Length too big
        (_sends(b"\xff" * (3 * 2**20), length=None), "over the 1 MiB limit"),  # a body too big
    ],
)
def test_oversized_downloads_are_refused(tmp_path: Path, server, monkeypatch, handler, message: str):
    monkeypatch.setattr("engine.feed_images.DOWNLOAD_MAX_BYTES", 2**20)
    rows = read_source(_feed(tmp_path, server(handler) + "/big.jpg"))
    [row] = download_images(rows, tmp_path / "cache")
    assert message in row.skip and not list((tmp_path / "cache").iterdir())


def test_a_server_that_never_answers_times_out(tmp_path: Path, server, monkeypatch):
    monkeypatch.setattr("engine.feed_images.DOWNLOAD_TIMEOUT_S", 0.5)
    release = threading.Event()
    url = server(lambda request: release.wait(WAIT)) + "/mute.jpg"
    try:
        [row] = download_images(read_source(_feed(tmp_path, url)), tmp_path / "cache")
    finally:
        release.set()
    assert "timed out" in row.skip and "\n" not in row.skip


def test_a_redirect_loop_is_skipped_in_one_line(tmp_path: Path, server):
    """Found by fuzzing: urllib words a redirect loop over three lines, and the skip reason carried them."""

    def loop(request) -> None:
        request.send_response(302)
        request.send_header("Location", request.path)
        request.end_headers()

    [row] = download_images(read_source(_feed(tmp_path, server(loop) + "/loop.jpg")), tmp_path / "cache")
    assert "redirect error that would lead to an infinite loop" in row.skip and "\n" not in row.skip
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


@pytest.mark.parametrize("target", ["ftp://127.0.0.1:9/lamp.jpg", "file:///etc/passwd"])
def test_a_redirect_away_from_http_is_skipped_naming_where_it_led(tmp_path: Path, server, target: str):
    """The opener (engine.downloads, shared with the model pack) follows redirects to http(s) only."""

    def redirect(request) -> None:
        request.send_response(302)
        request.send_header("Location", target)
        request.end_headers()

    url = server(redirect) + "/moved.jpg"
    [row] = download_images(read_source(_feed(tmp_path, url)), tmp_path / "cache")
    assert row.skip == f"cannot download {url} (redirect to {target} refused, only http(s) is followed); offline? " \
                       "use local image paths"


def test_a_photo_server_not_found_is_said_in_words(tmp_path: Path):
    """Offline, a feed's http photo was skipped for "([Errno -2] Name or service not known)". The .invalid
    domain never resolves (RFC 2606), online or not."""
    url = "http://photos.decorlens.invalid/sofa.jpg"
    [row] = download_images(read_source(_feed(tmp_path, url)), tmp_path / "cache")
    assert row.skip == f"cannot download {url} (its server was not found: no internet connection, or a wrong " \
                       "address); offline? use local image paths"


def test_a_feed_of_many_bad_rows_lists_twenty_and_counts_the_rest(tmp_path: Path, capsys):
    """feeds/manyshort.csv (a million rows without an image) printed a million "skipped" lines."""
    from decorlens.main import main

    feed = tmp_path / "feed.csv"
    feed.write_text("sku,category,image\n" + "".join(f"S{i},lamp,\n" for i in range(45)), encoding="utf-8")
    assert main(["--data-dir", str(tmp_path / "data"), "-q", "catalog", "import", str(feed)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 22 and lines[0] == "skipped S0: no image" and lines[19].startswith("skipped S19:")
    assert lines[20] == "… and 25 more skipped (45 in all)"
    assert lines[21].startswith("decorlens: error: nothing imported from feed.csv: 45 skipped (the reasons are above)")
    assert "45 skipped" in out


def test_a_rejected_download_names_its_url_and_leaves_the_cache(tmp_path: Path, photos: list[Path], server):
    """A URL that once served an HTML page kept failing after the server was fixed: the page stayed in the
    cache as the image, and the reason named that cache file instead of the URL."""
    served = {"body": b"<html>maintenance</html>"}
    url = server(lambda request: _sends(served["body"], len(served["body"]))(request)) + "/p/lamp.jpg"
    feed = _feed(tmp_path, url)
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    report = pipe.import_catalog(feed)
    assert report.added == 0 and report.skipped[0][1].startswith(f"{url}: not an image")
    assert not list((tmp_path / "data" / "images").iterdir())
    served["body"] = photos[0].read_bytes()
    assert pipe.import_catalog(feed).added == 1


# -- a cached photo is rechecked on re-import: weekly feeds replace photos at the same URL ------------


class _Photo:
    """What a supplier's server holds at one URL: ``body``, sent with ``headers`` (its validators), 304 when the
    request's conditional header matches one; ``requests`` holds each request's conditional headers."""

    def __init__(self, body: bytes, **headers: str) -> None:
        self.body, self.headers, self.requests = body, headers, []
        self.answer: int | None = None  # a status to answer with instead (503: a failing server)

    def __call__(self, request) -> None:
        asked = {h: request.headers[h] for h in ("If-None-Match", "If-Modified-Since") if request.headers[h]}
        self.requests.append(asked)
        if self.answer:
            request.send_error(self.answer)
            return
        if asked and ({self.headers.get("ETag"), self.headers.get("Last-Modified")} & set(asked.values())):
            request.send_response(304)
            request.end_headers()
            return
        request.send_response(200)
        for name, value in {"Content-Type": "image/jpeg", **self.headers}.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(self.body)))
        request.end_headers()
        request.wfile.write(self.body)


def _vector(pipe: Pipeline, sku: str) -> np.ndarray:
    pid = pipe.catalog.get_by_sku(sku).id
    assert all(pipe.catalog.vectors_of(pid).values())  # of its current photo
    return next(v for p, _, v in pipe.catalog.vectors(pipe.embedder.key) if p == pid)


@pytest.mark.parametrize("validator", [{"ETag": '"v1"'}, {"Last-Modified": "Mon, 30 Nov 2026 08:00:00 GMT"}, {}])
def test_a_photo_replaced_at_the_same_url_is_downloaded_again_and_re_embedded(
        tmp_path: Path, photos: list[Path], server, validator: dict[str, str]):
    """A supplier's weekly feed replaced a lamp's photo at the same URL: the cache, keyed by URL, was never asked
    again, and the catalog showed and matched last week's photo for ever. The copy is rechecked with the validator
    the server gave (ETag, Last-Modified: 304 keeps it), or, from a server that gives none, downloaded whole and
    kept as it is when its bytes are the same."""
    photo = _Photo(photos[0].read_bytes(), **validator)
    feed = _feed(tmp_path, server(photo) + "/p/lamp.jpg")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(feed).summary() == "1 added"
    stored = Path(pipe.catalog.get_by_sku("R-1").image_path)
    before, inode = _vector(pipe, "R-1"), stored.stat().st_ino

    assert pipe.import_catalog(feed).summary() == "1 unchanged"  # the same photo: the copy is left as it was
    assert stored.stat().st_ino == inode and photo.requests[-1] == {
        {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}[k]: v for k, v in validator.items()}

    photo.body = photos[1].read_bytes()
    photo.headers = {k: v.replace("v1", "v2").replace("30 Nov", "6 Dec") for k, v in validator.items()}
    assert pipe.import_catalog(feed).summary() == "1 updated (1 photo)"
    assert stored.read_bytes() == photos[1].read_bytes() and pipe.catalog.get_by_sku("R-1").image_path == str(stored)
    assert not np.allclose(_vector(pipe, "R-1"), before)
    assert sorted(p.name for p in stored.parent.iterdir()) == sorted([stored.name] + [stored.name + ".http"] * bool(validator))


def test_an_offline_re_import_keeps_the_cached_photos_and_says_so_once(tmp_path: Path, photos: list[Path], server):
    """The app is offline-first: a re-import without the network keeps every cached photo, imports every row, and
    says once (not once a row) that the photos were not rechecked."""
    url = server(_Photo(photos[0].read_bytes(), ETag='"v1"'))
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,category,image\n" + "".join(f"R-{n},lamp,{url}/{n}.jpg\n" for n in range(3)), encoding="utf-8")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(feed).added == 3
    server.stop()
    report = pipe.import_catalog(feed)
    host = url.split("//")[1]
    assert report.summary().startswith(f"3 unchanged; 3 photos not refreshed, their cached copies kept ({host}: ")
    assert "refused" in report.summary() and not report.skipped
    assert all(Path(p.image_path).read_bytes() == photos[0].read_bytes() for p in pipe.catalog.products())


def test_a_failing_server_is_asked_once_per_import_and_its_photos_are_kept(tmp_path: Path, photos: list[Path],
                                                                          server, monkeypatch):
    """A server answering 503 (or not at all) for 2,000 photos cost 2,000 failed requests, each up to the
    download deadline: the first failure of a host keeps the cached copies of all its photos in this import."""
    monkeypatch.setattr("engine.feed_images.DOWNLOAD_THREADS", 1)  # one request at a time, so the count is exact
    photo = _Photo(photos[0].read_bytes())
    url = server(photo)
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,category,image\n" + "".join(f"R-{n},lamp,{url}/{n}.jpg\n" for n in range(3)), encoding="utf-8")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(feed).added == 3
    photo.answer, asked = 503, len(photo.requests)
    report = pipe.import_catalog(feed)
    assert report.summary() == (f"3 unchanged; 3 photos not refreshed, their cached copies kept "
                                f"({url.split('//')[1]}: HTTP 503 Service Unavailable)")
    assert len(photo.requests) == asked + 1


@pytest.mark.parametrize("replacement", ["cut short", "a web page"])
def test_a_bad_replacement_never_replaces_the_cached_photo(tmp_path: Path, photos: list[Path], server,
                                                           replacement: str):
    """A replacement cut short (the connection closed before its Content-Length) or a maintenance page served
    with 200 would have overwritten a good photo; the page was then refused, the copy deleted and the product
    left pointing at nothing. The cached copy stays, and the import says why."""
    photo = _Photo(photos[0].read_bytes(), ETag='"v1"')
    url = server(photo) + "/lamp.jpg"
    feed = _feed(tmp_path, url)
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(feed).added == 1
    stored = Path(pipe.catalog.get_by_sku("R-1").image_path)
    photo.headers = {"ETag": '"v2"'}
    if replacement == "cut short":
        body = photos[1].read_bytes()
        photo.body = body[: len(body) // 2]
        photo.headers["Content-Length"] = str(len(body))  # sent before the real one; http.client takes the first
    else:
        photo.body = b"<html>maintenance</html>"
    report = pipe.import_catalog(feed)
    assert report.summary().startswith("1 unchanged; 1 photo not refreshed, its cached copy kept (")
    assert ("bytes short of the photo" if replacement == "cut short" else f"{url} (a new photo, refused)") in report.summary()
    assert stored.read_bytes() == photos[0].read_bytes() and json.loads(Path(f"{stored}.http").read_text()) == {"ETag": '"v1"'}
    assert not list(stored.parent.glob("*.part"))


# -- feed limits: what a feed may hold is what a catalog keeps and a bundle carries ----------------------


def test_a_header_of_too_many_columns_is_a_one_line_error(tmp_path: Path):
    """feeds/hugeheader.csv (a header and 40 million commas) took 4.6 GB, then imported nothing, quietly."""
    from engine.importer import MAX_COLUMNS

    feed = tmp_path / "feed.csv"
    feed.write_text("sku,category,image" + "," * MAX_COLUMNS + "\nA,lamp,a.jpg\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"feed.csv, line 1: the header is 1,003 columns; a feed has at most 1,000"):
        read_source(feed)
    feed.write_text("sku,category,image" + "," * 100_000 + "\nA,lamp,a.jpg\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"line 1: the header is over 64,000 separators"):
        read_source(feed)


def test_rows_too_wide_or_too_long_to_split_are_skipped_with_their_line(tmp_path: Path, photos: list[Path]):
    """feeds/hugeline.csv (the commas on a data row) took 440 MB and its row vanished without a word. Such
    a row is cut before csv splits it, so the rows after it still import."""
    from engine.importer import MAX_ROW_CHARS

    feed = tmp_path / "feed.csv"
    feed.write_text(
        "sku,category,image\n"
        f"A,lamp,{photos[0]}\n"
        "W," + "," * 5_000 + "\n"
        '"Q,' + "," * 100_000 + '",lamp,x.jpg\n'
        "L," + "x" * MAX_ROW_CHARS + "\n"
        f"B,lamp,{photos[1]}\n",
        encoding="utf-8",
    )
    rows = read_source(feed)
    assert [r.sku for r in rows if not r.skip] == ["A", "B"]
    assert [(r.image, r.skip) for r in rows if r.skip] == [
        ("feed.csv line 3", "5,002 fields; a feed row has at most 1,000"),
        ("feed.csv line 4", "over 64,000 separators; a feed row has at most 1,000 fields"),
        ("feed.csv line 5", f"longer than {MAX_ROW_CHARS:,} characters"),
    ]


def _parquet(path: Path, columns: dict[str, list[str]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path, compression="zstd")
    return path


def test_parquet_feeds_have_the_limits_of_csv_feeds(tmp_path: Path, photos: list[Path]):
    """feeds/bigname.parquet (7.7 KB) took 1.4 GB and stored a 200 MB product name: a Parquet feed had no
    limit at all. Sizes the footer gives are refused before anything is read; the rest batch by batch."""
    row = {"sku": ["A"], "category": ["lamp"], "image": [str(photos[0])]}
    huge = _parquet(tmp_path / "huge.parquet", {**row, "name": ["x" * 3_000_000]})
    with pytest.raises(CatalogError, match=r"column 'name' of row group 0 unpacks to 3 MiB for 1 rows; values over "
                                           r"131,072 characters"):
        read_source(huge)
    big = _parquet(tmp_path / "big.parquet", {**row, "name": ["x" * 200_000]})
    with pytest.raises(CatalogError, match=r"a value of column 'name' holds 200,000 characters, over the 131,072"):
        read_source(big)
    wide = _parquet(tmp_path / "wide.parquet", {**row, **{f"c{i}": [""] for i in range(1000)}})
    with pytest.raises(CatalogError, match=r"wide.parquet: 1,003 columns; a feed has at most 1,000$"):
        read_source(wide)
    assert [r.sku for r in read_source(_parquet(tmp_path / "ok.parquet", row))] == ["A"]


def test_rows_a_bundle_would_refuse_are_skipped_naming_sku_and_field(tmp_path: Path, photos: list[Path]):
    """A 130,000-character name or a SKU with a NUL byte imported, exported, and then the bundle import
    refused the whole catalog: the feed importer holds rows to the bundle's rules (engine.bundle_rows)."""
    from engine.bundle_rows import MAX_EXTRA, MAX_TEXT

    feed = tmp_path / "feed.csv"
    feed.write_text(
        "sku,name,category,image,notes,more,most\n"
        f"LONG,{'n' * (MAX_TEXT + 1)},lamp,{photos[0]},,,\n"
        f"N\0UL,nul,lamp,{photos[0]},,,\n"
        f"CAT,ok,la\0mp,{photos[0]},,,\n"
        f"NOTES,ok,lamp,{photos[0]},{('x' * (MAX_EXTRA // 3 + 1) + ',') * 3}\n"
        f"OK,{'n' * MAX_TEXT},lamp,{photos[1]},fine,,\n",
        encoding="utf-8",
    )
    rows = read_source(feed)
    assert [r.sku for r in rows if not r.skip] == ["OK"]
    assert [(r.sku or r.image, r.skip) for r in rows if r.skip] == [
        ("LONG", "line 2: name of 16,385 characters, over the 16,384 a catalog keeps"),
        ("feed.csv line 3", "sku holds a NUL byte"),
        ("CAT", "line 4: category holds a NUL byte"),
        ("NOTES", "line 5: the other columns hold over 262,144 characters, more than a catalog keeps"),
    ]


def test_a_sku_given_twice_keeps_the_later_row_and_says_so(tmp_path: Path, photos: list[Path]):
    """feeds/dupsku.csv reported "1 added, 1 updated" and its first row was lost without a word. The later
    row wins, as when a corrected feed is imported again; the earlier is listed as skipped."""
    feed = tmp_path / "feed.csv"
    feed.write_text(
        f"sku,name,category,image\nDUP,first,lamp,{photos[0]}\nX,other,lamp,{photos[2]}\nDUP,second,lamp,{photos[1]}\n",
        encoding="utf-8",
    )
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    report = pipe.import_catalog(feed)
    assert (report.added, report.updated) == (2, 0)
    assert report.skipped == [("DUP", "the same SKU comes again later (line 4); that later row is kept")]
    assert pipe.catalog.get_by_sku("DUP").name == "second"


# -- memory: a chunk of an import is bounded in bytes ---------------------------------------------------


class _LargeInputEmbedder:
    """An embedder as ``import_rows`` sees one (a card, ``preprocess``, ``embed_tensors``) taking 512 px inputs;
    it records how many input tensors each step hands it, each standing for a (3, 512, 512) float32 array."""

    key = "large-input"
    card = SimpleNamespace(input_size=512)
    tensor_bytes = 3 * 512 * 512 * 4

    def __init__(self) -> None:
        self.steps: list[int] = []

    def preprocess(self, crop: np.ndarray) -> np.ndarray:
        return np.zeros(1, np.float32)

    def embed_tensors(self, tensors: Sequence[np.ndarray]) -> np.ndarray:
        self.steps.append(len(tensors))
        return np.full((len(tensors), 4), 0.5, np.float32)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return self.embed_tensors([self.preprocess(c) for c in crops])


def test_an_import_embeds_in_chunks_bounded_in_bytes_with_progress_and_cancel(tmp_path: Path, ikea: Path):
    """A chunk was 64 rows whatever the embedder's input: at 512 px 200 MB of float32 tensors, and the chunk
    prepared ahead as much again. A chunk now holds at most CHUNK // BATCH embedder batches (BATCH_BYTES each)."""
    from engine.catalog import Catalog
    from engine.embed import BATCH, BATCH_BYTES
    from engine.errors import Cancelled
    from engine.importer import CHUNK, ImportRow, import_rows

    images = sorted((ikea / "products" / "lamp").glob("*.jpg"))[:45]
    rows = [ImportRow(sku=f"L{i}", name=f"L{i}", category="lamp", image=str(p)) for i, p in enumerate(images)]
    matcher, progress = _LargeInputEmbedder(), []
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = import_rows(catalog, rows, matcher, tmp_path / "cache", lambda done, total: progress.append(done))
        assert max(matcher.steps) * matcher.tensor_bytes <= CHUNK // BATCH * BATCH_BYTES
        assert report.added == 45 and sum(matcher.steps) == 45 and len(matcher.steps) > 1
        assert progress == sorted(set(progress)) and progress[-1] == 45

    with Catalog(tmp_path / "cancelled.sqlite") as catalog:  # cancel between chunks leaves the catalog as it was
        progress.clear()
        with pytest.raises(Cancelled):
            import_rows(catalog, rows, _LargeInputEmbedder(), tmp_path / "cache",
                        lambda done, total: progress.append(done), cancelled=lambda: bool(progress))
        assert catalog.count() == 0 and len(progress) == 1


def _efficientnet_at(side: int, folder: Path, models: Path):
    """EfficientNet-Lite0 (the pack's weights) taking ``side`` px inputs: its graph is convolutions and a GeM pool
    over the whole map, so freeing the input's height and width is all it takes. A large-input embedder as a
    user's card may ask for (up to ``engine.models.MAX_EMBEDDER_INPUT``); the pack's own are 224 px."""
    onnx = pytest.importorskip("onnx")
    from dataclasses import replace

    from engine.embed import Embedder
    from engine.models import ResolvedModel, read_card

    stock = models / "effnet_lite0_gem.onnx"
    graph = onnx.load(stock)
    height, width = graph.graph.input[0].type.tensor_type.shape.dim[2:]
    height.dim_param, width.dim_param = "h", "w"
    del graph.graph.value_info[:]  # the shapes inferred at 224 px
    path = folder / f"effnet_lite0_gem_{side}.onnx"
    onnx.save(graph, path)
    card = replace(read_card(stock), name=f"effnet_lite0-gem-{side}", input_size=side, sha256="")
    return Embedder(ResolvedModel(path, card), "cpu")


def test_re_embedding_for_a_large_input_embedder_holds_chunks_as_small_as_an_imports(tmp_path: Path, ikea: Path,
                                                                                     shared_models: Path):
    """``embed_missing`` (after ``models activate`` or a failed run) decoded 64 photos a step whatever the
    embedder, beside a batch of 512 px activations; it now takes the import's chunk (``_chunk_rows``). The
    photos held at once are the steps of its progress."""
    from engine.catalog import Catalog
    from engine.embed import BATCH, BATCH_BYTES
    from engine.imageio import load_image
    from engine.importer import CATALOG_MAX_SIDE, CHUNK, ImportRow, embed_missing, import_rows

    images = sorted((ikea / "products" / "lamp").glob("*.jpg"))[:45]
    rows = [ImportRow(sku=f"L{i}", name=f"L{i}", category="lamp", image=str(p)) for i, p in enumerate(images)]
    small, large = _efficientnet_at(224, tmp_path, shared_models), _efficientnet_at(512, tmp_path, shared_models)
    progress: list[int] = []
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        assert import_rows(catalog, rows, small, tmp_path / "cache").added == 45
        assert embed_missing(catalog, large, lambda done, total: progress.append(done)) == 45
        steps = np.diff([0, *progress])
        assert progress[-1] == 45 and len(steps) > 1
        assert max(steps) * 3 * 512 * 512 * 4 <= CHUNK // BATCH * BATCH_BYTES  # as an import's chunk at 512 px
        stored = [vector for _, _, vector in catalog.vectors(large.key)]  # in product id order: rows' order
        first = large.embed([load_image(images[0], max_side=CATALOG_MAX_SIDE)])[0]
        assert len(stored) == 45 and float(stored[0] @ first) > 0.999


def test_an_import_summary_groups_thousands_as_the_app_and_cli_write_counts():
    """"1955 added, …; catalog has 1,955 products": the import's own counts lacked the separators every other
    count of the app and the CLI has."""
    from engine.importer import ImportReport

    report = ImportReport(added=1955, updated=12_000, unchanged=0, skipped=[("x", "why")] * 1001)
    assert report.summary() == "1,955 added, 12,000 updated, 1,001 skipped"


def test_a_feed_that_dropped_products_names_those_the_catalog_still_holds(tmp_path: Path, ikea: Path,
                                                                          ikea_products: list[dict[str, str]]):
    """Week 2's feed dropped products of week 1: they stayed in the catalog, matched in photos, and the import
    said "… unchanged; catalog has 12 products" with no word of them. They are kept (a feed may be one
    supplier's range of several) and named; a SKU skipped for its missing photo is in the feed, not absent."""
    from ikea_feed import write_feed

    lamps = [r for r in ikea_products if r["category"] == "lamp"][:12]
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "week1.csv"))
    week2 = write_feed(ikea, lamps[3:], tmp_path / "week2.csv",
                       extra=[(lamps[0]["product_id"], "photo gone", "lamp", str(tmp_path / "gone.jpg"))])
    report = pipe.import_catalog(week2)
    dropped = sorted(r["product_id"] for r in lamps[1:3])
    assert report.absent == dropped and pipe.catalog.count() == 12
    assert report.absent_line("week2.csv") == f"2 products of the catalog are not in week2.csv (kept): {', '.join(dropped)}"
    again = pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "week3.csv"))
    assert again.absent == [] and again.absent_line("week3.csv") is None


def test_the_absent_line_names_five_and_counts_the_rest():
    from engine.importer import ImportReport

    report = ImportReport(absent=[f"S-{n}" for n in range(1, 1203)])
    assert report.absent_line("feed.csv") == ("1,202 products of the catalog are not in feed.csv (kept): "
                                              "S-1, S-2, S-3, S-4, S-5 and 1,197 more")


def test_an_update_says_which_fields_changed(tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]):
    """Week 2 repriced 2 lamps, renamed 1 and gave 1 SKU another product's photo and category: the import said
    "4 updated" and left the merchandiser to guess which of them was a mistake in the feed."""
    from ikea_feed import write_feed

    lamps = [r for r in ikea_products if r["category"] == "lamp"][:6]
    clock = next(r for r in ikea_products if r["category"] == "clock")
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    assert pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "week1.csv")).summary() == "6 added"
    feed = tmp_path / "week2.csv"
    write_feed(ikea, [*lamps[:3], {**lamps[3], "name": "renamed"}], feed)
    feed.write_text(feed.read_text().replace("sku,name,category,image", "sku,name,category,image,price")
                    + f"{lamps[4]['product_id']},{lamps[4]['name']},lamp,{ikea / lamps[4]['image']},12.50\n"
                    + f"{lamps[5]['product_id']},{lamps[5]['name']},clock,{ikea / clock['image']},9.99\n")
    report = pipe.import_catalog(feed)
    assert report.summary() == "3 updated (2 prices, 1 name, 1 photo, 1 category), 3 unchanged"
    assert report.changed == {"name": 1, "price": 2, "image_hash": 1, "category": 1}


def test_products_in_a_category_no_tag_searches_are_named(tmp_path: Path, ikea: Path,
                                                         ikea_products: list[dict[str, str]]):
    """A feed's unknown category ("spaceship") imported without a word, and no photo's tag could ever match those
    products. A shop's word for a searched category ("Sofas", "Home & Garden > Furniture > Dining Chairs",
    "Cushions") is stored as that category and said: such feeds were told to edit the feed or categories.yaml.
    The categories the map searches pass in silence."""
    from ikea_feed import write_feed

    from engine.categories import CategoryMap

    lamps = [r for r in ikea_products if r["category"] == "lamp"][:6]
    feed = write_feed(ikea, lamps[:2], tmp_path / "feed.csv", extra=[
        (lamps[2]["product_id"], "lamp", "spaceship", str(ikea / lamps[2]["image"])),
        (lamps[3]["product_id"], "lamp", "Sofas", str(ikea / lamps[3]["image"])),
        (lamps[4]["product_id"], "lamp", "Home & Garden > Furniture > Dining Chairs", str(ikea / lamps[4]["image"])),
        (lamps[5]["product_id"], "lamp", "Cushions", str(ikea / lamps[5]["image"]))])
    pipe = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    report = pipe.import_catalog(feed)
    assert report.unsearched_line(CategoryMap.load()) == (
        "1 product in a category no tag searches, so no photo will match it: spaceship (1); correct "
        "the feed, or add it to the data folder's categories.yaml")
    assert report.renamed_line() == ("The feed's categories are stored as the catalog's, so photos match them: "
                                     "Cushions → cushion_throw, Dining Chairs → chair, Sofas → sofa")
    assert pipe.catalog.get_by_sku(lamps[3]["product_id"]).category == "sofa"
    known = pipe.import_catalog(write_feed(ikea, lamps, tmp_path / "lamps.csv"))
    assert known.unsearched_line(CategoryMap.load()) is None
