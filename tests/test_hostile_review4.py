"""Holes a fourth review of hostile input found in the surfaces added last: feed photos rechecked at their URL,
HEIC photos, the hand-over between two copies of the app, and the app's error log.

test_hostile_inputs, test_hostile_review, test_hostile_review2, test_hostile_review3, test_hostile_folders,
test_hostile_models, test_hostile_training_inputs and test_mutated_inputs hold the attacks thought of before.
"""

from __future__ import annotations

import http.server
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.single_instance import HandOverServer, hand_over, server_name
from engine.pipeline import Pipeline
from engine.settings import Settings


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
def serve() -> Iterator[Callable[[Callable], str]]:
    """``serve(handler)``: the URL of an HTTP server on 127.0.0.1 answering each GET with ``handler(request)``."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(handler: Callable[[http.server.BaseHTTPRequestHandler], None]) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


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
