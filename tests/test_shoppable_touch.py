"""The shoppable page as a shopper's phone meets it: touch, no hover, upright and held sideways, in headless Chromium.

The page is a real one: a busy IKEA room (22 tags) searched against the whole catalog and written by ``write_page``,
with what a shop's feed adds to IKEA's (a price, a link, and for every third product a long descriptive name, as
many shops' feeds word them). Three things a shopper tripped on, found walking such pages:

- a phone's hotspots answered a tap 40 px across and its "View product" buttons 34 px tall, under the 44 px a
  finger needs (Apple's guidance, WCAG 2.5.5): on a crowded photo a tap landed beside a pin or on its neighbour;
- held sideways (640 x 360), a hotspot's card of a long name ran off the bottom of the screen, its "View product"
  button cut in half (the card is fixed to the viewport: scrolling does not reach it);
- the hint under the photo told a phone's shopper to "Hover".
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import headless_chrome  # tests/ is on sys.path
import pytest
from headless_chrome import CALM, CHROMEDRIVER, CHROMIUM, MISSING
from selenium import webdriver
from selenium.webdriver.common.by import By

from engine.shoppable import write_page
from engine.shoppable_assets import TOUCH_TARGET

BUSY = "bamboo-for-something-fresh-and-new"  # 22 tags in a 4:3 photo: pins crowd on a phone
LONG = " three-seat sofa with chaise longue, Hillared anthracite grey, washable cover"
PHONE, SIDEWAYS = (360, 780), (640, 360)
# Where a tap at (x, y) lands: the pin it opens, if any
TAPPED = ("var e = document.elementFromPoint(arguments[0], arguments[1]), p = e && e.closest('.pin');"
          "return p ? p.getAttribute('aria-controls') : null;")
RECT = "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"


@pytest.fixture(scope="module")
def page(pipeline, scene_path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    photo = scene_path(BUSY)
    data = pipeline.search_scene(photo).to_json()
    for n, match in enumerate(m for obj in data["objects"] for m in obj["matches"]):
        match["url"] = f"https://www.ikea.com/gb/en/search/?q={quote(match['sku'])}"
        match["price"] = f"£{n % 40 * 10 + 9.99:.2f}"
        match["name"] += LONG if n % 3 == 0 else ""
    assert sum(bool(obj["matches"]) for obj in data["objects"]) >= 15
    return write_page(data, photo, tmp_path_factory.mktemp("touch"), photo.stem, pipeline.categories.names)


@pytest.fixture(scope="module")
def phone():
    """Headless Chromium as a phone: touch events, no hover, a coarse pointer."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(MISSING)
    driver = headless_chrome.phone(*CALM)
    yield driver
    driver.quit()


def open_at(driver: webdriver.Chrome, page: Path, size: tuple[int, int]) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": True})
    driver.get(page.as_uri())
    assert driver.execute_script("return document.documentElement.classList.contains('decorlens-js')")


def tap(driver: webdriver.Chrome, x: float, y: float) -> None:
    """A finger's tap: touch events, as a phone sends them (the browser makes the click)."""
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_phone_shopper_taps_every_pin_and_button_and_reads_every_card(phone, page: Path) -> None:
    open_at(phone, page, PHONE)
    assert phone.find_element(By.CSS_SELECTOR, ".hint").text == "Tap a dot to see the product."

    # each pin answers a tap anywhere in the TOUCH_TARGET square around its centre (its neighbours nudged apart)
    pins = phone.find_elements(By.CSS_SELECTOR, ".pin")
    half = TOUCH_TARGET / 2 - 1
    for pin in pins:
        phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", pin)
        left, top, right, bottom = phone.execute_script(RECT, pin)
        x, y = (left + right) / 2, (top + bottom) / 2
        landed = {phone.execute_script(TAPPED, x + dx, y + dy) for dx in (-half, half) for dy in (-half, half)}
        assert landed == {pin.get_attribute("aria-controls")}, (
            f"taps {half:.0f} px off {pin.get_attribute('aria-controls')}'s centre landed on {landed}")

    buttons = phone.find_elements(By.CSS_SELECTOR, ".card a.button")
    assert len(buttons) == len(phone.find_elements(By.CSS_SELECTOR, ".card"))
    heights = {round(b.rect["height"]) for b in buttons}
    assert min(heights) >= TOUCH_TARGET, f"View product buttons {sorted(heights)} px tall"

    # held sideways, a tapped pin's card, its button included, is all on the screen and the button takes the tap
    open_at(phone, page, SIDEWAYS)
    width, height = phone.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.clientHeight];")
    for pin in phone.find_elements(By.CSS_SELECTOR, ".pin"):
        phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", pin)
        left, top, right, bottom = phone.execute_script(RECT, pin)
        tap(phone, (left + right) / 2, (top + bottom) / 2)
        tip = phone.find_element(By.ID, pin.get_attribute("aria-controls"))
        button = tip.find_element(By.CSS_SELECTOR, "a.button")
        for element, what in ((tip, "card"), (button, "View product")):
            x0, y0, x1, y1 = phone.execute_script(RECT, element)
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (
                f"{pin.get_attribute('aria-label')}: its {what} at {x0:.0f},{y0:.0f}-{x1:.0f},{y1:.0f} leaves the "
                f"{width}x{height} screen")
        x0, y0, x1, y1 = phone.execute_script(RECT, button)
        assert phone.execute_script(
            "var e = document.elementFromPoint(arguments[0], arguments[1]); return e && e.closest('a') === arguments[2];",
            (x0 + x1) / 2, (y0 + y1) / 2, button)
        tap(phone, (left + right) / 2, (top + bottom) / 2)  # a second tap closes it
        assert not phone.find_elements(By.CSS_SELECTOR, ".spot.open")


def test_without_script_and_held_sideways_the_pins_stay_apart_and_on_screen(phone, page: Path) -> None:
    """With script off (a reader mode, a locked-down browser) a phone's pins sat on their objects, piled on one another,
    and a card of a pin near the right edge ran off the screen; held sideways (844 x 390) the photo was taller than
    the screen, its lower pins out of reach without scrolling past the upper ones."""
    phone.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                              {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
        phone.get(page.as_uri())
        assert not phone.execute_script("return document.documentElement.classList.contains('decorlens-js')")
        dots = [phone.execute_script(RECT, pin) for pin in phone.find_elements(By.CSS_SELECTOR, ".pin")]
        piled = [(i, j) for i, a in enumerate(dots) for j, b in enumerate(dots[:i])
                 if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
        assert not piled, f"pins {piled} overlap without script"
        for pin in phone.find_elements(By.CSS_SELECTOR, ".pin"):
            phone.execute_script("arguments[0].focus()", pin)
            x0, _, x1, _ = phone.execute_script(RECT, phone.find_element(By.ID, pin.get_attribute("aria-controls")))
            assert 0 <= x0 < x1 <= PHONE[0], f"{pin.get_attribute('aria-label')}: its card spans x {x0:.0f}-{x1:.0f}"
        assert phone.find_elements(By.CSS_SELECTOR, ".card a.button")  # the products' list, under the photo

        width, height = 844, 390
        phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                              {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        phone.get(page.as_uri())
        photo = phone.execute_script(RECT, phone.find_element(By.CSS_SELECTOR, ".photo"))
        assert photo[3] - photo[1] <= height, f"the photo is {photo[3] - photo[1]:.0f} px tall on a {height} px screen"
        for spot in phone.find_elements(By.CSS_SELECTOR, ".spot"):  # each object's point still on its object
            x, y = (float(v.strip("% ")) / 100 for v in phone.execute_script(
                "return [arguments[0].style.left, arguments[0].style.top]", spot))
            left, top, _, _ = phone.execute_script(RECT, spot)
            assert left == pytest.approx(photo[0] + x * (photo[2] - photo[0]), abs=1)
            assert top == pytest.approx(photo[1] + y * (photo[3] - photo[1]), abs=1)
    finally:
        phone.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
