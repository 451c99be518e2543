"""Pasted pictures' names in the Photos strip: today's by the time alone, so that a second picture of the same second
("… (2)") is named whole at the strip's width; an earlier day's with the day."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest


@pytest.mark.gui
def test_the_second_picture_of_a_second_pasted_today_is_named_whole(qtbot, qapp) -> None:
    """"Pasted 7 Dec 22:56:57 (2)" was 157 px in a strip whose names have 136: cut, where the first was whole (CI
    pasted two in one second and test_designer_walk49 saw it)."""
    from app.scene_files import caption
    from app.thumbnails import Thumbnails
    from app.widgets.photo_strip import PhotoStrip
    from app.workers import Runner

    strip = PhotoStrip(Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(strip)
    today, before = date.today(), date.today() - timedelta(days=3)
    second = caption(Path(f"/d/pasted/pasted-{today:%Y%m%d}-200808-123456-2.png"))
    assert second == "Pasted 20:08:08 (2)"
    assert strip.fontMetrics().horizontalAdvance(second) <= strip.iconSize().width()
    older = caption(Path(f"/d/pasted/pasted-{before:%Y%m%d}-200808-123456.png"))
    assert older.startswith("Pasted ") and older.endswith(" 20:08:08") and str(before.day) in older
