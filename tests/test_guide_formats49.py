"""The User Guide names every photo format the app opens (session 49): it named none, and a designer with an
iPhone's HEIC photos could not tell whether they would open (they do)."""

from __future__ import annotations

from pathlib import Path

from engine.imageio import FORMATS

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "app.md"


def test_the_guide_names_each_format_the_app_reads():
    said = GUIDE.read_text(encoding="utf-8").split("Photos may be", 1)[1].split(". ", 1)[0].lower()
    missing = [f for f in FORMATS if f != "MPO" and f.lower() not in said]  # MPO: a JPEG with a second picture
    assert not missing, f"docs/app.md does not name {missing}"
