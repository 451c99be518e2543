"""The catalog map as one standalone HTML page: product thumbnails placed by ``engine.catalog_map``.

One file, nothing fetched: each product's thumbnail is embedded once (a small re-encoded JPEG as a data
URI in an SVG symbol) and every map on the page draws it by reference, so two embedders side by side
cost no second copy. Names, SKUs and categories come from feeds and bundles, so they are hostile input:
every one passes ``engine.shoppable_assets.escape`` on its way into the page (bidi overrides and control
characters dropped, so none can reverse or hide what follows it), the script writes them back only as text
(``textContent``), and the Content-Security-Policy lets only this page's own script and style (pinned by
hash) and data-URI images load, so a mistake in escaping still could not run anything.

Scroll zooms, dragging pans, a double click resets; hovering a thumbnail shows the product and rings
the same product on the other map. On a phone two fingers pinch to zoom, a tap shows the product, and the maps
fit the screen's width (they were 420 px at the least, wider than a phone, and could not be zoomed there).
The pictures are reachable by neither keyboard nor screen reader: under each map a list of its products (closed
until asked for; alike ones next to each other, ``_walk``) is, and a focused one is ringed on the maps with its card.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from engine.catalog import Product, has_name
from engine.catalog_map import CatalogMap, map_titles
from engine.categories import display_name
from engine.errors import DecorLensError
from engine.files import write_atomic
from engine.imageio import load_image
from engine.lookalike import sku_shown
from engine.shoppable_assets import escape as _e

THUMB_SIDE = 64  # px: sharp at the default zoom, a few KB each (2,000 products ≈ 6 MB)
SIZE = 1000  # SVG units of a map's square
TILE = 14  # a thumbnail's side in SVG units at the default zoom
MARGIN = 20
HILBERT_SIDE = 1 << 10  # cells a side of the grid the list's order walks (``_walk``): finer than any map's points
# How to move about the maps, in the words of the device the page is read on (the style shows one): a phone's
# shopper read "Scroll to zoom" and "hover", and could not zoom at all
HINT = ('<span class="by-pointer">Scroll to zoom, drag to pan, double-click to see all; hover a picture for the '
        'product.</span><span class="by-touch">Pinch to zoom, drag to pan, double-tap to see all; tap a picture for '
        "the product.</span>")

STYLE = """
:root{--ink:#1c1c1e;--muted:#6b6b70;--line:#e4e2dd;--bg:#f6f5f2;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{padding:24px 24px 8px}
h1{margin:0;font-size:26px;letter-spacing:-.01em}
h2{margin:0 0 8px;font-size:16px;overflow-wrap:anywhere}
.defs{position:absolute}
.hint{margin:4px 0 0;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:0;padding:8px 24px;list-style:none;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.maps{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:16px;padding:8px 24px 32px}
.by-touch{display:none}
@media (hover:none){.by-pointer{display:none}.by-touch{display:inline}}
@media (max-width:600px){header,.legend,.maps{padding-left:16px;padding-right:16px}}
.panel{background:#fff;border:1px solid var(--line);border-radius:12px;padding:12px}
.map{display:block;width:min(100%,calc(100vh - 90px));height:auto;aspect-ratio:1;margin:0 auto;cursor:grab;touch-action:none;user-select:none}
.map.dragging{cursor:grabbing}
.p rect{stroke:none}
.p.lit rect{stroke:var(--ink);stroke-width:3}
.p:hover rect{stroke:var(--ink);stroke-width:2}
.card{position:fixed;display:none;z-index:5;width:220px;background:#fff;border-radius:10px;overflow:hidden;
 pointer-events:none;box-shadow:0 10px 28px rgba(0,0,0,.22),0 1px 3px rgba(0,0,0,.12)}
.card.open{display:block}
.card img{display:block;width:100%;height:150px;object-fit:contain;padding:8px;background:#fff;
 border-bottom:1px solid var(--line)}
.card p{margin:0;padding:0 12px;overflow-wrap:anywhere}
.card .cat{padding-top:8px;font-size:12px;font-weight:600;letter-spacing:.05em;text-transform:uppercase;
 color:var(--muted)}
.card .name{font-weight:650}
.card .sku{padding-bottom:10px;font-size:13px;color:var(--muted)}
.list{margin-top:8px;font-size:14px}
.list summary{min-height:44px;padding:11px 0;cursor:pointer;font-weight:600}
.list ol{max-height:50vh;margin:0;padding:0;overflow:auto;list-style:none}
.item{display:block;width:100%;min-height:44px;padding:6px 8px;border:0;border-radius:8px;background:none;color:inherit;
 font:inherit;text-align:left;cursor:pointer;overflow-wrap:anywhere}
.item:hover,.item:focus-visible{background:var(--bg)}
.item:focus-visible{outline:2px solid var(--ink)}
.item small{display:block;color:var(--muted);font-size:12px}
"""

SCRIPT = """
(function () {
  "use strict";
  var card = document.querySelector(".card"), cardImage = card.querySelector("img");
  var texts = {cat: card.querySelector(".cat"), name: card.querySelector(".name"), sku: card.querySelector(".sku")};
  /* The card replaces the browser's own tooltips, which stay for a page opened without script. */
  [].forEach.call(document.querySelectorAll(".p title"), function (title) { title.remove(); });
  function show(point, event) {
    var symbol = document.getElementById("t" + point.getAttribute("data-id"));
    var image = symbol && symbol.querySelector("image");
    cardImage.style.display = image ? "block" : "none";
    if (image) { cardImage.src = image.getAttribute("href"); }
    texts.cat.textContent = point.getAttribute("data-cat");
    texts.name.textContent = point.getAttribute("data-name");
    texts.sku.textContent = point.getAttribute("data-sku");
    card.classList.add("open");
    var x = event.clientX + 16, y = event.clientY + 16, w = card.offsetWidth, h = card.offsetHeight;
    if (x + w > window.innerWidth - 8) { x = event.clientX - 16 - w; }
    if (y + h > window.innerHeight - 8) { y = window.innerHeight - 8 - h; }
    card.style.left = Math.max(8, x) + "px";
    card.style.top = Math.max(8, y) + "px";
  }
  function light(id, on) {
    [].forEach.call(document.querySelectorAll('.p[data-id="' + id + '"]'), function (p) {
      p.classList.toggle("lit", on);
    });
  }
  /* A product of a map's list, focused by keyboard or screen reader, is ringed on the maps and its card shown by its
     point (or at the screen's edge, where the point is off it). */
  [].forEach.call(document.querySelectorAll(".panel"), function (panel) {
    function point(item) { return panel.querySelector('.p[data-id="' + item.getAttribute("data-id") + '"]'); }
    panel.addEventListener("focusin", function (event) {
      var item = event.target.closest(".item"), p = item && point(item), r;
      if (!p) { return; }
      r = p.getBoundingClientRect();
      show(p, {clientX: r.right - 8, clientY: r.bottom - 8});
      light(item.getAttribute("data-id"), true);
    });
    panel.addEventListener("focusout", function (event) {
      var item = event.target.closest(".item");
      if (item) { card.classList.remove("open"); light(item.getAttribute("data-id"), false); }
    });
  });
  [].forEach.call(document.querySelectorAll(".map"), function (svg) {
    var full = svg.viewBox.baseVal, box = {x: full.x, y: full.y, w: full.width, h: full.height};
    var home = {x: box.x, y: box.y, w: box.w, h: box.h}, drag = null, fingers = {}, pinch = null;
    function apply() { svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].join(" ")); }
    function toMap(event) {
      var r = svg.getBoundingClientRect();
      return {x: box.x + (event.clientX - r.left) / r.width * box.w, y: box.y + (event.clientY - r.top) / r.height * box.h};
    }
    /* The view f times as wide, the map point `at` staying where it is on the screen. */
    function zoom(at, f) {
      f = Math.min(Math.max(f, 0.02 * home.w / box.w), 1.5 * home.w / box.w);
      box.x = at.x - (at.x - box.x) * f; box.y = at.y - (at.y - box.y) * f; box.w *= f; box.h *= f;
      apply();
    }
    svg.addEventListener("wheel", function (event) {
      event.preventDefault();
      zoom(toMap(event), Math.pow(1.0015, event.deltaY));
    }, {passive: false});
    /* A phone has no wheel: two fingers zoom (pinch) and pan, as a map app's do; one finger drags. */
    function down() { return Object.keys(fingers).map(function (id) { return fingers[id]; }); }
    function twoFingers() {
      var f = down();
      return {gap: Math.hypot(f[0].clientX - f[1].clientX, f[0].clientY - f[1].clientY),
              mid: {clientX: (f[0].clientX + f[1].clientX) / 2, clientY: (f[0].clientY + f[1].clientY) / 2}};
    }
    function grab(event) { drag = {x: event.clientX, y: event.clientY, bx: box.x, by: box.y}; }
    svg.addEventListener("pointerdown", function (event) {
      fingers[event.pointerId] = {clientX: event.clientX, clientY: event.clientY};
      svg.setPointerCapture(event.pointerId);
      svg.classList.add("dragging");
      if (down().length === 2) { drag = null; pinch = twoFingers(); } else if (!pinch) { grab(event); }
    });
    svg.addEventListener("pointermove", function (event) {
      if (!fingers[event.pointerId]) { return; }
      fingers[event.pointerId] = {clientX: event.clientX, clientY: event.clientY};
      var r = svg.getBoundingClientRect(), now;
      if (pinch && down().length >= 2) {
        now = twoFingers();
        box.x -= (now.mid.clientX - pinch.mid.clientX) / r.width * box.w;
        box.y -= (now.mid.clientY - pinch.mid.clientY) / r.height * box.h;
        zoom(toMap(now.mid), now.gap > 0 ? pinch.gap / now.gap : 1);
        pinch = now;
      } else if (drag) {
        box.x = drag.bx - (event.clientX - drag.x) / r.width * box.w;
        box.y = drag.by - (event.clientY - drag.y) / r.height * box.h;
        apply();
      }
    });
    function stop(event) {
      delete fingers[event.pointerId];
      var left = down();
      pinch = null;
      drag = null;
      if (left.length === 1) { grab(left[0]); } else if (!left.length) { svg.classList.remove("dragging"); }
    }
    svg.addEventListener("pointerup", stop);
    svg.addEventListener("pointercancel", stop);
    svg.addEventListener("dblclick", function () { box = {x: home.x, y: home.y, w: home.w, h: home.h}; apply(); });
    svg.addEventListener("mouseover", function (event) {
      var point = event.target.closest && event.target.closest(".p");
      if (point) { show(point, event); light(point.getAttribute("data-id"), true); }
    });
    svg.addEventListener("mouseout", function (event) {
      var point = event.target.closest && event.target.closest(".p");
      if (point) { card.classList.remove("open"); light(point.getAttribute("data-id"), false); }
    });
  });
})();
"""


def _hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy() -> str:
    """Only this page's script and style run (by hash); images only from data URIs; nothing is fetched."""
    return (
        f"default-src 'none'; script-src 'sha256-{_hash(SCRIPT)}'; style-src 'sha256-{_hash(STYLE)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def write_map_page(
    out: Path,
    maps: Sequence[CatalogMap],
    products: Mapping[int, Product],
    colour: Callable[[str], str],
    category_names: Mapping[str, str] | None = None,
    alike: Collection[str] = (),
) -> Path:
    """``out`` as one HTML file showing each map side by side; ``colour`` gives a category's "#rrggbb"; the SKUs of
    ``alike`` (they read as another of the catalog's: ``Pipeline.alike_among``) are shown marked."""
    shown = sorted({int(pid) for m in maps for pid in m.ids if int(pid) in products})
    thumbs = _thumbnails([products[pid] for pid in shown])
    write_atomic(out, render(maps, products, thumbs, colour, category_names or {}, alike))
    return out


def render(
    maps: Sequence[CatalogMap],
    products: Mapping[int, Product],
    thumbs: Mapping[int, str],
    colour: Callable[[str], str],
    names: Mapping[str, str],
    alike: Collection[str] = (),
) -> str:
    """The whole page; every catalog value passes ``_e`` on its way in."""
    counts: dict[str, int] = {}
    for pid in {int(p) for m in maps for p in m.ids if int(p) in products}:
        counts[products[pid].category] = counts.get(products[pid].category, 0) + 1
    title = f"{sum(counts.values()):,} products"
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(content_security_policy())}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>Catalog map · {_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>Catalog map · {_e(title)}</h1><p class=\"hint\">Products the embedder finds alike lie "
        f"close together. {HINT}</p></header>\n"
        + _legend(counts, colour, names)
        + _symbols(thumbs)
        + '<main class="maps">\n'
        + "\n".join(_panel(m, title, products, thumbs, colour, names, alike)
                    for m, title in zip(maps, map_titles(maps)))
        + "\n</main>\n"
        '<div class="card" aria-hidden="true"><img alt=""><p class="cat"></p><p class="name"></p>'
        '<p class="sku"></p></div>\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _legend(counts: Mapping[str, int], colour: Callable[[str], str], names: Mapping[str, str]) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], display_name(kv[0], names)))
    return '<ul class="legend">' + "".join(
        f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="3" '
        f'fill="{_e(_hex(colour(category)))}"/></svg>{_e(display_name(category, names))} ({count})</li>'
        for category, count in items
    ) + "</ul>\n"


def _symbols(thumbs: Mapping[int, str]) -> str:
    """Each thumbnail once; the maps draw them with ``<use>``."""
    return '<svg class="defs" width="0" height="0" aria-hidden="true"><defs>' + "".join(
        f'<symbol id="t{pid}" viewBox="0 0 1 1"><image href="{_e(uri)}" width="1" height="1"/></symbol>'
        for pid, uri in sorted(thumbs.items())
    ) + "</defs></svg>\n"


def _panel(
    result: CatalogMap, heading: str, products: Mapping[int, Product], thumbs: Mapping[int, str],
    colour: Callable[[str], str], names: Mapping[str, str], alike: Collection[str],
) -> str:
    """A map and its list of products, each SKU as a page shows it (``sku_shown``): its invisible characters marked,
    and where it reads as another of the catalog's (``alike``) the characters drawn alike, "⟨U+0410⟩BC-1"."""
    points, items, where = [], [], []
    for pid, (x, y) in zip(result.ids.tolist(), result.xy.tolist()):
        product = products.get(pid)
        if product is None:
            continue
        px, py = MARGIN + x * (SIZE - 2 * MARGIN), MARGIN + y * (SIZE - 2 * MARGIN)
        category = display_name(product.category, names)
        title = product.name if has_name(product.name, product.sku) else category
        sku = sku_shown(product.sku, product.sku in alike)
        fill = _e(_hex(colour(product.category)))
        half = TILE / 2
        inner = (f'<use href="#t{pid}" x="{-half + 1:g}" y="{-half + 1:g}" width="{TILE - 2:g}" height="{TILE - 2:g}"/>'
                 if pid in thumbs else "")
        points.append(
            f'<g class="p" data-id="{pid}" data-name="{_e(title)}" data-sku="{_e(sku)}" '
            f'data-cat="{_e(category)}" transform="translate({px:.1f} {py:.1f})">'
            f'<rect x="{-half:g}" y="{-half:g}" width="{TILE:g}" height="{TILE:g}" rx="2" fill="{fill}"/>{inner}'
            f"<title>{_e(title)} · {_e(sku)} · {_e(category)}</title></g>"
        )
        items.append(f'<li><button type="button" class="item" data-id="{pid}">{_e(title)}'
                     f"<small>{_e(sku)} · {_e(category)}</small></button></li>")
        where.append((x, y))
    label = f"Catalog map by {heading}, {len(points):,} products"
    return (
        f'<section class="panel"><h2 title="{_e(_hover(result))}">{_e(heading)}</h2>'
        f'<svg class="map" viewBox="0 0 {SIZE} {SIZE}" role="img" aria-label="{_e(label)}">'
        + "".join(points) + "</svg>"
        f'<details class="list"><summary>The {len(items):,} products, alike ones next to each other</summary><ol>'
        + "".join(items[n] for n in _walk(np.array(where).reshape(-1, 2)))
        + "</ol></details></section>"
    )


def _walk(xy: np.ndarray) -> list[int]:
    """The points' order for a map's list: along a Hilbert curve over the map, which passes every cell of a fine
    grid once, each next to the one before, so products the embedder finds alike (close on the map) mostly follow
    one another.

    The map's pictures are reachable by neither keyboard nor screen reader (thousands of tab stops would be no
    better); its list is, and in this order it says what the map shows. A walk to the nearest point not yet listed
    did so too, but in time growing with the square of the products (0.46 s for 2,000, hours for 200,000); the
    curve's order is a sort."""
    if not len(xy):
        return []
    span = np.ptp(xy, axis=0)
    cells = np.round((xy - xy.min(axis=0)) / np.where(span > 0, span, 1) * (HILBERT_SIDE - 1)).astype(np.int64)
    return np.argsort(_hilbert_index(cells[:, 0], cells[:, 1]), kind="stable").tolist()


def _hilbert_index(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each cell's place along the Hilbert curve over a ``HILBERT_SIDE`` square grid (the classic xy → d
    conversion, for every cell at once)."""
    place = np.zeros_like(x)
    side = HILBERT_SIDE // 2
    while side:
        rx, ry = (x & side) > 0, (y & side) > 0
        place += side * side * ((3 * rx) ^ ry)
        flip = ~ry & rx
        x, y = np.where(flip, HILBERT_SIDE - 1 - x, x), np.where(flip, HILBERT_SIDE - 1 - y, y)
        x, y = np.where(ry, x, y), np.where(ry, y, x)
        side //= 2
    return place


def _hover(result: CatalogMap) -> str:
    """A map heading's hover text: the embedder by ``model_label`` (the heading itself may be its key, where two
    maps' labels read the same), with its vectors' key as `catalog stats` lists them."""
    return f"{result.title}, vectors {result.embedder}" if result.title else result.embedder


def _thumbnails(products: Sequence[Product]) -> dict[int, str]:
    """Product id → a small JPEG data URI, re-encoded from the catalog picture (none when unreadable)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        uris = list(pool.map(_thumbnail, (p.image_path for p in products)))
    return {p.id: uri for p, uri in zip(products, uris) if uri}


def _thumbnail(path: str) -> str:
    try:
        pixels = load_image(path, THUMB_SIDE)
    except DecorLensError:
        return ""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=75, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _hex(value: str) -> str:
    """Only "#rrggbb" reaches an attribute: a colour from elsewhere is checked, not trusted."""
    text = value.strip()
    if len(text) == 7 and text[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in text[1:]):
        return text
    return "#888888"
