"""A feed's photo on a server whose certificate this computer does not trust (session 49): the skip said
"[SSL: CERTIFICATE_VERIFY_FAILED] … ; offline? use local image paths", sending the user to check a connection
that worked. Found walking the packaged app on a distribution whose certificates its OpenSSL did not find."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import modelpack
from engine.errors import ModelError
from engine.feed_images import download_images
from engine.importer import read_source

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="makes its certificate with openssl")


@pytest.fixture
def https_url(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a certificate of its own making, which no computer trusts."""
    pem = tmp_path / "server.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(pem), "-out", str(pem)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/lamp.jpg"
    httpd.shutdown()
    httpd.server_close()


def test_a_photo_behind_an_untrusted_certificate_is_said_as_such(tmp_path: Path, https_url: str):
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nR-1,lamp,{https_url}\n", encoding="utf-8")
    [row] = download_images(read_source(feed), tmp_path / "cache")
    assert row.skip.startswith(f"cannot download {https_url} (its server's certificate is not trusted here: ")
    assert "offline?" not in row.skip and "\n" not in row.skip
    assert row.skip.endswith("the computer's date or its certificates may be wrong; or use local image paths")


def test_the_model_pack_from_a_server_not_trusted_says_so(tmp_path: Path, https_url: str):
    """The setup page's Download said "could not reach 127.0.0.1 ([SSL: CERTIFICATE_VERIFY_FAILED] …)": reached."""
    with pytest.raises(ModelError) as raised:
        modelpack.install(https_url.rsplit("/", 1)[0] + "/", tmp_path / "models")
    said = str(raised.value)
    assert "its server's certificate is not trusted here: self-signed certificate" in said
    assert "CERTIFICATE_VERIFY_FAILED" not in said and "\n" not in said
