"""The shoppable page's inline style and script, and the Content-Security-Policy that pins them.

Inline because the page must work from a folder or any web server with nothing fetched from elsewhere
(no CDN, no web font). The script places a hover card beside its hotspot and flips it at the viewport's
edges (a card must never run off the page on a phone), and nudges hotspots of objects close together apart
until no two touch targets overlap (smaller ones where full-size ones would take a pin too far from its
object), at whatever size the photo is shown, drawing a thin leader line from each pin nudged off its object
back to the object's point. Without the script, CSS still shows a focused or hovered hotspot's card, under it and
held inside the photo's width (``cqw``: the card of a pin near a phone's right edge ran off the screen), and the
hotspots are spread apart as the page was written (``engine.shoppable._nudges``: a phone's pins sat piled on one
another). A photo taller than the screen (a phone held sideways) is shown as tall as the screen, its hotspots still
on their objects (they are placed in % of the photo, and the frame narrows with it: ``--ratio``, its width/height).
The layout is a single column on a phone; from 1024 px the photo takes four, three or two of six columns
(wide, square, tall photo: ``engine.shoppable._layout``), its first cards the rest, and the other cards run
below both three to a row, so no large empty area is left under the photo however many products it has.
The CSP allows only this script (by its hash), images from the page's own folder and no plugins, forms or
base URL, so even a mistake in escaping elsewhere cannot run injected script.
"""

from __future__ import annotations

import base64
import hashlib
import html
from string import Template
from urllib.parse import quote

# The sizes (CSS px) that both the style below and the Python layout (``engine.shoppable._layout``, which
# reckons how many cards fit beside the photo) depend on: the style is written from them, so the two cannot
# drift apart.
PAGE_WIDTH = 1240  # the header's and the layout's widest, padding included
PAGE_PADDING = 24  # either side of the page, beyond a phone
COLUMN_GAP = 24  # between the desktop layout's six columns
LINE_HEIGHT = 1.5  # the body's, which the hint and the headings inherit
HINT_MARGIN, HINT_FONT = 10, 14  # the hint under the photo
HEADING_FONT, HEADING_MARGIN = 20, 14  # the cards' heading and the space under it
THUMB = 96  # a list card's picture, its height when its name takes one line
CARD_PADDING, CARD_BORDER, CARD_GAP = 12, 1, 12
# What a finger taps: every hotspot and "View product" button is at least TOUCH_TARGET square (the size Apple's and
# WCAG 2.5.5's guidance give). A phone's pin is drawn smaller, PIN_PHONE, its ::before reaching out to it: its 40 px
# made a shopper's tap on a crowded photo land beside it or on its neighbour, and the 34 px buttons as well. Where a
# crowded photo on a small phone has no room for targets that big near their objects, the script makes them as big
# as there is room for (SCRIPT's spread, through the frame's --target).
TOUCH_TARGET, PIN, PIN_PHONE = 44, 32, 28
# Without script the pins are spread once, when the page is written (``engine.shoppable._nudges``), as the script
# would spread them on a photo NO_JS_FRAMES px wide (the photo of a 320, 375 and 430 px phone, then wider), its dots
# NO_JS_DOT px (NO_JS_WIDE_DOT on a photo of at least PHONE_PHOTO px, where pins are PIN): a photo shown at least that
# wide (a container query on the photo's frame) moves its pins by that width's offsets. One set of offsets, made for
# a 320 px phone, moved every pin as many px at any width: a tablet's or desktop's pin sat up to 9 px off its object,
# its neighbours long since far apart. From the width on which no two dots touch, each pin is on its object's point.
# The narrowest phone the page is made for. Without script it is also the page's width where what holds it takes
# its width from its content (a newsletter's table cell with no width, an inline block): the page's wrapper, a
# container laid out by the width it is given, has no width of its own, and was 0 px there, its photo and cards gone.
SMALLEST_PHONE = 320
PHONE_PHOTO = 600 - 2 * 16  # the photo's width on the widest phone layout (the style's max-width:600px, less sides)
NO_JS_FRAMES = (SMALLEST_PHONE - 2 * 16, 375 - 2 * 16, 430 - 2 * 16, 480, PHONE_PHOTO, 736, 960)
NO_JS_DOT, NO_JS_WIDE_DOT = PIN_PHONE + 2, PIN + 2
TIP_THUMB_SHORT = 72  # a hover card's picture on a viewport under 500 px tall: a phone held sideways

LAYOUT_WIDTH = PAGE_WIDTH - 2 * PAGE_PADDING  # the six columns and their gaps
HINT_HEIGHT = HINT_MARGIN + HINT_FONT * LINE_HEIGHT
HEADING_HEIGHT = HEADING_FONT * LINE_HEIGHT + HEADING_MARGIN
CARD_HEIGHT = THUMB + 2 * (CARD_PADDING + CARD_BORDER)  # a card of a one-line name

# The rules that change with the page's width: a tablet's narrower sides (NARROW), the desktop's six columns (WIDE).
NARROW = (
    (".top,.layout", "padding-left:16px;padding-right:16px"),
    (".top", "padding-top:24px;padding-bottom:14px"),
    (".photo", "border-radius:10px"),
)
WIDE = (
    (".layout", f"grid-template-columns:repeat(6,minmax(0,1fr));column-gap:{COLUMN_GAP}px"),
    (".scene", "grid-column:1/span 4"),
    (".products", "grid-column:5/span 2;margin-top:0"),
    (".square .scene", "grid-column:1/span 3"),
    (".square .products", "grid-column:4/span 3"),
    (".tall .scene", "grid-column:1/span 2"),
    (".tall .products", "grid-column:3/span 4"),
    (".tall .products .cards", "grid-template-columns:repeat(2,minmax(0,1fr))"),
    (".below,.complete", "grid-column:1/-1"),
    (".cards.below", "margin-top:24px"),
    (".below,.complete .cards", "grid-template-columns:repeat(3,minmax(0,1fr))"),
)


def _by_width(condition: str, rules: tuple[tuple[str, str], ...]) -> str:
    """``rules`` where the page is ``condition`` wide: with script, as the window is (a media query); without, as
    the page's wrapper is (a container query: ``.shoppable``, a container only then).

    A shop's CMS or a newsletter strips the script and pastes the page into a column narrower than the window:
    laid out by the window's width, a 480 px column in a 1280 px window took the desktop's six columns, its
    products' column 135 px wide and their names one letter a line. The script page's wrapper cannot be a
    container: a container holds its fixed-position descendants, and the script places its hover cards fixed.
    """
    def scoped(scope: str) -> str:
        return "".join(",".join(scope + one for one in selector.split(",")) + "{" + declarations + "}\n"
                       for selector, declarations in rules)

    return (f"@media ({condition}){{\n{scoped('.decorlens-js ')}}}\n"
            f"@container shoppable ({condition}){{\n{scoped('')}}}\n")


STYLE = Template("""
:root{--ink:#1c1c1e;--muted:#6b6b70;--line:#e4e2dd;--bg:#f6f5f2;--card:#fff;--accent:#1c1c1e;--r:14px;
 color-scheme:light}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
 font:16px/$line_height system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
img{display:block;max-width:100%}
html:not(.decorlens-js) .shoppable{container:shoppable/inline-size;contain-intrinsic-inline-size:${smallest_phone}px}
p,h1,h2,h3{margin:0}
.top,.layout{max-width:${page_width}px;margin:0 auto;padding-left:${page_padding}px;padding-right:${page_padding}px}
.top{padding-top:36px;padding-bottom:20px}
.eyebrow{font-size:12px;font-weight:600;letter-spacing:.1em;text-transform:uppercase;color:var(--muted)}
h1{margin:6px 0 4px;font-size:clamp(24px,3.2vw,36px);line-height:1.15;letter-spacing:-.015em;font-weight:700;
 overflow-wrap:anywhere}
html:not(.decorlens-js) h1{font-size:clamp(24px,3.2cqw,36px)}
.layout{display:grid;grid-template-columns:minmax(0,1fr);align-items:start;padding-bottom:56px}
.frame{position:relative;margin:0 auto;max-width:calc((100vh - 16px) * var(--ratio));
 max-width:calc((100svh - 16px) * var(--ratio))}
html:not(.decorlens-js) .frame{container-type:inline-size}
.photo{width:100%;height:auto;border-radius:var(--r);background:#e9e7e2}
.hint{margin-top:${hint_margin}px;font-size:${hint_font}px;color:var(--muted)}
.by-touch{display:none}
@media (hover:none){.by-pointer{display:none}.by-touch{display:inline}}
.spot{position:absolute;width:0;height:0}
.leaders{position:absolute;left:0;top:0;width:100%;height:100%;overflow:visible;pointer-events:none;
 filter:drop-shadow(0 0 1px rgba(0,0,0,.9)) drop-shadow(0 1px 2px rgba(0,0,0,.4))}
.leader line{stroke:#fff;stroke-width:1.5px;stroke-linecap:round}
.leader circle{fill:#fff}
.pin{position:absolute;left:-${pin_half}px;top:-${pin_half}px;width:${pin}px;height:${pin}px;padding:0;border:0;border-radius:50%;
 background:rgba(255,255,255,.94);color:var(--ink);font-family:inherit;font-size:13px;font-weight:700;
 line-height:${pin}px;cursor:pointer;box-shadow:0 0 0 4px rgba(255,255,255,.35),0 2px 10px rgba(0,0,0,.35);
 transition:transform .15s,background .15s;-webkit-tap-highlight-color:transparent}
.pin::before{content:"";position:absolute;inset:calc((${pin}px - var(--target, ${target}px)) / 2)}
.pin:hover,.spot.open .pin,.spot.lit .pin{background:var(--ink);color:#fff;transform:scale(1.12)}
.pin:focus-visible{outline:3px solid #fff;outline-offset:2px;box-shadow:0 0 0 6px var(--ink)}
.tip{display:none;position:absolute;left:26px;top:-20px;z-index:10;width:min(280px,calc(100vw - 16px));
 max-height:calc(100vh - 16px);background:var(--card);border-radius:var(--r);overflow:hidden auto;
 overscroll-behavior:contain;text-align:left;
 box-shadow:0 12px 32px rgba(0,0,0,.22),0 1px 3px rgba(0,0,0,.12)}
html:not(.decorlens-js) .spot:hover .tip,html:not(.decorlens-js) .spot:focus-within .tip,.spot.open .tip{display:block}
.decorlens-js .tip{position:fixed;left:0;top:0}
html:not(.decorlens-js) .spot{--nx:var(--dx0,0px);--ny:var(--dy0,0px)}
${no_js_widths}html:not(.decorlens-js) .pin{translate:var(--nx) var(--ny)}
html:not(.decorlens-js) .tip{--w:min(280px,100cqw);width:var(--w);top:calc(var(--ny) + 20px);
 left:calc(clamp(0px,var(--x) * 1cqw + var(--nx) - var(--w) / 2,100cqw - var(--w)) - var(--x) * 1cqw)}
.tip-thumb{background:#fff;border-bottom:1px solid var(--line)}
.tip-thumb img{width:100%;height:150px;object-fit:contain;padding:10px}
.tip-thumb.empty{display:none}
.tip-body{padding:12px 14px 14px}
.cat{font-size:12px;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}
.name{font-size:16px;font-weight:650;line-height:1.3;overflow-wrap:anywhere}
.sku{font-size:13px;color:var(--muted);overflow-wrap:anywhere}
.price{margin-top:4px;font-size:17px;font-weight:700;overflow-wrap:anywhere}
/* A heading, name or price from the catalog reads in its own direction: one in Hebrew or Arabic showed its words in
   left-to-right order, a Latin word in it at the wrong end ("ספה תלת מושבית İSTANBUL"), its price's currency too */
h1,.name,.price{unicode-bidi:plaintext}
.badge{display:inline-block;margin-left:6px;padding:0 7px;border-radius:999px;background:#efede8;
 color:var(--muted);font-size:11px;letter-spacing:.04em;line-height:18px}
.badge.confirmed{background:var(--ink);color:#fff}
.badge.exact{background:#dcefe2;color:#1d5e37}
.badge.likely{background:#e3e8f4;color:#2f4474}
.button{display:inline-flex;align-items:center;min-height:${target}px;margin-top:10px;padding:8px 18px;
 border-radius:999px;background:var(--accent);
 color:#fff;text-decoration:none;font-size:14px;font-weight:600;line-height:1.3}
.button:hover{background:#000}
.button:focus-visible{outline:3px solid var(--ink);outline-offset:2px}
.products h2{font-size:${heading_font}px;letter-spacing:-.01em;margin:0 0 ${heading_margin}px}
.products{margin-top:28px}
.cards.below{margin-top:12px}
.complete{margin-top:36px}
.complete h2{margin-bottom:2px}
.note{margin:0 0 14px;font-size:14px;color:var(--muted)}
.cards{list-style:none;margin:0;padding:0;display:grid;gap:${card_gap}px}
.card{display:grid;grid-template-columns:${thumb}px minmax(0,1fr);gap:14px;padding:${card_padding}px;background:var(--card);
 border:${card_border}px solid var(--line);border-radius:var(--r);transition:border-color .15s,box-shadow .15s}
.card.lit{border-color:#bdb9b0;box-shadow:0 4px 16px rgba(0,0,0,.08)}
.thumb{width:${thumb}px;height:${thumb}px;border-radius:10px;background:#fff;overflow:hidden}
.thumb img{width:100%;height:100%;object-fit:contain}
.thumb.empty{background:#efede8}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin-top:10px}
.actions .button{margin-top:0}
.tags{display:flex;gap:4px;margin-left:auto}
.count{margin-left:6px;font-size:14px;font-weight:500;letter-spacing:0;color:var(--muted)}
.chip{display:inline-block;min-width:22px;height:22px;border-radius:11px;background:#efede8;color:var(--ink);
 font-size:12px;font-weight:700;line-height:22px;text-align:center}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
${narrow}@media (max-width:600px){
 .pin{left:-${pin_phone_half}px;top:-${pin_phone_half}px;width:${pin_phone}px;height:${pin_phone}px;font-size:12px;
  line-height:${pin_phone}px}
 .pin::before{inset:calc((${pin_phone}px - var(--target, ${target}px)) / 2)}
}
@container (max-width:${phone_photo_below}px){html:not(.decorlens-js) .pin{left:-${pin_phone_half}px;top:-${pin_phone_half}px;
 width:${pin_phone}px;height:${pin_phone}px;font-size:12px;line-height:${pin_phone}px}
 html:not(.decorlens-js) .pin::before{inset:calc((${pin_phone}px - var(--target, ${target}px)) / 2)}}
@media (max-height:500px){.tip-thumb img{height:${tip_thumb_short}px;padding:6px}}
${wide}@media (prefers-reduced-motion:reduce){.pin,.card{transition:none}}
/* On paper the dots keep their discs (a browser prints no backgrounds unless told: the numbers floated on the photo),
   no "Tap a dot", and no card is cut across two pages */
@media print{.pin{-webkit-print-color-adjust:exact;print-color-adjust:exact}.hint{display:none}
 .card{break-inside:avoid}}
""").substitute(
    page_width=PAGE_WIDTH, page_padding=PAGE_PADDING, line_height=LINE_HEIGHT,
    hint_margin=HINT_MARGIN, hint_font=HINT_FONT, heading_font=HEADING_FONT, heading_margin=HEADING_MARGIN,
    thumb=THUMB, card_padding=CARD_PADDING, card_border=CARD_BORDER, card_gap=CARD_GAP, target=TOUCH_TARGET,
    tip_thumb_short=TIP_THUMB_SHORT, pin=PIN, pin_half=PIN // 2, pin_phone=PIN_PHONE, pin_phone_half=PIN_PHONE // 2,
    no_js_widths="".join(
        f"@container (min-width:{w}px){{html:not(.decorlens-js) .spot{{--nx:var(--dx{n},0px);--ny:var(--dy{n},0px)}}}}\n"
        for n, w in enumerate(NO_JS_FRAMES) if n),
    phone_photo_below=PHONE_PHOTO - 0.02, smallest_phone=SMALLEST_PHONE,
    narrow=_by_width("max-width:900px", NARROW), wide=_by_width("min-width:1024px", WIDE),
)

SCRIPT = """
(function () {
  "use strict";
  var root = document.documentElement, GAP = 10, EDGE = 8, ROUNDS = 400, FAR = 60, STEP = 4;
  var spots = [].slice.call(document.querySelectorAll(".spot")), photo = document.querySelector(".photo");
  var SVG = "http://www.w3.org/2000/svg", leaders = document.createElementNS(SVG, "svg");
  // Where each hotspot's object is, as a fraction of the photo's width and height (the markup's left/top).
  var anchors = spots.map(function (spot) {
    return [parseFloat(spot.style.left) / 100, parseFloat(spot.style.top) / 100];
  });
  // A class of the page's own: a shop's theme pasting the page may mark its <html> "js" itself (WordPress, Modernizr),
  // and with script stripped the page then took itself for scripted (hover cards fixed at the top left).
  root.classList.add("decorlens-js");
  // The nudged pins' leader lines, drawn right after the photo so every pin is drawn over them; taps pass
  // through them (CSS: pointer-events none) and screen readers skip them (the pins' labels say it all).
  leaders.setAttribute("class", "leaders");
  leaders.setAttribute("aria-hidden", "true");
  if (photo) { photo.insertAdjacentElement("afterend", leaders); }

  function clamp(value, low, high) { return Math.max(low, Math.min(value, high)); }
  // One round: every two boxes of side `size` around `points` that overlap are pushed apart, each by half
  // the overlap (and half a pixel) along the axis they overlap least on, kept inside the w x h photo.
  // True when any moved.
  function separate(points, size, w, h) {
    var moved = false, i, j, a, b, dx, dy, ox, oy, push;
    for (i = 0; i < points.length; i++) {
      for (j = i + 1; j < points.length; j++) {
        a = points[i]; b = points[j]; dx = b[0] - a[0]; dy = b[1] - a[1];
        ox = size - Math.abs(dx); oy = size - Math.abs(dy);
        if (ox <= 0 || oy <= 0) { continue; }
        moved = true;
        if (ox <= oy) {
          push = (dx < 0 ? -1 : 1) * (ox + 1) / 2;
          a[0] = clamp(a[0] - push, size / 2, w - size / 2); b[0] = clamp(b[0] + push, size / 2, w - size / 2);
        } else {
          push = (dy < 0 ? -1 : 1) * (oy + 1) / 2;
          a[1] = clamp(a[1] - push, size / 2, h - size / 2); b[1] = clamp(b[1] + push, size / 2, h - size / 2);
        }
      }
    }
    return moved;
  }
  // Hotspots of objects close together would overlap where the photo is small (a phone): nudge them apart,
  // as little as it takes, so that no two touch targets (the pin's ::before) overlap and every tap has one
  // meaning. Recomputed from the anchors whenever the photo's size changes. Where targets that big would push
  // a pin more than FAR px from its object (a crowded photo on a small phone: it no longer reads as that
  // object's), the largest smaller ones that do not, STEP px at a time; where even that has no room, at least
  // the dots themselves are kept apart.
  function targets(pin) {
    var sizes = [], size;
    for (size = parseFloat(getComputedStyle(pin, "::before").width); size > pin.offsetWidth; size -= STEP) {
      sizes.push(size);
    }
    return sizes.concat([pin.offsetWidth]);
  }
  function near(points, w, h) {
    return points.every(function (p, i) {
      return Math.abs(p[0] - anchors[i][0] * w) <= FAR && Math.abs(p[1] - anchors[i][1] * h) <= FAR;
    });
  }
  // The targets' size chosen is the one the pins' ::before draw (the frame's --target), so a tap between two pins
  // reaches the one whose target it is in.
  function spread() {
    var w = photo ? photo.offsetWidth : 0, h = photo ? photo.offsetHeight : 0, frame, pin, points, chosen;
    if (!spots.length || !w || !h) { return; }
    frame = photo.parentNode;
    frame.style.removeProperty("--target");  // the full size, to measure
    pin = spots[0].querySelector(".pin");
    targets(pin).some(function (size, n, sizes) {
      chosen = size;
      points = anchors.map(function (a) {
        return [clamp(a[0] * w, size / 2, w - size / 2), clamp(a[1] * h, size / 2, h - size / 2)];
      });
      for (var round = 0; round < ROUNDS; round++) {
        if (!separate(points, size, w, h)) { return near(points, w, h) || n === sizes.length - 1; }
      }
      return false;
    });
    frame.style.setProperty("--target", chosen + "px");
    leaders.textContent = "";
    spots.forEach(function (spot, i) {
      var x = anchors[i][0] * w, y = anchors[i][1] * h, dx = points[i][0] - x, dy = points[i][1] - y;
      spot.querySelector(".pin").style.translate = dx + "px " + dy + "px";
      if (Math.sqrt(dx * dx + dy * dy) > pin.offsetWidth / 2) { lead(x, y, points[i][0], points[i][1]); }
    });
  }
  // A pin nudged so far that its dot no longer covers its object's point (x, y) would not say which object
  // it belongs to (a phone's bottles on a table): a line runs from the point, marked by a small dot, to the
  // pin's centre at (px, py). Pins moved less cover their point and get none.
  function lead(x, y, px, py) {
    var leader = document.createElementNS(SVG, "g"), line = document.createElementNS(SVG, "line");
    var dot = document.createElementNS(SVG, "circle");
    leader.setAttribute("class", "leader");
    [["x1", x], ["y1", y], ["x2", px], ["y2", py]].forEach(function (end) { line.setAttribute(end[0], end[1]); });
    dot.setAttribute("cx", x); dot.setAttribute("cy", y); dot.setAttribute("r", 2.5);
    leader.appendChild(line); leader.appendChild(dot);
    leaders.appendChild(leader);
  }

  function place(spot) {
    var pin = spot.querySelector(".pin").getBoundingClientRect(), tip = spot.querySelector(".tip");
    var vw = root.clientWidth, vh = root.clientHeight, w = tip.offsetWidth, h = tip.offsetHeight, x, y;
    if (pin.right + GAP + w <= vw - EDGE) { x = pin.right + GAP; }
    else if (pin.left - GAP - w >= EDGE) { x = pin.left - GAP - w; }
    if (x !== undefined) {
      y = pin.top + pin.height / 2 - h / 2;
    } else {
      x = pin.left + pin.width / 2 - w / 2;
      y = pin.bottom + GAP + h <= vh - EDGE ? pin.bottom + GAP : pin.top - GAP - h;
    }
    tip.style.left = Math.round(Math.max(EDGE, Math.min(x, vw - EDGE - w))) + "px";
    tip.style.top = Math.round(Math.max(EDGE, Math.min(y, vh - EDGE - h))) + "px";
  }
  function open(spot) {
    spots.forEach(function (other) { if (other !== spot) { close(other); } });
    clearTimeout(spot.closing);
    spot.classList.add("open");
    spot.querySelector(".pin").setAttribute("aria-expanded", "true");
    place(spot);
  }
  function close(spot) {
    clearTimeout(spot.closing);
    spot.classList.remove("open");
    spot.querySelector(".pin").setAttribute("aria-expanded", "false");
  }
  spots.forEach(function (spot) {
    var pin = spot.querySelector(".pin"), toggle = false;
    spot.addEventListener("mouseenter", function () { open(spot); });
    spot.addEventListener("mouseleave", function () {
      if (!spot.contains(document.activeElement)) {
        spot.closing = setTimeout(function () { close(spot); }, 200);  // time to reach the card
      }
    });
    spot.addEventListener("focusin", function () { open(spot); });
    spot.addEventListener("focusout", function (event) {
      if (!spot.contains(event.relatedTarget)) { close(spot); }
    });
    // A tap on an open card's hotspot closes it; a mouse click never does (hovering opened it already).
    pin.addEventListener("pointerdown", function (event) {
      toggle = event.pointerType !== "mouse" && spot.classList.contains("open");
    });
    pin.addEventListener("click", function () {
      if (toggle) { close(spot); } else { open(spot); }
      toggle = false;
    });
    spot.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { pin.focus(); close(spot); }
    });
  });
  document.addEventListener("click", function (event) {
    spots.forEach(function (spot) { if (!spot.contains(event.target)) { close(spot); } });
  });
  function replace() {
    spots.forEach(function (spot) { if (spot.classList.contains("open")) { place(spot); } });
  }
  window.addEventListener("scroll", replace, {passive: true});
  window.addEventListener("resize", replace);
  // The photo's size is known once it is laid out (on the desktop, once it has loaded) and changes with
  // the window: the hotspots are spread (and their leaders drawn anew) then, before the browser paints them.
  if (photo && window.ResizeObserver) {
    new ResizeObserver(function () { spread(); replace(); }).observe(photo);
  }
  [].forEach.call(document.querySelectorAll(".card"), function (card) {
    var tags = (card.getAttribute("data-tags") || "").split(" ");
    function light(on) {
      card.classList.toggle("lit", on);
      tags.forEach(function (n) {
        var tip = document.getElementById("tip-" + n);
        if (tip) { tip.parentNode.classList.toggle("lit", on); }
      });
    }
    card.addEventListener("mouseenter", function () { light(true); });
    card.addEventListener("mouseleave", function () { light(false); });
  });
})();
"""


# Characters that change or hide what a page shows around them: C0 and C1 controls (but tab, newline and CR,
# which HTML reads as spaces) and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
HIDDEN = frozenset([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
                    *range(0x2066, 0x206A)])
_DROPPED = dict.fromkeys(HIDDEN)
_ENCODED = {c: quote(chr(c)) for c in HIDDEN}


def escape(value: object) -> str:
    """Catalog or user text as HTML text or a quoted attribute: escaped, without the characters of ``HIDDEN``.

    Escaping alone stops markup, not spoofing: a name or category with U+202E (right-to-left override) showed
    the rest of its line reversed (the map legend's "Lamp (12)" as "Lamp (21)", a title's words backwards), and
    a NUL or terminal escape showed as boxes. The letters of Hebrew or Arabic names need none of these to show.
    """
    return html.escape(str(value).translate(_DROPPED), quote=True)


def escape_url(url: str) -> str:
    """A link ``engine.links.safe_link`` allowed, as an href: ``escape``d, with the characters of ``HIDDEN``
    percent-encoded (as a browser would send them) rather than dropped, so the link still goes where it said."""
    return escape(url.translate(_ENCODED))


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy() -> str:
    """Only our own script runs; images come from the page's folder; nothing else loads.

    Styles stay 'unsafe-inline': the hotspots' positions are style attributes, and CSS cannot run script.
    """
    return (
        f"default-src 'none'; script-src 'sha256-{_sha256(SCRIPT)}'; "
        "style-src 'unsafe-inline'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; object-src 'none'"
    )
