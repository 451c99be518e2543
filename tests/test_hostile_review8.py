"""An eighth hostile-input review: what a merchandiser is sent (a feed, a bundle, a model pack, a photo) aimed
where the seven reviews before had not.

Each test fails without the fix it names; real files in tmp_path, no mocks.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from decorlens.main import main
from engine.batch import FORMULA_STARTS, spreadsheet_safe
from engine.catalog import Catalog, Product

ROOT = Path(__file__).resolve().parent.parent

# Decodes each photo named on the command line as the Photos strip and the catalog's tiles do, and says its size
THUMBNAILS = """
import sys
from PySide6.QtGui import QGuiApplication
from app.thumbnails import decode_fitted, decode_hashed
app = QGuiApplication([])
for path in sys.argv[1:]:
    fitted, (hashed, key) = decode_fitted(path, 136, 96, 1.0), decode_hashed(path, 136, 96, 1.0)
    print(fitted.width(), fitted.height(), hashed.width(), hashed.height(), bool(key))
"""


def test_a_tiff_photo_shows_as_a_thumbnail_without_ending_the_app(tmp_path: Path) -> None:
    """Any TIFF (a scanner's photo, a supplier's product shot in a feed): its thumbnail ended the app in a segfault,
    Qt's TIFF reader closing its file through the in-memory buffer the thumbnail was decoded from after that buffer
    was gone (fixed in ``app.thumbnails._decode_bytes``: the reader goes first). In a child process, so that the
    crash fails this test rather than ending the run. And a JPEG-compressed TIFF, which Qt cannot decode and search
    reads, was a blank tile (now decoded as search decodes it)."""
    photos = []
    for name, pages, compression in (("scan.tiff", 1, "tiff_deflate"), ("pages.tif", 300, None),
                                     ("camera.tif", 1, "jpeg")):
        frames = [Image.new("RGB", (64, 48), (40, 120, 200))] * pages
        frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:], compression=compression)
        photos.append(str(tmp_path / name))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", THUMBNAILS, *photos], cwd=tmp_path, env=env, capture_output=True,
                          check=False, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    # Qt fits a picture to the tile, Pillow (HEIC, AVIF, and now what Qt cannot decode) only ever shrinks it
    assert done.stdout.splitlines() == ["128 96 128 96 True"] * 2 + ["64 48 64 48 True"], done.stdout


def test_a_name_with_a_line_break_hides_no_formula_from_a_semicolon_spreadsheet() -> None:
    """A feed's product name ``Lamp`` + line break + ``=HYPERLINK(…)``, written into ``summary.csv``: the comma CSV
    quotes it whole, but a spreadsheet splitting on semicolons or tabs (Excel in much of Europe) reads that quote as
    a letter, so the break ends the row and the next row's first cell is the formula (fixed in
    ``engine.batch.spreadsheet_safe``: a formula start after a line break is quoted, as after ``;`` and tab)."""
    names = ['Lamp\n=HYPERLINK("http://evil.example","click")', "Lamp\r\n@SUM(1+1)", "Sofa\n\n+cmd|' /C calc'!A0"]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["room.jpg", 1, spreadsheet_safe(name), "lamp"] for name in names])
    for separator in ",;\t":
        cells = [cell for row in csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter=separator)
                 for cell in row]
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)], (separator, cells)
    as_written = [row[2] for row in csv.reader(io.StringIO(buffer.getvalue(), newline=""))]
    assert as_written == ['Lamp\n\'=HYPERLINK("http://evil.example","click")', "Lamp\r\n'@SUM(1+1)",
                          "Sofa\n\n'+cmd|' /C calc'!A0"]


def test_skus_differing_by_an_invisible_character_are_listed_apart(tmp_path: Path, ikea: Path, capsys) -> None:
    """A feed adding "ABC-1" + a zero width space (or a byte order mark, a word joiner, a tag character) beside the
    catalog's "ABC-1", at another price: ``catalog list`` printed both as "ABC-1" (fixed in
    ``decorlens.terminal.UNSAFE``: shown as ``\\u200b``, which ``--json`` reads back as the same SKU)."""
    skus = ["ABC-1", "ABC-1\u200b", "\ufeffABC-1", "ABC-1\u2060", "ABC-1\U000e0041"]
    catalog = Catalog(tmp_path / "data" / "catalog.sqlite")
    with catalog.transaction() as revision:
        for sku in skus:
            catalog.upsert(Product(sku, "Shelf", "shelf", str(ikea / "products" / "shelf" / "000.114.28.jpg")),
                           revision)
    catalog.close()
    base = ["-q", "--data-dir", str(tmp_path / "data"), "catalog", "list"]
    assert main(base) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(listed) == sorted(["ABC-1", "ABC-1\\u200b", "\\ufeffABC-1", "ABC-1\\u2060",
                                     "ABC-1\\udb40\\udc41"]), listed
    assert main([*base, "--json"]) == 0
    assert sorted(p["sku"] for p in json.loads(capsys.readouterr().out)) == sorted(skus)
