"""The shoppable page without script (a shop's CMS or an e-mail strips it), in headless Chromium at a phone's, a
tablet's and a desktop's width: each pin on its object's point.

Without script the page moves pins apart as the script would (``engine.shoppable._nudges``). The offsets were made
once, for a 320 px phone's photo, and each pin was moved as many px at any width: on a tablet or a desktop, the
objects long since far apart, a pin still sat up to 9 px off its point (a clock's pin 4 px above the clock). A pin
whose object has no other within one and a half dots of it has nothing to be moved away from, at any width.
"""

from __future__ import annotations

from pathlib import Path

import headless_chrome  # tests/ is on sys.path
import pytest
from headless_chrome import CALM, CHROMEDRIVER, CHROMIUM, MISSING

from engine.shoppable import write_page

SCENE = "a-bed-that-folds-away-to-be-a-sofa-by-day"  # 13 tags, a few close together (a lamp, a clock, frames)
WIDTHS = ((375, 812, True), (768, 1024, False), (1280, 900, False))  # a phone's pins crowd: few stand alone
ON_POINT = 1.5  # px: a pin's centre from its object's point
# Each pin: its centre, its width, and its object's point (the spot's left/top in % of the photo)
PINS = """var photo = document.querySelector('.photo').getBoundingClientRect();
return [[photo.width, photo.height]].concat([].map.call(document.querySelectorAll('.spot'), function (spot) {
  var pin = spot.querySelector('.pin').getBoundingClientRect();
  return [pin.left + pin.width / 2 - photo.left, pin.top + pin.height / 2 - photo.top, pin.width,
          parseFloat(spot.style.left) / 100 * photo.width, parseFloat(spot.style.top) / 100 * photo.height];
}));"""


@pytest.fixture(scope="module")
def page(pipeline, scene_path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    photo = scene_path(SCENE)
    scene = pipeline.search_scene(photo).to_json()
    return write_page(scene, photo, tmp_path_factory.mktemp("nojs"), photo.stem, pipeline.categories.names)


def test_without_script_each_pin_is_on_its_object_at_every_width(page: Path) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(MISSING)
    driver = headless_chrome.chrome(*CALM)
    try:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        for width, height, mobile in WIDTHS:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
            driver.get(page.as_uri())
            assert not driver.execute_script("return document.documentElement.classList.contains('decorlens-js')")
            (w, h), *pins = driver.execute_script(PINS)
            dot = pins[0][2] + 2
            alone = [p for p in pins if dot <= p[3] <= w - dot and dot <= p[4] <= h - dot
                     and all(q is p or max(abs(q[3] - p[3]), abs(q[4] - p[4])) >= 1.5 * dot for q in pins)]
            assert mobile or len(alone) >= len(pins) / 3, f"{width} px: {len(alone)} of {len(pins)} pins stand alone"
            off = [round(max(abs(x - ax), abs(y - ay)), 1) for x, y, _, ax, ay in alone]
            assert max(off, default=0) <= ON_POINT, f"{width} px: pins standing alone sit {off} px off their objects"
            piled = [(a, b) for n, a in enumerate(pins) for b in pins[:n]
                     if abs(a[0] - b[0]) < a[2] and abs(a[1] - b[1]) < a[2]]
            assert not piled, f"{width} px: {len(piled)} pairs of pins overlap"
    finally:
        driver.quit()
