"""Ninth hostile-input review (session 48): a feed from the web reaching this computer's own addresses, look-alike
SKUs. Real HTTP servers on this machine's own addresses; no model is loaded."""

from __future__ import annotations

import http.server
import io
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from decorlens.main import main
from engine.feed_images import download_images
from engine.importer import ImportRow, read_source

ORIGIN = "user.xdg.origin.url"  # where Chrome, wget --xattr and curl --xattr record a download's URL on Linux


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


class Server:
    """An HTTP server on ``host``: ``/NAME.jpg`` is a photo, ``/to/URL`` a redirect to ``http://URL``; ``asked``
    lists the paths it was asked for."""

    def __init__(self, host: str) -> None:
        self.asked: list[str] = []
        photo, asked = _jpeg(), self.asked

        class Answer(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                if self.path.startswith("/to/"):
                    self.send_response(302)
                    self.send_header("Location", "http://" + self.path[4:])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(photo)))
                self.end_headers()
                self.wfile.write(photo)

            def log_message(self, *args: object) -> None:
                pass

        class Listening(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        self.httpd = Listening((host, 0), Answer)
        self.port = self.httpd.server_address[1]
        self.host = f"[{host}]" if ":" in host else host
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def loopback() -> Iterator[Server]:
    server = Server("127.0.0.1")
    yield server
    server.stop()


def _lan_address() -> str:
    """This machine's own address on its network (not loopback), which a server elsewhere on the LAN would have."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: the kernel picks the route's source address
        except OSError:
            pytest.skip("this machine has no network address but loopback")
        return probe.getsockname()[0]


def _feed(folder: Path, images: list[str], origin: str = "") -> Path:
    feed = folder / "shop.csv"
    feed.write_text("sku,name,category,image\n" + "".join(
        f"S{n},Lamp {n},lamp,{image}\n" for n, image in enumerate(images)), encoding="utf-8")
    if origin:
        os.setxattr(feed, ORIGIN, origin.encode())
    return feed


def _downloaded(feed: Path, cache: Path) -> list[ImportRow]:
    return download_images(read_source(feed), cache)


def test_a_feed_downloaded_from_the_web_cannot_make_decorlens_ask_this_computer(
        tmp_path: Path, loopback: Server) -> None:
    port = loopback.port
    ours = [f"http://{host}:{port}/{n}.jpg" for n, host in enumerate(
        ("127.0.0.1", "localhost", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "0.0.0.0"))]
    elsewhere_of_ours = ["http://169.254.169.254/latest/meta-data/x.jpg", f"http://224.0.0.1:{port}/m.jpg"]
    cache = tmp_path / "cache"
    # A feed of this computer's (no mark: saved by hand, the shop's own export) reaches it, as before, and caches.
    local = _downloaded(_feed(tmp_path, ours), cache)
    assert [row.skip for row in local] == [""] * len(ours)
    assert len(loopback.asked) == len(ours)
    asked = len(loopback.asked)

    web = "https://feeds.example.com/shop.csv"
    rows = _downloaded(_feed(tmp_path, ours + elsewhere_of_ours, origin=web), cache)
    assert len(loopback.asked) == asked, "a feed from the web made DecorLens ask this computer"
    assert all(row.skip for row in rows), [row.image for row in rows if not row.skip]
    for row in rows[:len(ours)]:  # cached copies of before are not used either
        assert "this computer's own address" in row.skip and f"the feed was downloaded from {web}" in row.skip
        assert row.skip.count("\n") == 0
    assert "this computer's own address (link-local)" in rows[-2].skip
    assert "this computer's own address (multicast)" in rows[-1].skip
    assert "localhost (127.0.0.1) is this computer's own address (loopback)" in rows[1].skip
    assert "0x7f.1 (127.0.0.1)" in rows[3].skip and "(unspecified)" in rows[-3].skip

    # A mark naming this computer itself (a feed served by a program of its own) is a feed of this computer.
    served_here = _downloaded(_feed(tmp_path, ours[:1], origin=f"http://127.0.0.1:{port}/shop.csv"), cache)
    assert served_here[0].skip == "" and len(loopback.asked) == asked + 1


def test_a_redirect_from_elsewhere_cannot_lead_to_this_computer(tmp_path: Path, loopback: Server, monkeypatch) -> None:
    # This machine's LAN address stands in for a NAS elsewhere on the LAN: none of its own interfaces' addresses
    # are taken as its own here (they are since tests/test_hostile_review9b.py's fix), the only way one machine
    # has a server that is not its own.
    monkeypatch.setattr("engine.downloads.interface_addresses", frozenset)
    lan = Server(_lan_address())
    try:
        ours = f"127.0.0.1:{loopback.port}/a.jpg"
        images = [f"http://{lan.host}:{lan.port}/to/{ours}", f"http://{lan.host}:{lan.port}/to/169.254.169.254/",
                  f"http://{lan.host}:{lan.port}/b.jpg", f"http://127.0.0.1:{loopback.port}/to/{ours}"]
        rows = _downloaded(_feed(tmp_path, images), tmp_path / "cache")
        assert "127.0.0.1 is this computer's own address (loopback), and a server elsewhere " in rows[0].skip
        assert "169.254.169.254 is this computer's own address (link-local)" in rows[1].skip
        assert rows[2].skip == "", "a server on the LAN (a shop's NAS) is reached"
        assert rows[3].skip == "", "a redirect of this computer's own server to itself is followed, as before"
        assert loopback.asked == [f"/to/{ours}", "/a.jpg"]

        web = _downloaded(_feed(tmp_path, images[2:3], origin="https://feeds.example.com/x.csv"), tmp_path / "c2")
        assert web[0].skip == "", "a feed from the web may name a LAN server"
    finally:
        lan.stop()


def test_an_import_names_the_skus_that_read_as_another(tmp_path: Path, ikea: Path, capsys) -> None:
    """A feed's "АBC-1" (Cyrillic А), "ABC‑1" (U+2011) and "ＡＢＣ－１" (fullwidth) are three more products beside
    the catalog's "ABC-1", each at a price of its own, and every list, page and printed order shows them alike.
    The import's summary now names them, the characters that differ marked; "ABC-2" and "Café" read apart."""
    lamps = sorted((ikea / "products" / "lamp").glob("*.jpg"))
    data = ["-q", "--data-dir", str(tmp_path / "data"), "catalog", "import"]
    first = tmp_path / "first.csv"
    first.write_text(f"sku,name,category,image\nABC-1,Lamp,lamp,{lamps[0]}\n", encoding="utf-8")
    assert main([*data, str(first)]) == 0
    assert "read as" not in capsys.readouterr().out
    skus = ["АBC-1", "ABC\u20111", "ＡＢＣ－１", "ABC-2", "Café"]
    second = tmp_path / "second.csv"
    second.write_text("sku,name,category,image\n" + "".join(
        f"{sku},Lamp,lamp,{lamp}\n" for sku, lamp in zip(skus, lamps[1:])), encoding="utf-8")
    assert main([*data, str(second)]) == 0
    out = capsys.readouterr().out
    assert ("5 added; 1 set of SKUs reads as one, a character drawn alike (check the feed): ABC-1 / ABC⟨U+2011⟩1 / "
            "⟨U+0410⟩BC-1 / ⟨U+FF21⟩⟨U+FF22⟩⟨U+FF23⟩⟨U+FF0D⟩⟨U+FF11⟩; catalog has 6 products") in out, out


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be", "utf-16-le", "utf-16-be"])
def test_a_utf32_or_unmarked_utf16_feed_is_read_as_the_text_it_is(tmp_path: Path, encoding: str) -> None:
    """A UTF-32 feed (its byte order mark FF FE 00 00 begins as UTF-16's) was read as UTF-16, and a UTF-16 one
    without a mark (.NET's and Java's "Unicode") as UTF-8: each "no column for sku, category, image (have: s k u
    …)". The zero bytes of the header's first, ASCII, character now name the encoding."""
    text = "sku,name,category,image\nL-1,Лампа 灯,lamp,http://cdn.example.com/l1.jpg\n"
    feed = tmp_path / "feed.csv"
    feed.write_bytes(text.encode(encoding))
    rows = read_source(feed)
    assert [(row.sku, row.name, row.category, row.image) for row in rows] == [
        ("L-1", "Лампа 灯", "lamp", "http://cdn.example.com/l1.jpg")]
