"""The shoppable page in a real browser (headless Chromium driven by selenium), at phone and desktop widths.

The page comes from a real IKEA scene searched against the whole real catalog and written by
``decorlens tag --html`` after a few other scenes were tagged (their products are its *Complete the
look*); a second page adds shop links (ikea.com searches for the matched article numbers) so the
keyboard path runs through links too. The checks are the ones a visitor would make: nothing scrolls
sideways on a 390 px phone, Tab reaches every hotspot and shows its card, every hover card stays inside
the viewport, one card per product, and the products that go with them below, none of them twice.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/test`` installs them when it runs as
root). Selenium is pointed at the system chromedriver: selenium-manager never downloads one. Screenshots
go to ``$DECORLENS_SCREENSHOTS`` when it is set (the docs' are made that way), else to a temp folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from scene_copy import copy_data_dir
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from decorlens.main import main
from engine.catalog import Catalog
from engine.shoppable import complete_the_look, write_page

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium is missing: apt-get install chromium chromium-driver (scripts/test does so as root)",
)

SCENE = "a-cosy-space-for-coffee-and-conversation"
TAGGED_BEFORE = 3  # other scenes tagged first, in name order: enough for a few products to go with it
WIDTHS = {"phone": (390, 844, True), "desktop": (1280, 900, False)}
# The viewport rectangle of an element, and the viewport without scrollbars.
RECT = "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"
VIEWPORT = "return [document.documentElement.clientWidth, document.documentElement.clientHeight];"


@pytest.fixture(scope="module")
def pages(pipeline, scene_path, ikea: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """name → (page, scene JSON with the page's Complete-the-look products under "complete"): as
    ``decorlens tag --html`` writes it, and with shop links."""
    out = tmp_path_factory.mktemp("shoppable")
    data_dir = copy_data_dir(pipeline, out / "data")  # the memory holds exactly the scenes tagged here
    scene = scene_path(SCENE)
    before = [str(s) for s in sorted((ikea / "scenes").glob("*.jpg")) if s != scene][:TAGGED_BEFORE]
    assert main(["-q", "--data-dir", str(data_dir), "tag", *before, "--out", str(out / "before")]) == 0
    assert main(["-q", "--data-dir", str(data_dir), "tag", str(scene), "--out", str(out), "--html"]) == 0
    data = json.loads((out / f"{scene.stem}.json").read_text())
    with Catalog(data_dir / "catalog.sqlite") as catalog:
        data["complete"] = complete_the_look(catalog, data)
    for match in [m for obj in data["objects"] for m in obj["matches"]] + data["complete"]:
        match["url"] = f"https://www.ikea.com/gb/en/search/?q={quote(match['sku'])}"
    linked = write_page(data, scene, out / "linked", scene.stem, complete=data["complete"])
    return {"imported": (out / f"{scene.stem}.html", data), "linked": (linked, data)}


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    # No transitions: a screenshot never catches a hotspot halfway between two colours.
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )
    yield driver
    driver.quit()


def open_at(driver: webdriver.Chrome, page: Path, device: str) -> None:
    width, height, mobile = WIDTHS[device]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.get(page.as_uri())  # returns after the load event: the photo and thumbnails are in
    assert driver.execute_script("return document.documentElement.classList.contains('js')")


def assert_inside_viewport(driver: webdriver.Chrome, element, what: str) -> None:
    width, height = driver.execute_script(VIEWPORT)
    left, top, right, bottom = driver.execute_script(RECT, element)
    assert right > left and bottom > top, f"{what} is not shown"
    assert 0 <= left and right <= width and 0 <= top and bottom <= height, (
        f"{what} at {left:.0f},{top:.0f}–{right:.0f},{bottom:.0f} leaves the {width}x{height} viewport"
    )


def open_tip(driver: webdriver.Chrome):
    tips = driver.find_elements(By.CSS_SELECTOR, ".spot.open .tip")
    assert len(tips) == 1, f"{len(tips)} hover cards open"
    return tips[0]


@pytest.mark.parametrize("device", WIDTHS)
@pytest.mark.parametrize("variant", ["imported", "linked"])
def test_page_in_a_browser(browser, pages, variant: str, device: str, tmp_path: Path):
    page, data = pages[variant]
    open_at(browser, page, device)
    pins = browser.find_elements(By.CSS_SELECTOR, ".pin")
    matched = [o for o in data["objects"] if o["matches"]]
    assert len(pins) == len(matched) >= 3

    # nothing scrolls sideways (at 390 px this is the phone check)
    scroll_width, client_width = browser.execute_script(
        "var d = document.documentElement; return [d.scrollWidth, d.clientWidth];"
    )
    assert scroll_width <= client_width == WIDTHS[device][0]

    # one card per product, each listing the tags it was matched by
    cards = browser.find_elements(By.CSS_SELECTOR, "section.products > ul.cards > li.card")
    products = {o["matches"][0]["sku"] for o in matched}
    assert sorted(c.get_attribute("data-sku") for c in cards) == sorted(products)
    tags = sorted(int(n) for c in cards for n in c.get_attribute("data-tags").split())
    assert tags == list(range(1, len(pins) + 1))

    # below them the products that go with them, in the order Goes with ranks them, none on the page twice,
    # each card inside the viewport's width once scrolled to
    more = browser.find_elements(By.CSS_SELECTOR, "section.complete li.card")
    assert [c.get_attribute("data-sku") for c in more] == [m["sku"] for m in data["complete"]]
    assert more and not {c.get_attribute("data-sku") for c in more} & products
    for card in cards + more:
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
        assert_inside_viewport(browser, card, f"card of {card.get_attribute('data-sku')}")
    browser.execute_script("window.scrollTo(0, 0)")

    # Tab reaches every hotspot in order, and focus shows its card inside the viewport
    reached = []
    for _ in range(4 * len(pins) + 4):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        focused = browser.switch_to.active_element
        if "pin" in (focused.get_attribute("class") or "").split():
            if focused.get_attribute("aria-controls") in reached:
                break  # Tab went past the end of the page and started over
            reached.append(focused.get_attribute("aria-controls"))
            assert focused.get_attribute("aria-label").startswith(f"Tag {len(reached)}: ")
            assert focused.get_attribute("aria-expanded") == "true"
            assert_inside_viewport(browser, open_tip(browser), f"card of {reached[-1]} on focus")
    assert reached == [p.get_attribute("aria-controls") for p in pins]
    browser.execute_script("arguments[0].focus()", pins[0])
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()  # Escape closes the card, focus stays
    assert not browser.find_elements(By.CSS_SELECTOR, ".spot.open")
    assert browser.switch_to.active_element == pins[0]

    # hovering each hotspot shows its card inside the viewport, flipped away from the edges
    for pin in pins:
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pin)
        ActionChains(browser).move_to_element(pin).perform()
        assert_inside_viewport(
            browser, open_tip(browser), f"card of {pin.get_attribute('aria-controls')} on hover"
        )

    if variant == "linked":
        links = browser.find_elements(By.CSS_SELECTOR, "a.button")
        assert links and all(a.get_attribute("href").startswith("https://www.ikea.com/") for a in links)
        screenshot(browser, pins, device, tmp_path)


def screenshot(driver: webdriver.Chrome, pins: list, device: str, tmp_path: Path) -> None:
    """``shoppable-<device>.png``: the top of the page, on the desktop with one hover card open;
    ``shoppable-complete-<device>.png``: the Complete-the-look cards."""
    folder = Path(os.environ.get("DECORLENS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    title = driver.find_element(By.ID, "complete-title")
    driver.execute_script("arguments[0].scrollIntoView()", title)
    ActionChains(driver).move_to_element(title).perform()  # no hotspot or card under the mouse
    driver.execute_script("document.body.click()")  # a click outside closes any open card
    assert driver.save_screenshot(str(folder / f"shoppable-complete-{device}.png"))
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    if device == "desktop":
        middle = min(pins, key=lambda p: abs(p.rect["x"] - driver.execute_script(VIEWPORT)[0] / 2))
        ActionChains(driver).move_to_element(middle).perform()
    else:
        ActionChains(driver).move_to_element(driver.find_element(By.TAG_NAME, "h1")).perform()
        driver.execute_script("document.body.click()")  # a click outside closes any open card
    assert driver.save_screenshot(str(folder / f"shoppable-{device}.png"))
