"""The catalog map page (``decorlens catalog map --html``) shared with someone who opens it on a phone, in headless
Chromium with touch and no hover.

Its maps were at least 420 px wide, so on a 390 px phone the page scrolled sideways with each map's right edge cut
off; it zoomed only by a mouse wheel (the map takes every touch, so a phone could not even zoom the page); and its
hint said "Scroll to zoom" and "hover". The page here is written by ``write_map_page`` from real IKEA products
(their pictures embedded) laid out on a grid: what is tested is the page, not the t-SNE layout.
"""

from __future__ import annotations

from pathlib import Path

import headless_chrome  # tests/ is on sys.path
import numpy as np
import pytest
from headless_chrome import CHROMEDRIVER, CHROMIUM, MISSING
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from engine.catalog import Product
from engine.catalog_map import CatalogMap
from engine.map_page import write_map_page

PHONE = (390, 844)
SIDE = 6  # a 6 x 6 grid of products
VIEWBOX = "return arguments[0].getAttribute('viewBox').split(' ').map(Number);"


@pytest.fixture(scope="module")
def page(ikea: Path, ikea_products: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = ikea_products[: SIDE * SIDE]
    products = {n: Product(sku=r["product_id"], name=r["name"], category=r["category"],
                           image_path=str(ikea / r["image"]), id=n) for n, r in enumerate(rows, 1)}
    grid = np.stack(np.meshgrid(np.linspace(0, 1, SIDE), np.linspace(0, 1, SIDE)), -1).reshape(-1, 2)
    layout = CatalogMap(embedder="stock", key="k", revision=1, ids=np.array(sorted(products)),
                        xy=grid.astype("float32"), title="MobileNetV2")
    return write_map_page(tmp_path_factory.mktemp("map") / "map.html", [layout, layout], products,
                          lambda _category: "#336699")


@pytest.fixture(scope="module")
def phone():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(MISSING)
    driver = headless_chrome.phone()
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
    yield driver
    driver.quit()


def touch(driver: webdriver.Chrome, kind: str, *points: tuple[float, float]) -> None:
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)]})


def test_a_phone_sees_the_whole_map_pinches_it_and_taps_a_product(phone, page: Path) -> None:
    phone.get(page.as_uri())
    assert phone.execute_script("var d = document.documentElement; return d.scrollWidth <= d.clientWidth")
    assert phone.find_element(By.CSS_SELECTOR, ".hint").text.endswith(
        "Pinch to zoom, drag to pan, double-tap to see all; tap a picture for the product.")
    maps = phone.find_elements(By.CSS_SELECTOR, "svg.map")
    for svg in maps:
        assert svg.rect["x"] >= 0 and svg.rect["x"] + svg.rect["width"] <= PHONE[0]

    svg = maps[0]
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", svg)
    r = svg.rect
    x, y = r["x"] + r["width"] / 2, r["y"] - phone.execute_script("return window.scrollY") + r["height"] / 2
    before = phone.execute_script(VIEWBOX, svg)
    touch(phone, "touchStart", (x - 20, y), (x + 20, y))
    for step in range(1, 9):  # the fingers 40 px apart, then 200
        touch(phone, "touchMove", (x - 20 - 10 * step, y), (x + 20 + 10 * step, y))
    touch(phone, "touchEnd")
    after = phone.execute_script(VIEWBOX, svg)
    assert after[2] == pytest.approx(before[2] / 5, rel=0.02), (before, after)  # five times as close
    assert after[0] + after[2] / 2 == pytest.approx(before[0] + before[2] / 2, abs=before[2] / 50)  # where pinched

    product = svg.find_elements(By.CSS_SELECTOR, ".p")[SIDE * SIDE // 2 + SIDE // 2]  # near the middle
    box = phone.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height];",
                               product)
    touch(phone, "touchStart", (box[0] + box[2] / 2, box[1] + box[3] / 2))
    touch(phone, "touchEnd")
    card = phone.find_element(By.CSS_SELECTOR, ".card")
    assert "open" in card.get_attribute("class").split()
    assert card.find_element(By.CSS_SELECTOR, ".name").text == product.get_attribute("data-name")


def test_each_maps_products_are_a_list_a_keyboard_walks(phone, page: Path) -> None:
    """A map's pictures are reachable by neither keyboard nor screen reader: each map has a list of its products (alike
    ones next to each other) whose focused item rings its picture and shows its card."""
    phone.get(page.as_uri())
    panel = phone.find_elements(By.CSS_SELECTOR, ".panel")[1]
    items = panel.find_elements(By.CSS_SELECTOR, "details.list button.item")
    names = phone.execute_script(
        "return [].map.call(arguments[0].querySelectorAll('.p'), function (p) { return p.getAttribute('data-name'); });",
        panel)
    assert sorted(phone.execute_script("return arguments[0].firstChild.textContent", i) for i in items) == sorted(names)
    summary = panel.find_element(By.CSS_SELECTOR, "summary")
    phone.execute_script("arguments[0].focus()", summary)
    ActionChains(phone).send_keys(Keys.ENTER).send_keys(Keys.TAB).send_keys(Keys.TAB).perform()
    item = phone.switch_to.active_element
    assert item == items[1]
    card = phone.find_element(By.CSS_SELECTOR, ".card")
    assert "open" in card.get_attribute("class").split()
    assert card.find_element(By.CSS_SELECTOR, ".sku").text == item.find_element(By.TAG_NAME, "small").text.split(" · ")[0]
    lit = panel.find_elements(By.CSS_SELECTOR, ".p.lit")
    assert [p.get_attribute("data-id") for p in lit] == [item.get_attribute("data-id")]
