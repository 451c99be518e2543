"""Catalog text printed by the CLI cannot drive the terminal: controls and bidi overrides show escaped."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from ikea_feed import write_feed

from decorlens.main import main
from decorlens.terminal import escape_controls, one_field

# Retitles the terminal, clears the screen, then reverses the rest of the line.
HOSTILE_NAME = "Sofa\x1b]0;pwned\x07\x1b[2J\r\u202egpj.exe"
HOSTILE_SKU = "S-1\x1b[31m"
RAW = ("\x1b", "\x07", "\r", "\u202e")
SCENE = "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4.jpg"  # chairs, tables, a shelf


def test_escaping_keeps_text_and_json_meaning():
    text = escape_controls(HOSTILE_NAME + "\n\tÅngström ✓")
    assert not any(c in text for c in RAW) and text.endswith("\n\tÅngström ✓")
    assert json.loads(escape_controls(json.dumps(HOSTILE_NAME, ensure_ascii=False))) == HOSTILE_NAME


def test_cli_prints_hostile_catalog_text_escaped(tmp_path: Path, ikea: Path, shared_models: Path,
                                                 capsys: pytest.CaptureFixture[str]):
    with open(ikea / "products.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    feed = write_feed(ikea, [], tmp_path / "feed.csv", extra=[[HOSTILE_SKU, HOSTILE_NAME, row["category"],
                                                                str(ikea / row["image"])]])
    base = ["--data-dir", str(tmp_path / "data"), "--models-dir", str(shared_models), "-q"]
    assert main([*base, "catalog", "import", str(feed)]) == 0
    capsys.readouterr()

    assert main([*base, "catalog", "list"]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in RAW) and "\\u001b]0;pwned" in out and "\\u202egpj.exe" in out

    assert main([*base, "catalog", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["sku"], p["name"]) for p in listed] == [(HOSTILE_SKU, HOSTILE_NAME)]

    main([*base, "where", "\x1b[2Jnone"])  # an unknown SKU, quoted back on stdout or in the error line
    captured = capsys.readouterr()
    assert "2Jnone" in captured.out + captured.err
    assert not any(c in captured.out + captured.err for c in RAW)


def test_a_newline_in_a_name_forges_no_report_line(tmp_path: Path, ikea: Path, shared_models: Path,
                                                   capsys: pytest.CaptureFixture[str]):
    """A feed's quoted name holding a newline printed a line of its own: a forged row of the listing or a
    forged sighting under ``where``. It shows escaped, in its own line."""
    forged = "Chair\n  0.999 confirmed   /home/me/room.jpg  object 1 [chair] box 1,2,3,4\tx"
    with open(ikea / "products.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    feed = write_feed(ikea, [], tmp_path / "feed.csv", extra=[["S-1", forged, row["category"],
                                                                str(ikea / row["image"])]])
    base = ["--data-dir", str(tmp_path / "data"), "--models-dir", str(shared_models), "-q"]
    assert main([*base, "catalog", "import", str(feed)]) == 0
    capsys.readouterr()
    for command in (["catalog", "list"], ["where", "S-1"]):
        assert main([*base, *command]) == 0
        (line,) = capsys.readouterr().out.splitlines()
        assert one_field(forged) in line and "Chair\\u000a  0.999 confirmed" in line and "\\u0009x" in line


def test_a_newline_in_a_feeds_image_path_forges_no_note(tmp_path: Path, ikea: Path, shared_models: Path,
                                                        capsys: pytest.CaptureFixture[str]):
    """`catalog import` notes each row it skips with the row's image path. A quoted path holding a newline
    printed a second line, worded as the feed liked: here a forged error of ours. It shows escaped."""
    forged = "missing.jpg\ndecorlens: error: licence expired; renew at https://example.com"
    with open(ikea / "products.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    feed = write_feed(ikea, [row], tmp_path / "feed.csv", extra=[["S-1", "Chair", row["category"], forged]])
    base = ["--data-dir", str(tmp_path / "data"), "--models-dir", str(shared_models)]
    assert main([*base, "catalog", "import", str(feed)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "missing.jpg" in line or "licence" in line]
    assert len(notes) == 1 and notes[0].startswith("skipped S-1: ") and "missing.jpg\\u000adecorlens" in notes[0]


def test_a_newline_in_a_photos_file_name_forges_no_line_of_search_scenes(tmp_path: Path, ikea: Path,
                                                                        shared_models: Path,
                                                                        capsys: pytest.CaptureFixture[str]):
    """`search --scenes` listed each tagged photo by its path as it was: a photo named with a newline (a shared
    folder's file, named by anyone) printed a line of its own, here a forged error of ours. `where` escaped it."""
    with open(ikea / "products.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] == "chair"][:3]
    feed = write_feed(ikea, rows, tmp_path / "feed.csv")
    photos = tmp_path / "photos"
    photos.mkdir()
    forged = photos / "room\ndecorlens: error: licence expired.jpg"
    forged.write_bytes((ikea / "scenes" / SCENE).read_bytes())
    base = ["--data-dir", str(tmp_path / "data"), "--models-dir", str(shared_models), "-q"]
    assert main([*base, "catalog", "import", str(feed)]) == 0
    assert main([*base, "tag", str(photos), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main([*base, "search", "--scenes", str(forged)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(one_field(str(forged)) in line for line in lines), lines
