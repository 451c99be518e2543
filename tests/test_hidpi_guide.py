"""Help ▸ User Guide on a scaled screen: its screenshots are scaled for the screen's pixels, not stretched.

Qt reads ``QT_SCALE_FACTOR`` only when the QApplication starts, so the guide is opened in a child process on an
offscreen 1920 × 1080 screen at 150 % (``conftest.run_on_scaled_screen``), which prints what each picture became.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from conftest import run_on_scaled_screen  # tests/ is on sys.path

pytestmark = pytest.mark.gui

GUIDE_PICTURES = r"""
import json, time
from PySide6.QtGui import QPixmap, QTextDocument
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.dialogs.guide import GUIDE, GuideWindow, _pictures

window = GuideWindow(GUIDE)
window.show()
browser = window.browser
deadline = time.monotonic() + 30
while (browser._refit.isActive() or not browser.isVisible()) and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
app.processEvents()
doc, shown = browser.document(), []
for _position, _length, picture in _pictures(doc)[:4]:
    pixmap = doc.resource(QTextDocument.ResourceType.ImageResource, picture.name())
    original = QPixmap(str(GUIDE.parent / picture.name()))
    shown.append({"name": picture.name(), "logical": picture.width(), "original": original.width(),
                  "pixels": pixmap.width(), "pixmap_dpr": pixmap.devicePixelRatio()})
print(json.dumps({"dpr": app.primaryScreen().devicePixelRatio(), "widget": browser.devicePixelRatioF(),
                  "screen": app.primaryScreen().availableGeometry().getRect(), "pictures": shown}))
"""


def test_the_guides_screenshots_are_scaled_for_a_150_percent_screen(tmp_path: Path):
    """At 150 % a screenshot fitted to 760 logical pixels covers 1,140 screen pixels: it was scaled down to 760 and
    Qt stretched it back up, the words in it blurred. Now it is scaled to the pixels it covers and marked 1.5."""
    found = run_on_scaled_screen(GUIDE_PICTURES, [], tmp_path, 1920, 1080, 1.5)
    pictures = [p for p in found["pictures"] if p["original"] > p["logical"] * found["widget"]]
    assert pictures, found  # the guide's first screenshots are wider than they are shown
    for picture in pictures:
        assert picture["pixmap_dpr"] == found["widget"], picture
        assert picture["pixels"] == math.ceil(picture["logical"] * found["widget"]), picture
