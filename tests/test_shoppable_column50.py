"""The shoppable page without script, pasted into a column narrower than the window (a shop's CMS or a newsletter
keeps its style and markup, strips its script), in headless Chromium: laid out by the column's width.

Laid out by the window's width, a 480 px column in a 1280 px window took the desktop's six columns: the products'
column was 135 px wide and the cards' names ran one letter a line. And what holds the page may take its width from
it (a newsletter's table cell of no width): laid out by the width it is given, the page must still have one.
"""

from __future__ import annotations

import re
from pathlib import Path

import headless_chrome  # tests/ is on sys.path
import pytest
from headless_chrome import CALM, CHROMEDRIVER, CHROMIUM, MISSING

from engine.shoppable import write_page

SCENE = "a-bed-that-folds-away-to-be-a-sofa-by-day"  # 13 products: cards beside the photo and below it
COLUMN, WINDOW = 480, 1280
NAME_WIDTH = 200  # px: a card's name box at least this wide (a phone's one-column card gives it ~300)
COLUMNS = {"column": f'<div style="display:flex;gap:24px"><nav style="flex:1">Shop menu</nav>'
                      f'<article style="flex:none;width:{COLUMN}px">{{}}</article></div>',
           "cell": "<table><tr><td>{}</td></tr></table>"}
PHOTO_WIDTH = 280  # px: at least a 320 px phone's photo
NAMES = "return [].map.call(document.querySelectorAll('.card .name'), e => e.getBoundingClientRect().width);"


def pasted(page: Path, holder: str, html_class: str = "") -> str:
    """A shop's page with ``page``'s style and body pasted into ``holder`` (its ``{}``), as a CMS pastes it: the
    script stripped. ``html_class``: the class the shop's theme gives its own <html>."""
    text = page.read_text(encoding="utf-8")
    style = re.search(r"<style>.*?</style>", text, re.DOTALL)
    body = re.search(r"<body>(.*)</body>", text, re.DOTALL)
    assert style and body
    markup = re.sub(r"<script>.*?</script>", "", body.group(1), flags=re.DOTALL)
    return (f'<!doctype html>\n<html lang="en" class="{html_class}"><head><meta charset="utf-8"><title>Shop</title>'
            f'{style.group(0)}</head>'
            f"<body>{holder.format(markup)}</body></html>")


@pytest.fixture(scope="module")
def shops(pipeline, scene_path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    photo = scene_path(SCENE)
    folder = tmp_path_factory.mktemp("column")
    page = write_page(pipeline.search_scene(photo).to_json(), photo, folder, photo.stem, pipeline.categories.names)
    for name, holder in COLUMNS.items():
        (folder / f"{name}.html").write_text(pasted(page, holder), encoding="utf-8")
    # a WordPress theme's <html class="no-js">, which its own script turns into "js"
    (folder / "themed.html").write_text(pasted(page, COLUMNS["column"], "js"), encoding="utf-8")
    return {name: folder / f"{name}.html" for name in (*COLUMNS, "themed")}


def test_without_script_the_page_is_laid_out_by_the_width_it_is_given(shops: dict[str, Path]) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(MISSING)
    driver = headless_chrome.chrome(*CALM)
    try:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WINDOW, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        driver.get(shops["column"].as_uri())
        widths = [round(w) for w in driver.execute_script(NAMES)]
        assert len(widths) >= 13
        narrow = [w for w in widths if w < NAME_WIDTH]
        assert not narrow, f"in a {COLUMN} px column of a {WINDOW} px window, cards' names {narrow} px wide"
        driver.get(shops["themed"].as_uri())  # the page's class is its own: a theme's "js" is not the page's script
        narrow = [round(w) for w in driver.execute_script(NAMES) if w < NAME_WIDTH]
        assert not narrow, f"in a theme's page marked js, cards' names {narrow} px wide"
        driver.get(shops["cell"].as_uri())
        photo = driver.execute_script("return document.querySelector('.photo').getBoundingClientRect().width")
        assert photo >= PHOTO_WIDTH, f"in a table cell of no width, the photo is {photo:.0f} px wide"
    finally:
        driver.quit()
