"""Holes a fourth review of hostile input found in the surfaces added last: feed photos rechecked at their URL,
HEIC photos, the hand-over between two copies of the app, and the app's error log.

test_hostile_inputs, test_hostile_review, test_hostile_review2, test_hostile_review3, test_hostile_folders,
test_hostile_models, test_hostile_training_inputs and test_mutated_inputs hold the attacks thought of before.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
