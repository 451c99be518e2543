"""The shoppable page of a photo in which nothing the shop sells was found, in headless Chromium: a lamp shop's
page of a room without a lamp read "Hover or tap a dot to see the product." over a photo without a dot, and
"Shop the products 0 products"."""

from __future__ import annotations

import os
from pathlib import Path

import headless_chrome  # tests/ is on sys.path
import pytest
from headless_chrome import CHROMEDRIVER, CHROMIUM
from ikea_feed import write_feed
from lamp_shop import run_cli
from selenium.webdriver.common.by import By

from engine.shoppable import NOTHING_SOLD, NOTHING_SOLD_NOTE

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="Chromium is missing: apt-get install chromium chromium-driver")
SOFA_BED = "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4"  # a bed, chairs, a table: no lamp
WIDTHS = {"phone": (390, 844, True), "desktop": (1280, 900, False)}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]],
         shared_models: Path) -> Path:
    """``decorlens tag --html`` of a room without a lamp, by a shop whose catalog holds three lamps."""
    work = tmp_path_factory.mktemp("lamp-page")
    lamps = [row for row in ikea_products if row["category"] == "lamp"][:3]
    feed = write_feed(ikea, lamps, work / "lamps.csv")
    assert run_cli(work / "data", shared_models, "catalog", "import", str(feed))[0] == 0
    photo = ikea / "scenes" / f"{SOFA_BED}.jpg"
    code, _out, err = run_cli(work / "data", shared_models, "tag", str(photo), "--out", str(work / "out"), "--html")
    assert code == 0, err
    return work / "out" / f"{SOFA_BED}.html"


@pytest.fixture(scope="module")
def browser():
    driver = headless_chrome.chrome()
    yield driver
    driver.quit()


@pytest.mark.parametrize("device", WIDTHS)
def test_a_page_without_products_says_nothing_in_the_photo_is_sold_here(browser, page: Path, device: str,
                                                                        tmp_path: Path) -> None:
    width, height, mobile = WIDTHS[device]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    browser.get(page.as_uri())
    assert browser.find_elements(By.CSS_SELECTOR, ".pin") == []
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Hover or tap a dot" not in text and "0 products" not in text, text
    heading = browser.find_element(By.ID, "products-title")
    assert heading.text == NOTHING_SOLD and heading.is_displayed()
    assert NOTHING_SOLD_NOTE in text
    photo = browser.find_element(By.CSS_SELECTOR, "img.photo")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", photo)
    if device == "desktop":  # beside the photo, where the cards would be, in the first screen
        assert heading.rect["x"] > photo.rect["x"] + photo.rect["width"] and heading.rect["y"] < height
    folder = Path(os.environ.get("DECORLENS_SCREENSHOTS") or tmp_path)
    assert browser.save_screenshot(str(folder / f"shoppable-nothing-sold-{device}.png"))
