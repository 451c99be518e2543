"""The shoppable page in a real browser (headless Chromium driven by selenium), at phone and desktop widths.

The page comes from a real IKEA scene searched against the whole real catalog and written by
``decorlens tag --html`` after a few other scenes were tagged (their products are its *Complete the
look*); a second page adds shop links (ikea.com searches for the matched article numbers) so the
keyboard path runs through links too, a third is the app's export after a confirmed product was
removed from the catalog (its tag pins the best match left), and a fourth the app's export with a product the
merchandiser confirmed for a tag, one the engine found only similar. The checks are the ones a visitor would
make: nothing scrolls sideways on a 390 px phone, every picture loads, Tab reaches every hotspot and shows
its card, every hover card stays inside the viewport, one card per product, and the products that go with
them below, none of them twice. The three scenes tagged first get pages too: with the main one, they have
hotspots close enough to overlap on a phone, which the page's script spreads apart at every width, drawing a
leader line back to its object from each pin nudged off it.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/test`` installs them when it runs as
root). Selenium is pointed at the system chromedriver: selenium-manager never downloads one. Screenshots
go to ``$DECORLENS_SCREENSHOTS`` when it is set (the docs' are made that way), else to a temp folder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from urllib.parse import quote

import headless_chrome  # tests/ is on sys.path
import pytest
from headless_chrome import CALM, CHROMEDRIVER, CHROMIUM
from scene_copy import copy_data_dir
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from decorlens.main import main
from engine.catalog import Catalog
from engine.pipeline import Pipeline
from engine.settings import Settings
from engine.shoppable import BADGES, IMAGES, complete_the_look, in_catalog, write_page, write_scene_page
from engine.shoppable_assets import (
    CARD_GAP,
    CARD_HEIGHT,
    COLUMN_GAP,
    HEADING_HEIGHT,
    HINT_HEIGHT,
    LAYOUT_WIDTH,
    PAGE_WIDTH,
)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium is missing: apt-get install chromium chromium-driver (scripts/test does so as root)",
)

SCENE = "a-cosy-space-for-coffee-and-conversation"
TAGGED_BEFORE = 3  # other scenes tagged first, in name order: enough for a few products to go with it
SHAPES = {"square": "an-urban-oasis-in-4-metres-square", "tall": "a-small-hallway-for-big-first"}  # 1:1, 0.72:1
WIDTHS = {"phone": (390, 844, True), "desktop": (1280, 900, False)}
SMALL_PHONE = (320, 640, True)
# The viewport rectangle of an element, and the viewport without scrollbars.
RECT = "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"
VIEWPORT = "return [document.documentElement.clientWidth, document.documentElement.clientHeight];"
BROKEN_IMAGES = (
    "return [].filter.call(document.images, function (i) { return !i.complete || !i.naturalWidth; })"
    ".map(function (i) { return i.getAttribute('src'); });"
)


@pytest.fixture(scope="module")
def pages(pipeline, scene_path, ikea: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """name → (page, scene JSON with the page's Complete-the-look products under "complete"): as
    ``decorlens tag --html`` writes it, with shop links, and with a confirmed product removed since; and
    "before-1" … as ``decorlens tag --html`` wrote the scenes tagged first (their JSON as it wrote it);
    "square" and "tall": pages of a square and a portrait photo, tagged last."""
    out = tmp_path_factory.mktemp("shoppable")
    data_dir = copy_data_dir(pipeline, out / "data")  # the memory holds exactly the scenes tagged here
    scene = scene_path(SCENE)
    before = [str(s) for s in sorted((ikea / "scenes").glob("*.jpg")) if s != scene][:TAGGED_BEFORE]
    assert main(["-q", "--data-dir", str(data_dir), "tag", *before, "--out", str(out / "before"), "--html"]) == 0
    assert main(["-q", "--data-dir", str(data_dir), "tag", str(scene), "--out", str(out), "--html"]) == 0
    data = json.loads((out / f"{scene.stem}.json").read_text())
    with Catalog(data_dir / "catalog.sqlite") as catalog:
        data["complete"] = complete_the_look(catalog, data)
    for match in [m for obj in data["objects"] for m in obj["matches"]] + data["complete"]:
        match["url"] = f"https://www.ikea.com/gb/en/search/?q={quote(match['sku'])}"
    names = pipeline.categories.names  # as the app's export and `tag --html` name categories
    linked = write_page(data, scene, out / "linked", scene.stem, names, complete=data["complete"])
    confirmed = confirmed_in_the_app(data_dir, scene, data, out / "confirmed")
    removed, shown = confirmed_then_removed(data_dir, scene, data, out / "removed")
    earlier = {
        f"before-{n}": (out / "before" / f"{Path(s).stem}.html", json.loads((out / "before" / f"{Path(s).stem}.json").read_text()))
        for n, s in enumerate(before, 1)
    }
    shapes = {name: scene_path(fragment) for name, fragment in SHAPES.items()}  # tagged last: the rest is written
    assert main(["-q", "--data-dir", str(data_dir), "tag", *map(str, shapes.values()), "--out", str(out / "shapes"),
                 "--html"]) == 0
    shaped = {name: (out / "shapes" / f"{s.stem}.html", {}) for name, s in shapes.items()}
    return {"imported": (out / f"{scene.stem}.html", data), "linked": (linked, data), "removed": (removed, shown),
            "confirmed": confirmed, **earlier, **shaped}


def confirmed_in_the_app(data_dir: Path, photo: Path, data: dict, out: Path) -> tuple[Path, dict]:
    """The app's export of the scene after its merchandiser confirmed for a tag its second match, which the
    engine found only similar and no tag has as its best: the page and the scene, whose ``"tag"`` is that
    tag's number."""
    best = {o["matches"][0]["sku"] for o in data["objects"] if o["matches"]}
    number, obj = next((n, o) for n, o in enumerate(data["objects"], 1)
                       if len(o["matches"]) > 1 and o["matches"][1]["match"] == "similar"
                       and o["matches"][1]["sku"] not in best)
    scene = json.loads(json.dumps(data))
    scene["objects"][number - 1]["confirmed"] = dict(obj["matches"][1])
    scene["objects"][number - 1]["confirmed_sku"] = obj["matches"][1]["sku"]
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data_dir))
    try:
        written = write_scene_page(pipeline, scene, photo, out, photo.stem)
    finally:
        pipeline.close()
    return written.path, {**scene, "tag": number}


def confirmed_then_removed(data_dir: Path, photo: Path, data: dict, out: Path) -> tuple[Path, dict]:
    """The app's export of the scene after its merchandiser confirmed a tag's best match and that product was
    removed from the catalog (``decorlens catalog remove``): the page and the scene as it shows it, whose
    ``"gone"`` is the removed product and ``"tag"`` the number of the tag that had it confirmed."""
    number, obj = next((n, o) for n, o in enumerate(data["objects"], 1) if len(o["matches"]) > 1)
    scene = json.loads(json.dumps(data))
    gone = scene["objects"][number - 1]["confirmed"] = dict(obj["matches"][0])
    scene["objects"][number - 1]["confirmed_sku"] = gone["sku"]
    assert main(["-q", "--data-dir", str(data_dir), "catalog", "remove", gone["sku"]]) == 0
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data_dir))
    try:
        written = write_scene_page(pipeline, scene, photo, out, photo.stem)
        shown, left_off = in_catalog(pipeline.catalog, scene)
        shown["complete"] = complete_the_look(pipeline.catalog, shown)
    finally:
        pipeline.close()
    assert written.gone == left_off == 1
    return written.path, {**shown, "gone": gone, "tag": number}


@pytest.fixture(scope="module")
def browser():
    driver = headless_chrome.chrome(*CALM)  # no transitions: never a hotspot caught halfway between two colours
    yield driver
    driver.quit()


def open_at(driver: webdriver.Chrome, page: Path, device: str) -> None:
    set_viewport(driver, *WIDTHS[device])
    driver.get(page.as_uri())  # returns after the load event: the photo and thumbnails are in
    assert driver.execute_script("return document.documentElement.classList.contains('decorlens-js')")


def set_viewport(driver: webdriver.Chrome, width: int, height: int, mobile: bool) -> None:
    """The window's size as a phone's or a desktop's; an open page is laid out anew, as on a resize."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


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
@pytest.mark.parametrize("variant", ["imported", "linked", "removed"])
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

    # every picture (the photo, each card's and hover card's thumbnail) is on the page and decoded
    broken = browser.execute_script(BROKEN_IMAGES)
    assert not broken and len(browser.find_elements(By.TAG_NAME, "img")) > len(pins)

    # one card per product, each listing the tags it was matched by
    cards = browser.find_elements(By.CSS_SELECTOR, "ul.photo-cards > li.card")
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


@pytest.mark.parametrize("device", WIDTHS)
def test_a_confirmed_product_removed_since_is_not_on_the_page(browser, pages, device: str):
    """The tag whose confirmed product left the catalog pins its best match still there, as its own card;
    the removed product has no hotspot, card, Complete-the-look card or picture anywhere on the page."""
    page, shown = pages["removed"]
    gone, number = shown["gone"], shown["tag"]
    open_at(browser, page, device)
    assert gone["sku"] not in {c.get_attribute("data-sku") for c in browser.find_elements(By.CSS_SELECTOR, ".card")}
    assert gone["name"] not in browser.find_element(By.TAG_NAME, "body").get_attribute("textContent")
    pictures = {i.get_attribute("src") for i in browser.find_elements(By.TAG_NAME, "img")}
    assert len(pictures) == len(list((page.parent / IMAGES / "products").iterdir())) + 1  # and the photo

    instead = shown["objects"][number - 1]["matches"][0]
    assert instead["sku"] != gone["sku"]
    pin = browser.find_element(By.CSS_SELECTOR, f'.pin[aria-controls="tip-{number}"]')
    assert pin.get_attribute("aria-label").startswith(f"Tag {number}: {instead['name']}")
    card = browser.find_element(By.CSS_SELECTOR, f'ul.photo-cards > li.card[data-sku="{instead["sku"]}"]')
    assert str(number) in card.get_attribute("data-tags").split()

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pin)
    ActionChains(browser).move_to_element(pin).perform()
    assert instead["name"] in open_tip(browser).text


@pytest.mark.parametrize("device", WIDTHS)
def test_a_product_confirmed_in_the_app_is_the_product_in_the_photo(browser, pages, device: str):
    """A product the merchandiser confirmed for a tag was listed under "Similar products" like the guesses
    (its JSON still carries the engine's "similar"). Its card and hover card now say "In this photo", the list
    is headed "Shop the products", and the unconfirmed tags' best matches keep the engine's word for them."""
    page, shown = pages["confirmed"]
    number = shown["tag"]
    confirmed = shown["objects"][number - 1]["confirmed"]
    assert confirmed["match"] == "similar"
    open_at(browser, page, device)

    def badge(element) -> str:
        found = element.find_elements(By.CSS_SELECTOR, ".badge")
        return found[0].get_attribute("textContent") if found else ""

    heading = browser.find_element(By.ID, "products-title").get_attribute("textContent")
    assert heading.startswith("Shop the products")
    cards = browser.find_elements(By.CSS_SELECTOR, "ul.photo-cards > li.card")
    badges = {c.get_attribute("data-sku"): badge(c) for c in cards}
    assert badges.pop(confirmed["sku"]) == "In this photo"
    guesses = {o["matches"][0]["sku"]: o["matches"][0]["match"] for o in shown["objects"] if o["matches"]}
    assert badges == {sku: BADGES[guesses[sku]] for sku in badges}  # Exact, Likely the same or Similar
    assert "Similar" in badges.values()

    pin = browser.find_element(By.CSS_SELECTOR, f'.pin[aria-controls="tip-{number}"]')
    assert pin.get_attribute("aria-label").startswith(f"Tag {number}: {confirmed['name']}")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pin)
    ActionChains(browser).move_to_element(pin).perform()
    assert badge(open_tip(browser)) == "In this photo"


# The tallest empty stretch under the photo across its width, in px: between the photo's bottom and what
# follows below it that overlaps its width (its hint, headings, notes, cards), and on down to the last of these.
EMPTY_UNDER_PHOTO = """
var photo = document.querySelector('.photo').getBoundingClientRect(), y = window.scrollY;
var items = [].map.call(document.querySelectorAll('main .hint, main h2, main .note, main .card'), function (e) {
  var r = e.getBoundingClientRect(); return [r.left, r.top + y, r.right, r.bottom + y];
});
var end = Math.max.apply(null, items.map(function (r) { return r[3]; })), at = photo.bottom + y, widest = 0;
items.filter(function (r) { return r[0] < photo.right && photo.left < r[2] && r[1] >= at; })
  .sort(function (a, b) { return a[1] - b[1]; })
  .forEach(function (r) { widest = Math.max(widest, r[1] - at); at = Math.max(at, r[3]); });
return Math.max(widest, end - at);
"""


@pytest.mark.parametrize("device", WIDTHS)
@pytest.mark.parametrize("variant", ["imported", "before-1", "before-2", "before-3", *SHAPES])
def test_no_large_empty_area_under_the_photo(browser, pages, variant: str, device: str):
    """At 1280 px the photo's cards ran in one column beside it, twice its height and more, and the page
    below the photo stayed empty down to the last Complete-the-look card. Now the cards that do not fit
    beside the photo run below it, across the page: on pages of 4:3, 16:10, square and portrait photos, at 1280
    and 390 px, nothing under the photo across its width is left empty as tall as a card."""
    page, _data = pages[variant]
    open_at(browser, page, device)
    empty = browser.execute_script(EMPTY_UNDER_PHOTO)
    assert empty < CARD_HEIGHT, f"{page.stem} at {WIDTHS[device][0]} px: {empty:.0f} px empty under the photo"


# What the Python layout reckons with, as the browser draws it: the layout's content width and column gap, the
# hint under the photo and the cards' heading with their margins, the list cards' heights and the gap between two.
DRAWN_LAYOUT = """
var layout = getComputedStyle(document.querySelector('.layout'));
function outer(e, margin) { return e.getBoundingClientRect().height + parseFloat(getComputedStyle(e)[margin]); }
var cards = [].map.call(document.querySelectorAll('ul.photo-cards > li.card'), function (c) {
  return c.getBoundingClientRect();
});
return {width: document.querySelector('.layout').clientWidth - parseFloat(layout.paddingLeft)
               - parseFloat(layout.paddingRight),
        gap: parseFloat(layout.columnGap), hint: outer(document.querySelector('.hint'), 'marginTop'),
        heading: outer(document.getElementById('products-title'), 'marginBottom'),
        card: Math.min.apply(null, cards.map(function (r) { return r.height; })),
        cardGap: cards[1].top - cards[0].bottom};
"""


def test_the_layout_python_reckons_with_is_the_one_the_browser_draws(browser, pages):
    """How many cards go beside the photo is reckoned in Python (``engine.shoppable._layout``) from sizes that
    the page's CSS also wrote out as its own numbers, a second copy that could change alone. Both now come from
    ``engine.shoppable_assets``; at the layout's full width the browser draws exactly those sizes."""
    page, _data = pages["imported"]
    set_viewport(browser, PAGE_WIDTH + 40, 900, False)
    browser.get(page.as_uri())
    drawn = browser.execute_script(DRAWN_LAYOUT)
    assert drawn == {"width": LAYOUT_WIDTH, "gap": COLUMN_GAP, "hint": HINT_HEIGHT, "heading": HEADING_HEIGHT,
                     "card": CARD_HEIGHT, "cardGap": CARD_GAP}


# Each hotspot: its pin's box, the point its object is at (its .spot, a box of no size), the photo's box and
# how far its touch target (the pin's ::before) reaches either side of its centre.
HOTSPOTS = """
var photo = document.querySelector('.photo').getBoundingClientRect();
return [].map.call(document.querySelectorAll('.spot'), function (spot) {
  var pin = spot.querySelector('.pin'), box = pin.getBoundingClientRect(), at = spot.getBoundingClientRect();
  return {id: pin.getAttribute('aria-controls'), box: [box.left, box.top, box.right, box.bottom],
          at: [at.left, at.top], photo: [photo.left, photo.top, photo.right, photo.bottom],
          reach: parseFloat(getComputedStyle(pin, '::before').width) / 2};
});
"""
# The hotspot (its aria-controls) that a tap at x, y would hit, or what else is there.
TAPPED = """
var hit = document.elementFromPoint(arguments[0], arguments[1]), pin = hit && hit.closest('.pin');
return pin ? pin.getAttribute('aria-controls') : (hit ? hit.tagName + '.' + hit.className : 'nothing');
"""
NEXT_FRAME = "var done = arguments[0]; requestAnimationFrame(function () { requestAnimationFrame(done); });"
TOUCH = 40  # px: a fingertip's target, at least (the pin's own box is smaller, its ::before makes it this)


def intersect(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("variant", ["imported", "before-1", "before-2", "before-3"])
def test_no_two_hotspots_overlap_at_any_width(browser, pages, variant: str):
    """Objects close together in the photo have hotspots that overlapped on a phone (on one of these pages
    on the desktop too): one hid another's number, and a tap between them hit whichever was drawn last.
    Loaded on a phone and then resized to the desktop and to a small phone, no two pins' boxes intersect,
    a tap anywhere on a pin's touch target (TOUCH px square around its centre) reaches that pin and no
    other, and each pin stays on the photo and close to its object."""
    page, _data = pages[variant]
    for n, size in enumerate([WIDTHS["phone"], WIDTHS["desktop"], SMALL_PHONE]):
        set_viewport(browser, *size)
        if not n:
            browser.get(page.as_uri())
        browser.execute_async_script(NEXT_FRAME)  # the layout of the new size is painted
        spots = browser.execute_script(HOTSPOTS)
        where = f"{page.stem} at {size[0]} px"
        overlapping = [(a["id"], b["id"]) for i, a in enumerate(spots) for b in spots[i + 1:]
                       if intersect(a["box"], b["box"])]
        assert not overlapping, f"pins overlap on {where}: {overlapping}"
        for spot in spots:
            left, top, right, bottom = spot["box"]
            x, y = (left + right) / 2, (top + bottom) / 2
            photo = spot["photo"]
            assert photo[0] <= left and right <= photo[2] and photo[1] <= top and bottom <= photo[3], where
            assert abs(x - spot["at"][0]) <= 1.5 * TOUCH and abs(y - spot["at"][1]) <= 1.5 * TOUCH, (
                f"{spot['id']} on {where} is {x - spot['at'][0]:.0f},{y - spot['at'][1]:.0f} px from its object"
            )
            reach = TOUCH / 2 - 1
            for dx, dy in [(0, 0), (-reach, -reach), (reach, -reach), (-reach, reach), (reach, reach)]:
                tapped = browser.execute_script(TAPPED, x + dx, y + dy)
                assert tapped == spot["id"], f"a tap {dx:+.0f},{dy:+.0f} px from {spot['id']} on {where} hits {tapped}"


# Each leader line's two ends, in the viewport (the line's own x1 y1 x2 y2 as the browser draws them).
LEADERS = """
return [].map.call(document.querySelectorAll('.leader line'), function (line) {
  var matrix = line.getScreenCTM(), svg = line.ownerSVGElement;
  return [[line.x1, line.y1], [line.x2, line.y2]].map(function (end) {
    var p = svg.createSVGPoint();
    p.x = end[0].baseVal.value; p.y = end[1].baseVal.value; p = p.matrixTransform(matrix);
    return [p.x, p.y];
  });
});
"""
# What a tap at x, y reaches with the leaders drawn and with them hidden, and whether it hit a leader.
TAPPED_THROUGH = """
var x = arguments[0], y = arguments[1], leaders = document.querySelector('.leaders');
function name(hit) {
  var pin = hit && hit.closest('.pin');
  return pin ? pin.getAttribute('aria-controls') : (hit ? hit.tagName + '.' + hit.getAttribute('class') : 'nothing');
}
var hit = document.elementFromPoint(x, y), shown = name(hit), onLeader = !!(hit && hit.closest('.leaders'));
leaders.style.display = 'none';
var hidden = name(document.elementFromPoint(x, y));
leaders.style.display = '';
return [shown, hidden, onLeader];
"""
NEAR = 1.5  # px: how close a leader's end must be to the pin's centre and to its object's point


def near(a: list[float], b: list[float]) -> bool:
    return abs(a[0] - b[0]) <= NEAR and abs(a[1] - b[1]) <= NEAR


def leader_middle(spot: dict, centre: list[float]) -> tuple[float, float]:
    """The middle of a leader's stretch between its object's point and its pin's touch target, where a tap
    should reach the photo; where the point is inside the touch target, of its stretch outside the pin's dot."""
    dx, dy = spot["at"][0] - centre[0], spot["at"][1] - centre[1]
    start = spot["reach"] / max(abs(dx), abs(dy))  # how far along, from the pin, the line leaves the target
    if start >= 1:
        start = (spot["box"][2] - spot["box"][0]) / 2 / math.hypot(dx, dy)
    return centre[0] + dx * (1 + start) / 2, centre[1] + dy * (1 + start) / 2


@pytest.mark.parametrize("variant", ["before-2", "before-3"])  # the pages with pins nudged that far at 390 px
def test_a_nudged_pin_has_a_leader_to_its_object(browser, pages, variant: str):
    """A pin nudged away from its object had nothing linking it to it: on a phone a shopper could not tell
    which of the bottles on a table a pin was for. Loaded on a phone and resized to the desktop and to a small
    phone, every pin nudged further than its radius (its dot no longer covers its object's point) has exactly
    one leader line, from its centre to its object's point, and no other pin has one; a tap on the middle of
    the leader between its object and its pin reaches what it would without the leaders (the photo, or a pin's
    touch target), never the line."""
    page, _data = pages[variant]
    nudged_on_phone, photo_tapped = 0, 0
    for n, size in enumerate([WIDTHS["phone"], WIDTHS["desktop"], SMALL_PHONE]):
        set_viewport(browser, *size)
        if not n:
            browser.get(page.as_uri())
        browser.execute_async_script(NEXT_FRAME)  # the layout of the new size is painted
        where = f"{page.stem} at {size[0]} px"
        leaders = browser.execute_script(LEADERS)
        nudged = []
        for spot in browser.execute_script(HOTSPOTS):
            left, top, right, bottom = spot["box"]
            centre = [(left + right) / 2, (top + bottom) / 2]
            if math.dist(centre, spot["at"]) > (right - left) / 2:
                nudged.append((spot, centre))
        if size == WIDTHS["phone"]:
            nudged_on_phone = len(nudged)
        assert len(leaders) == len(nudged), f"{len(leaders)} leaders for {len(nudged)} nudged pins on {where}"
        for spot, centre in nudged:
            own = [ends for ends in leaders if near(ends[0], spot["at"]) and near(ends[1], centre)]
            assert len(own) == 1, f"{spot['id']} on {where}: {len(own)} leaders from {spot['at']} to {centre}"
            reached, without, on_leader = browser.execute_script(TAPPED_THROUGH, *leader_middle(spot, centre))
            assert not on_leader and reached == without, (
                f"a tap on {spot['id']}'s leader on {where} hits {reached}, without the leaders {without}"
            )
            photo_tapped += reached == "IMG.photo"
    assert nudged_on_phone, f"no pin of {page.stem} is nudged at 390 px: this page tests no leader"
    assert photo_tapped, f"no tap on a leader of {page.stem} reached the photo"


def screenshot(driver: webdriver.Chrome, pins: list, device: str, tmp_path: Path) -> None:
    """``shoppable-<device>.png``: the top of the page, on the desktop with one hover card open;
    ``shoppable-complete-<device>.png``: the Complete-the-look cards."""
    folder = Path(os.environ.get("DECORLENS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    title = driver.find_element(By.ID, "complete-title")
    driver.execute_script("document.activeElement.blur(); arguments[0].scrollIntoView()", title)  # no focus ring
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
