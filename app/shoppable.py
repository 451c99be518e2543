"""The "shoppable image": a scene photo with clickable hotspots on its products, as a static HTML page.

A merchandiser drops the output folder on a web server as it is: the page, the photo and the matched
product pictures sit together with relative links. Hotspots link to the product's URL when the
catalog has one, else to its picture. Also here: batch tagging that writes the same JSON and CSV as
``decorlens tag`` (through ``engine.batch``) plus one page per scene.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.palette import CategoryColours
from engine.batch import BatchReport, tag_scenes
from engine.importer import Progress
from engine.pipeline import Pipeline
from engine.results import SceneResult

IMAGES = "images"
PRODUCTS = "products"

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
.look{position:relative;display:inline-block;max-width:100%}
.look>img{display:block;max-width:100%;height:auto;border-radius:6px}
.spot{position:absolute;transform:translate(-50%,-50%);width:26px;height:26px;border-radius:50%;
 border:2px solid #fff;color:#fff;font:600 13px/26px system-ui,sans-serif;text-align:center;
 text-decoration:none;box-shadow:0 1px 5px rgba(0,0,0,.55)}
.spot .card{display:none;position:absolute;left:32px;top:-10px;z-index:2;width:210px;padding:8px;
 background:#fff;color:#222;border-radius:6px;box-shadow:0 2px 10px rgba(0,0,0,.3);text-align:left;
 font-weight:400;line-height:1.3}
.spot:hover .card,.spot:focus .card{display:block}
.card img{width:100%;height:140px;object-fit:contain;background:#fff}
ol{padding-left:1.4em}li{margin:4px 0}.muted{color:#777}
"""


def write_page(scene: dict[str, Any], photo: Path, out_dir: Path, stem: str) -> Path:
    """``<out>/<stem>.html`` for a scene in search-JSON form (corrections JSON works too)."""
    images = out_dir / IMAGES
    (images / PRODUCTS).mkdir(parents=True, exist_ok=True)
    photo_name = f"{stem}{photo.suffix.lower()}"
    shutil.copyfile(photo, images / photo_name)
    colours = CategoryColours()
    spots, items = [], []
    for obj in scene["objects"]:
        best = _best(obj)
        if best is None:
            continue
        number = obj.get("number", len(spots) + 1)
        picture = _copy_product_image(best, images / PRODUCTS)
        spots.append(_spot(obj, best, number, picture, colours.colour(obj["category"]), scene))
        items.append(_item(best, number, picture))
    page = out_dir / f"{stem}.html"
    page.write_text(_page(stem, f"{IMAGES}/{photo_name}", spots, items), encoding="utf-8")
    return page


def export_batch(
    pipeline: Pipeline,
    scenes: Sequence[Path],
    out_dir: Path,
    top_k: int | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> BatchReport:
    """``decorlens tag`` output plus a page per scene, written as each scene is done."""

    def page(photo: Path, stem: str, result: SceneResult) -> None:
        write_page(result.to_json(), photo, out_dir, stem)

    return tag_scenes(pipeline, scenes, out_dir, top_k, progress, cancelled, on_result=page)


def _best(obj: dict[str, Any]) -> dict[str, Any] | None:
    return obj.get("confirmed") or (obj.get("matches") or [None])[0]


def _copy_product_image(match: dict[str, Any], folder: Path) -> str:
    source = Path(match.get("image_path") or "")
    if not source.is_file():
        return ""
    target = folder / f"{_safe(match['sku'])}{source.suffix.lower()}"
    if not target.exists():
        shutil.copyfile(source, target)
    return f"{IMAGES}/{PRODUCTS}/{target.name}"


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "product"


def _spot(
    obj: dict[str, Any], best: dict[str, Any], number: int, picture: str, colour: str, scene: dict[str, Any]
) -> str:
    x = 100.0 * obj["tag"][0] / scene["width"]
    y = 100.0 * obj["tag"][1] / scene["height"]
    e = html.escape
    href = best.get("url") or picture or "#"
    image = f'<img src="{e(picture)}" alt="">' if picture else ""
    price = f" · {e(best['price'])}" if best.get("price") else ""
    return (
        f'<a class="spot" href="{e(href)}" style="left:{x:.2f}%;top:{y:.2f}%;background:{colour}" '
        f'title="{e(best["name"])}">{number}<span class="card">{image}<b>{e(best["name"])}</b><br>'
        f'<span class="muted">{e(best["sku"])}{price}</span></span></a>'
    )


def _item(best: dict[str, Any], number: int, picture: str) -> str:
    e = html.escape
    href = best.get("url") or picture or "#"
    price = f" — {e(best['price'])}" if best.get("price") else ""
    return (
        f'<li value="{number}"><a href="{e(href)}">{e(best["name"])}</a> '
        f'<span class="muted">{e(best["sku"])} · {e(best["category"])}{price}</span></li>'
    )


def _page(title: str, photo: str, spots: list[str], items: list[str]) -> str:
    e = html.escape
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Shop the look — {e(title)}</title><style>{STYLE}</style></head><body>\n"
        f'<div class="look"><img src="{e(photo)}" alt="{e(title)}">\n' + "\n".join(spots) + "</div>\n"
        "<h2>In this room</h2>\n<ol>\n" + "\n".join(items) + "\n</ol>\n</body></html>\n"
    )
