"""The "shoppable image": a scene photo with hotspots on its products and a list of product cards, as HTML.

A merchandiser puts the output folder on a web server as it is, so the page is written as hostile input
would attack it: product names, prices and URLs come from feeds and bundles. Every text and attribute is
escaped, a URL becomes a link only when ``engine.links.safe_link`` allows it, and pictures are re-encoded
copies inside the output folder (a catalog path that is not an image never reaches the page). The page
needs nothing from the network: its style and script are inline, its script pinned by a CSP hash.

Below the photo's own products, *Complete the look* shows products that go with them: those most often
best-matched in the other tagged photos that hold them (``engine.scene_memory``, the compatibility signal
of products shown together in rooms), as the same cards, none of them already on the page.

A page is written from the catalog as it is now (``in_catalog``): a product removed since the photo was
tagged is not offered, even one the merchandiser confirmed; its tag shows its best match still in the
catalog, or is left off when none is.

How sure a card is, in words a shopper reads: a product the merchandiser confirmed for a tag is *the*
product of that spot, not a guess, so its card says "In this photo" (and a page of nothing else is headed so);
a shopper who buys it gets what the photo shows. An unconfirmed tag shows its best match as the engine rated
it, in the words the app's screens use (``engine.results.MATCH_WORDS``): an *Exact*, *Likely the same* or *Similar*
badge, so a shopper tells the very product from one probably the same and from one merely alike. A word that
holds for every card is said once, in the heading ("Similar products"), rather than on each card.

No Qt here: the app's batch and export, and ``decorlens tag --html``, write the same pages.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image

from engine.batch import CONFIRMED, BatchReport, Tagged, fit_stem, tag_scenes, write_resume
from engine.catalog import Catalog, Product, has_name
from engine.categories import display_name
from engine.errors import DecorLensError
from engine.files import sha256_of, write_atomic
from engine.imageio import load_image
from engine.importer import Progress
from engine.links import safe_link
from engine.lookalike import sku_shown
from engine.pipeline import Pipeline
from engine.results import MATCH_WORDS
from engine.scene_memory import goes_with_any
from engine.shoppable_assets import (
    CARD_GAP,
    CARD_HEIGHT,
    COLUMN_GAP,
    HEADING_HEIGHT,
    HINT_HEIGHT,
    LAYOUT_WIDTH,
    NO_JS_DOT,
    NO_JS_FRAMES,
    NO_JS_WIDE_DOT,
    PHONE_PHOTO,
    SCRIPT,
    STYLE,
    content_security_policy,
    escape_url,
)
from engine.shoppable_assets import escape as _e

IMAGES = "images"
PRODUCTS = "products"
PHOTO_MAX_SIDE = 2048  # sharp on a retina laptop, a few hundred KB; the original may be 50 Mpx
THUMB_MAX_SIDE = 480  # thumbnails show at up to 240 CSS px
COMPLETE_MAX = 6  # products under "Complete the look": enough to choose from, few enough to read
COUNTER = re.compile(r"\(?[A-Za-z]?\d{1,3}\)?")  # a file name's last word that only counts: s4, v2, 2, (1)
# Words a device or program names a picture with, the rest digits: the app's pasted-20261207-102149-072386.png, a
# screenshot's "Screenshot 2026-12-07 at 10.21.49", a camera's IMG_2041, a browser's "download (3)". A page headed
# "Pasted" or "Screenshot 2026 12 07 at" said nothing to a shopper: such a name gives no title (``NO_TITLE``)
MACHINE_WORDS = frozenset({"pasted", "screenshot", "screen", "shot", "img", "dsc", "dscn", "pxl", "download",
                           "image", "at", "am", "pm"})
NO_TITLE = "Shop the look"  # the heading of a page whose photo's name holds no words, said once (no eyebrow)
EYEBROW = f'<p class="eyebrow">{NO_TITLE}</p>'  # above every other heading
# The desktop layout (engine.shoppable_assets, 1024 px wide and more): six columns of a LAYOUT_WIDTH row,
# COLUMN_GAP apart; the photo takes some, its first cards the rest (in one column, or two beside a tall photo).
SHAPES = (("wide", 1.2, 4, 1), ("square", 0.85, 3, 1), ("tall", 0.0, 2, 2))  # from width/height; columns
# A card's words by its kind: the merchandiser's, then the engine's three as the app words them
BADGES = {CONFIRMED: "In this photo", **MATCH_WORDS}
HEADINGS = {CONFIRMED: "In this photo", "exact": "Exact matches", "likely": "Likely the same products",
            "similar": "Similar products"}  # when every card is of that kind
NOTHING_SOLD = "Nothing in this photo is sold here"  # a page of a photo with no product of the shop
NOTHING_SOLD_NOTE = "This photo has no product dots: no product of this shop was found in it."
# Under the photo, in the words of the device it is read on (the style shows one of the first two): a phone has no
# hover, and its shopper read "Hover or tap"
HINT = ('<span class="by-pointer">Hover over or tap</span><span class="by-touch">Tap</span> a dot to see the '
        "product.")


@dataclass
class Card:
    """One product on the page, however many tags matched it."""

    sku: str
    name: str
    category: str
    price: str
    url: str | None
    picture: str  # page-relative, URL-quoted; "" when the catalog's picture is missing or not an image
    match: str  # the engine's kind ("exact", "likely", "similar"), or "confirmed" by the merchandiser
    tags: list[int] = field(default_factory=list)
    badge: str = ""  # BADGES of its kind, unless the heading says it for every card
    alike: bool = False  # the SKU reads as another of the catalog's: its article number marks it (``sku_shown``)


@dataclass
class Spot:
    number: int
    x: float  # percent of the photo's width
    y: float
    card: Card


def write_page(
    scene: dict[str, Any],
    photo: Path,
    out_dir: Path,
    stem: str,
    category_names: Mapping[str, str] | None = None,
    complete: Sequence[dict[str, Any]] = (),
    title: str | None = None,
) -> Path:
    """``<out>/<stem>.html`` for a scene in search-JSON form (corrections JSON works too), with its images.

    ``complete``: products in match form (``complete_the_look``) for the *Complete the look* cards.
    ``title``: the page's heading as the merchandiser words it; without one (or a blank one) it is made from
    the file name (``readable_title``), which is the best a name can give but no more than that.
    A stem too long for a file name with its suffix is cut (``fit_stem``), as the batch cuts it.
    """
    stem = fit_stem(stem)
    images = out_dir / IMAGES
    (images / PRODUCTS).mkdir(parents=True, exist_ok=True)
    photo_file = f"{stem}.jpg"
    _write_jpeg(photo, images / photo_file, PHOTO_MAX_SIDE, quality=85)
    names = category_names or {}
    spots, cards = _spots_and_cards(scene, images / PRODUCTS, names)
    on_page = {c.sku for c in cards}
    more = [_card(m, images / PRODUCTS, names) for m in complete if str(m.get("sku", "")) not in on_page]
    page = out_dir / f"{stem}.html"
    photo_src = f"{IMAGES}/{quote(os.fsencode(photo_file))}"  # the name's own bytes, UTF-8 or not
    heading = " ".join((title or "").split()) or readable_title(stem)
    write_atomic(page, render(heading, photo_src, scene, spots, cards, more))
    return page


@dataclass(frozen=True)
class ScenePage:
    """A page written for a scene, and how many of its confirmed products the catalog no longer had."""

    path: Path
    gone: int = 0  # confirmed products left off the page: removed from the catalog since they were confirmed
    complete: int = 0  # the products offered under Complete the look

    def summary(self) -> str:
        """The page's path, and in the same line the confirmed products left off, if any."""
        if not self.gone:
            return str(self.path)
        products = f"{self.gone} confirmed product{'s' if self.gone != 1 else ''}"
        return f"{self.path} (left off: {products} no longer in the catalog)"


def write_scene_page(
    pipeline: Pipeline, scene: dict[str, Any], photo: Path, out_dir: Path, stem: str, title: str | None = None
) -> ScenePage:
    """``write_page`` of the scene as the catalog holds it now (``in_catalog``, its SKUs that read as another
    marked: ``with_alike``), with the pipeline's category names and its scene memory's Complete the look."""
    scene, gone = in_catalog(pipeline.catalog, scene)
    complete = complete_the_look(pipeline.catalog, scene)
    scene, complete = with_alike(pipeline, scene, complete)
    return ScenePage(write_page(scene, photo, out_dir, stem, pipeline.categories.names, complete, title), gone,
                     len(complete))


def with_alike(
    pipeline: Pipeline, scene: dict[str, Any], complete: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The scene and the Complete the look products, each product's ``alike`` as the catalog now says
    (``Pipeline.alike_among``: its SKU reads as another, so its article number is marked): a photo tagged before
    "ABC-1" came showed its "АBC-1" as "ABC-1", and ``engine.results.Match.alike`` is only as new as the search."""
    alike = pipeline.alike_among(_skus(scene).union(_sku(m) for m in complete) - {""})

    def marked(match: Any) -> Any:
        return {**match, "alike": sku in alike} if (sku := _sku(match)) else match

    objects = [{**obj, "matches": [marked(m) for m in _matches(obj)], "confirmed": marked(obj.get("confirmed"))}
               for obj in scene["objects"]]
    return {**scene, "objects": objects}, [marked(m) for m in complete]


def in_catalog(catalog: Catalog, scene: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The scene without the products the catalog no longer has, and how many confirmed ones that left out.

    A page is sold to shoppers: a product removed since the search (``decorlens catalog remove``, the
    Catalog tab) is not offered, confirmed or not. A tag whose confirmed product went shows its best match
    still in the catalog, as an unconfirmed tag does; one with none left is not on the page. The scene may
    come from a file: an entry that is not a product (no dict) counts as gone.
    """
    present = {sku: product for sku in _skus(scene) - {""} if (product := catalog.get_by_sku(sku)) is not None}
    objects, gone = [], set()
    for obj in scene["objects"]:
        confirmed = obj.get("confirmed")
        if confirmed and _sku(confirmed) not in present:
            gone.add(_sku(confirmed))
            confirmed = None
        matches = [_as_sold(m, present[_sku(m)]) for m in _matches(obj) if _sku(m) in present]
        if confirmed:
            confirmed = _as_sold(confirmed, present[_sku(confirmed)])
        objects.append({**obj, "matches": matches, "confirmed": confirmed, "confirmed_sku": _sku(confirmed)})
    return {**scene, "objects": objects}, len(gone)


def _as_sold(match: dict[str, Any], product: Product) -> dict[str, Any]:
    """``match`` with what a shopper sees of it (name, category, price, link, picture) as the catalog holds it now.

    The scene may come from a file (a photo's saved edits, a batch's JSON): as given, its ``image_path`` put any
    local picture it named on a page made to be published (re-encoded into ``images/``), and its name, price and
    link were shown as the file had them, whatever the catalog now sells under that SKU."""
    shown = {"name": product.name, "category": product.category, "price": product.price, "url": product.url,
             "image_path": product.image_path}
    return {**match, **shown}


def _skus(scene: dict[str, Any]) -> set[str]:
    """The SKUs of a scene's matches and confirmed products ("" for an entry that is not a product)."""
    return {_sku(m) for obj in scene["objects"] for m in [*_matches(obj), obj.get("confirmed")]}


def _matches(obj: dict[str, Any]) -> list[Any]:
    matches = obj.get("matches")
    return matches if isinstance(matches, list) else []


def _sku(match: object) -> str:
    """A product's SKU in a scene's JSON; "" for what is not a product."""
    return str(match.get("sku") or "") if isinstance(match, dict) else ""


def complete_the_look(catalog: Catalog, scene: dict[str, Any], limit: int = COMPLETE_MAX) -> list[dict[str, Any]]:
    """The products that go with the scene's tagged ones, in match form, as the catalog holds them now.

    None is on the scene's page; products remembered but no longer in the catalog are left out.
    """
    tagged = sorted({str(best["sku"]) for obj in scene["objects"] if (best := _best(obj)) is not None})
    found = []
    for sku, _photos in goes_with_any(catalog, tagged, limit * 2):
        product = catalog.get_by_sku(sku)
        if product is not None:
            found.append({"sku": product.sku, "name": product.name, "category": product.category,
                          "price": product.price, "url": product.url, "image_path": product.image_path})
    return found[:limit]


PAGE = "page"  # what export_batch writes beside each photo's JSON, by suffix (tag_scenes' ``outputs``): ".html"


def export_batch(
    pipeline: Pipeline,
    scenes: Sequence[Path],
    out_dir: Path,
    top_k: int | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    on_photo: Callable[[Path, Tagged | tuple[Path, str]], None] | None = None,
    titles: Mapping[str, str] | None = None,
) -> BatchReport:
    """``decorlens tag`` output plus a page per scene, written as each scene is done (``on_photo``: ``tag_scenes``'s).

    ``titles``: the headings the merchandiser gave photos, by path (the app's Export Shoppable Page keeps them): a
    batch page of such a photo is headed so, as its exported page is; it was headed with the file name's words,
    so the folder's pages undid the titles typed one by one. They are part of what a run again checks is unchanged
    (``outputs``): a title changed since is written, not kept."""
    titled = batch_titles(scenes, titles or {})
    short: list[tuple[Path, str, dict[str, Any], int]] = []  # pages written with fewer than COMPLETE_MAX to go with

    def page(photo: Path, stem: str, scene: dict[str, Any]) -> None:
        written = write_scene_page(pipeline, scene, photo, out_dir, stem, titled.get(photo.resolve()))
        if written.complete < COMPLETE_MAX:
            short.append((photo, stem, scene, written.complete))

    given = hashlib.sha256(repr(sorted(map(str, titled.items()))).encode()).hexdigest()[:16] if titled else ""
    report = tag_scenes(pipeline, scenes, out_dir, top_k, progress, cancelled, on_result=page,
                        outputs={".html": f"{PAGE} titled {given}" if given else PAGE}, on_photo=on_photo)
    if _complete_early_pages(pipeline, out_dir, report, short, titled, cancelled):
        write_resume(out_dir, report)
    return report


def _complete_early_pages(pipeline: Pipeline, out_dir: Path, report: BatchReport,
                          short: Sequence[tuple[Path, str, dict[str, Any], int]], titled: Mapping[Path, str],
                          cancelled: Callable[[], bool]) -> bool:
    """The batch's pages written with a short *Complete the look* written again once every photo of the batch is
    remembered, where it now offers more; whether any was. Complete the look comes from the other tagged photos:
    a folder's first page, written before the rest were tagged, offered none (its Export Shoppable Page six), the
    next few fewer than the rest. Pages with the whole six stay: they are full, the few rewritten are quick. Cancelled,
    the pages not yet looked at stay as written."""
    rewritten = False
    for photo, stem, scene, offered in short:
        if cancelled():
            break
        if len(complete_the_look(pipeline.catalog, in_catalog(pipeline.catalog, scene)[0])) <= offered:
            continue
        try:
            write_scene_page(pipeline, scene, photo, out_dir, stem, titled.get(photo.resolve()))
        except DecorLensError:  # its photo gone since: the page written first stays
            continue
        made = report.made.get(str(photo))
        if made is not None:  # a run again keeps the page as now written
            made["files"][".html"] = sha256_of(out_dir / f"{stem}.html")
        rewritten = True
    return rewritten


def batch_titles(scenes: Sequence[Path], titles: Mapping[str, str]) -> dict[Path, str]:
    """The titles given to ``scenes`` (``export_batch``), each photo by its file as resolved: the app keeps a title
    under the path the photo was opened by, which a batch of its folder may name otherwise (a folder reached by a
    link, a Photos field typed relative)."""
    given = {Path(path).resolve(): title for path, title in titles.items() if title.strip()}
    return {file: given[file] for file in (scene.resolve() for scene in scenes) if file in given} if given else {}


def readable_title(stem: str) -> str:
    """A heading from a file stem, when the caller has none: separators become spaces, long camera/ID digit
    runs go, and so do counters at the end ("s4", "v2", "2", "(1)": a size, version or copy of the file, and
    the batch's "-2" for a second photo of the same name), which mean nothing to a shopper. Nothing else is
    guessed: the words of the name stay, in their order, a brand or site prefix included.

    Bytes of a file name that are not UTF-8 (lone surrogates from the OS) show as U+FFFD (�): they cannot
    be written to a UTF-8 page, and stopped the whole batch at the first such photo. A name a Mac wrote (NFD:
    "o" + U+0308 for "ö") is written as typed (NFC): the heading copied into a shop's search, or compared by a
    script, did not match "Söder" typed (a browser's own find does).
    """
    stem = unicodedata.normalize("NFC", os.fsencode(stem).decode("utf-8", "replace"))
    words = [w for w in re.split(r"[_\-\s.]+", stem) if w]
    if words and words[0].lower() in MACHINE_WORDS and all(
            w.lower() in MACHINE_WORDS or w.isdigit() or COUNTER.fullmatch(w) for w in words):
        return NO_TITLE
    kept = [w for w in words if not (w.isdigit() and len(w) >= 6)] or words
    while len(kept) > 1 and COUNTER.fullmatch(kept[-1]):
        kept.pop()
    text = " ".join(kept)
    return text[:1].upper() + text[1:] if text else NO_TITLE


def _spots_and_cards(
    scene: dict[str, Any], folder: Path, names: Mapping[str, str]
) -> tuple[list[Spot], list[Card]]:
    cards: dict[str, Card] = {}
    spots: list[Spot] = []
    for obj in scene["objects"]:
        best = _best(obj)
        if best is None:
            continue
        number = int(obj.get("number", len(spots) + 1))
        sku = str(best.get("sku", ""))
        card = cards.get(sku)
        if card is None:
            card = cards[sku] = _card(best, folder, names)
        card.tags.append(number)
        if obj.get("confirmed"):
            card.match = CONFIRMED  # the product in the photo, whatever the engine thought of it
        x = 100.0 * float(obj["tag"][0]) / float(scene["width"])
        y = 100.0 * float(obj["tag"][1]) / float(scene["height"])
        spots.append(Spot(number, min(max(x, 0.0), 100.0), min(max(y, 0.0), 100.0), card))
    said_once = _said_once(list(cards.values()))
    for card in cards.values():
        card.badge = "" if said_once else BADGES.get(card.match, "")
    return spots, list(cards.values())


def _said_once(cards: Sequence[Card]) -> str | None:
    """The kind every card shares, when it has a heading of its own (``HEADINGS``): the heading says it once."""
    kinds = {c.match for c in cards}
    return kinds.pop() if len(kinds) == 1 and next(iter(kinds)) in HEADINGS else None


def _best(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The product a tag stands for on the page: the one confirmed, else its best match."""
    return obj.get("confirmed") or (obj.get("matches") or [None])[0]


def _card(match: dict[str, Any], folder: Path, names: Mapping[str, str]) -> Card:
    sku = str(match.get("sku", ""))
    category = display_name(str(match.get("category", "")), names)
    name = str(match.get("name") or "").strip()
    return Card(
        sku=sku,
        name=name if has_name(name, sku) else category,
        category=category,
        price=str(match.get("price") or "").strip(),
        url=safe_link(str(match.get("url") or "")),
        picture=_thumbnail(match, sku, folder),
        match=str(match.get("match", "")),
        alike=match.get("alike") is True,
    )


def _thumbnail(match: dict[str, Any], sku: str, folder: Path) -> str:
    """A re-encoded copy of the product's picture; a path that is not an image gives none.

    A copy already in ``folder`` is reused (a batch shows one product on many pages) only while the picture is the
    same file, size and time: named by the SKU alone, a product whose photo a feed or a bundle had since replaced
    (a wrong photo corrected) kept its old one on every page written again into the same folder.
    """
    source = str(match.get("image_path") or "")
    if not source:
        return ""
    try:
        seen = os.stat(source)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return ""
    version = f"{sku}\0{source}\0{seen.st_size}\0{seen.st_mtime_ns}"
    digest = hashlib.sha256(version.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    target = folder / f"{_file_safe(sku)[:40]}-{digest}.jpg"
    try:
        if not target.exists():
            _write_jpeg(Path(source), target, THUMB_MAX_SIDE, quality=82)
    except DecorLensError:
        return ""
    return f"{IMAGES}/{PRODUCTS}/{quote(target.name)}"


def _write_jpeg(source: Path, target: Path, max_side: int, quality: int) -> None:
    """Decode (bounded, upright) and re-encode: no EXIF location, no foreign bytes on the page."""
    buffer = io.BytesIO()
    Image.fromarray(load_image(source, max_side)).save(buffer, "JPEG", quality=quality, optimize=True)
    write_atomic(target, buffer.getvalue())


def _file_safe(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in text) or "product"


# --- HTML ------------------------------------------------------------------------------------------


def render(
    title: str, photo_src: str, scene: dict[str, Any], spots: list[Spot], cards: list[Card], more: Sequence[Card] = ()
) -> str:
    """The whole page; every value from the scene passes ``_e`` (``escape``) or ``safe_link`` on its way in.

    The photo's cards are two lists, those beside the photo and the rest below it (``_layout``); on a
    phone they run on as one. One wrapper (``.shoppable``) holds all a shop's CMS pastes, so that without script
    the page is laid out by its own width (``engine.shoppable_assets._by_width``).
    """
    shape, fit = _layout(float(scene["width"]), float(scene["height"]), len(cards))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(content_security_policy())}">\n'
        '<meta name="referrer" content="strict-origin-when-cross-origin">\n'
        f"<title>{_e(title if title == NO_TITLE else f'{NO_TITLE} · {title}')}</title>\n<style>{STYLE}</style>\n"
        '</head>\n<body>\n<div class="shoppable">\n'
        f'<header class="top">{"" if title == NO_TITLE else EYEBROW}<h1>{_e(title)}</h1></header>\n'
        f'<main class="layout {shape}">\n<section class="scene" aria-label="Photo with product hotspots">\n'
        f'<div class="frame" style="--ratio:{_ratio(*_size(scene)):.4f}">'
        f'<img class="photo" src="{_e(photo_src)}" alt="{_e(title)}" '
        f'width="{int(scene["width"])}" height="{int(scene["height"])}">\n'
        + "\n".join(_spot(s, d) for s, d in zip(spots, _nudges(spots, *_size(scene))))
        + "\n</div>\n"
        + _products(cards, fit)
        + _photo_cards(cards[fit:], fit + 1, below=True)
        + _complete(more)
        + "</main>\n</div>\n"
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _products(cards: Sequence[Card], fit: int) -> str:
    """The hint under the photo and the products' section, with the first ``fit`` cards beside the photo.

    A photo with no product of the shop (none found, or all removed from the catalog since) says so plainly:
    its page read "Hover or tap a dot to see the product." over a photo without a dot, and "Shop the products
    0 products"."""
    if not cards:
        return (
            "</section>\n"
            '<section class="products" aria-labelledby="products-title">\n'
            f'<h2 id="products-title">{NOTHING_SOLD}</h2>\n<p class="note">{NOTHING_SOLD_NOTE}</p>\n</section>\n'
        )
    count = f"{len(cards)} product{'s' if len(cards) != 1 else ''}"
    heading = HEADINGS.get(_said_once(cards) or "", "Shop the products")
    return (
        f'<p class="hint">{HINT}</p>\n</section>\n'
        '<section class="products" aria-labelledby="products-title">\n'
        f'<h2 id="products-title">{heading} <span class="count">{_e(count)}</span></h2>\n'
        + _photo_cards(cards[:fit], 1)
        + "</section>\n"
    )


def _layout(width: float, height: float, cards: int) -> tuple[str, int]:
    """The photo's shape (a class of the layout: ``SHAPES``) and how many of its cards go beside it.

    On the desktop (1024 px and wider) the photo and its first cards share the top of the page and the rest run
    below both, three to a row: a list of any length beside the photo left a large empty area under it (the
    cards of a busy room ran twice its height). The cards beside it are as many as fit in the photo's height
    at the layout's full width (``PAGE_WIDTH`` and wider); narrower, they reach a little further than the photo.
    """
    ratio = width / height if width > 0 and height > 0 else 1.0
    shape, columns, beside = next((name, cols, side) for name, least, cols, side in SHAPES if ratio >= least)
    photo = (columns * (LAYOUT_WIDTH + COLUMN_GAP) / 6 - COLUMN_GAP) / ratio + HINT_HEIGHT
    rows = max(1, int((photo - HEADING_HEIGHT + CARD_GAP) // (CARD_HEIGHT + CARD_GAP)))
    return shape, min(cards, rows * beside)


def _photo_cards(cards: Sequence[Card], first: int, below: bool = False) -> str:
    """A list of the photo's cards, numbered on from ``first``; none when there are none. The list ``below``
    the photo, outside the products' section, is named by its heading too."""
    if not cards:
        return ""
    opening = '<ul class="cards photo-cards below" aria-labelledby="products-title">' if below else (
        '<ul class="cards photo-cards">')
    return (
        f"{opening}\n"
        + "\n".join(_list_card(c, f"product-{n}") for n, c in enumerate(cards, first))
        + "\n</ul>\n"
    )


def _size(scene: dict[str, Any]) -> tuple[float, float]:
    return float(scene["width"]), float(scene["height"])


def _ratio(width: float, height: float) -> float:
    """The photo's width / height (1 for a scene without a size), which fits it to a short screen's height."""
    return width / height if width > 0 and height > 0 else 1.0


def _nudges(spots: Sequence[Spot], width: float, height: float) -> list[str]:
    """Each pin's offsets from its object without script, as its style's custom properties (``--dx<n>``, ``--dy<n>``
    in px for the ``NO_JS_FRAMES[n]`` px wide photo, left out where 0), so no two pins overlap at any width.

    The page's script spreads the pins at whatever size the photo is shown; with script off a phone's pins sat
    on their objects, piled on one another (a busy room's 13, 9, 10 and 6 as one blur). This is the same
    spreading done for each of those widths and its dots; the style moves the pins of a photo shown at least that
    wide by that width's offsets (see ``engine.shoppable_assets``).
    """
    offsets: list[list[str]] = [[] for _ in spots]
    for n, frame in enumerate(NO_JS_FRAMES):
        dot = NO_JS_DOT if frame < PHONE_PHOTO else NO_JS_WIDE_DOT
        for mine, (dx, dy) in zip(offsets, _spread(spots, frame, frame / _ratio(width, height), dot)):
            mine += [f"--d{axis}{n}:{d:.2f}px" for axis, d in (("x", dx), ("y", dy)) if round(d, 2)]
    return [";".join(mine) for mine in offsets]


def _spread(spots: Sequence[Spot], w: float, h: float, dot: float) -> list[tuple[float, float]]:
    """Each pin's offset in px from its object on a w x h px photo, as the script spreads ``dot`` px dots."""
    half = dot / 2
    points = [[min(max(s.x / 100 * w, half), w - half), min(max(s.y / 100 * h, half), h - half)] for s in spots]
    for _ in range(400):
        if not _separate(points, dot, w, h):
            break
    return [(p[0] - s.x / 100 * w, p[1] - s.y / 100 * h) for p, s in zip(points, spots)]


def _separate(points: list[list[float]], size: float, w: float, h: float) -> bool:
    """One round of the script's ``separate``: each two overlapping boxes of side ``size`` pushed apart along the
    axis they overlap least on, kept inside the w x h photo. True when any moved."""
    moved = False
    for i, a in enumerate(points):
        for b in points[i + 1:]:
            overlap = [size - abs(b[k] - a[k]) for k in (0, 1)]
            if min(overlap) <= 0:
                continue
            moved = True
            k = 0 if overlap[0] <= overlap[1] else 1
            push = (-1 if b[k] - a[k] < 0 else 1) * (overlap[k] + 1) / 2
            high = (w, h)[k] - size / 2
            a[k] = min(max(a[k] - push, size / 2), high)
            b[k] = min(max(b[k] + push, size / 2), high)
    return moved


def _spot(spot: Spot, nudges: str) -> str:
    card = spot.card
    label = ", ".join(p for p in (f"Tag {spot.number}: {card.name}", card.category, card.price) if p)
    tip = f"tip-{spot.number}"
    return (
        f'<div class="spot" style="left:{spot.x:.2f}%;top:{spot.y:.2f}%;--x:{spot.x:.2f}{";" if nudges else ""}'
        f'{nudges}">'
        f'<button type="button" class="pin" aria-label="{_e(label)}" aria-expanded="false" '
        f'aria-controls="{tip}"><span aria-hidden="true">{spot.number}</span></button>'
        f'<div class="tip" id="{tip}" role="group" aria-label="{_e(card.name)}">'
        f'{_picture(card, "tip-thumb")}<div class="tip-body">{_details(card)}</div></div></div>'
    )


def _complete(cards: Sequence[Card]) -> str:
    """The *Complete the look* list: products seen with these in other rooms (none when none is known)."""
    if not cards:
        return ""
    count = f"{len(cards)} product{'s' if len(cards) != 1 else ''}"
    return (
        '<section class="complete" aria-labelledby="complete-title">\n'
        f'<h2 id="complete-title">Complete the look <span class="count">{_e(count)}</span></h2>\n'
        '<p class="note">Often seen with these products in other rooms.</p>\n<ul class="cards">\n'
        + "\n".join(_list_card(c, f"more-{n}") for n, c in enumerate(cards, 1))
        + "\n</ul>\n</section>\n"
    )


def _list_card(card: Card, element_id: str) -> str:
    """A product card; one of the photo's own lists the tags it stands for."""
    numbers = " ".join(map(str, card.tags))
    chips = "".join(f'<span class="chip" aria-hidden="true">{t}</span>' for t in card.tags)
    tags = (f'<p class="tags"><span class="sr">Tag {_e(numbers)} in the photo</span>{chips}</p>'
            if card.tags else "")
    return (
        f'<li class="card" id="{element_id}" data-sku="{_e(card.sku)}" data-tags="{_e(numbers)}">'
        f'{_picture(card, "thumb")}<div class="info">{_details(card, heading=True, link=False)}'
        f"{_actions(_button(card) + tags)}</div></li>"
    )


def _actions(content: str) -> str:
    return f'<div class="actions">{content}</div>' if content else ""


def _picture(card: Card, css_class: str) -> str:
    if not card.picture:
        return f'<div class="{css_class} empty" aria-hidden="true"></div>'
    return f'<div class="{css_class}"><img src="{_e(card.picture)}" alt=""></div>'


def _details(card: Card, heading: bool = False, link: bool = True) -> str:
    """Category, name, article number, price (and the button): what a hover card and a list card share."""
    name_tag = "h3" if heading else "p"
    badge = f' <span class="badge {_e(card.match)}">{_e(card.badge)}</span>' if card.badge else ""
    category = card.category if card.name != card.category else ""  # the name fell back to it
    parts = [
        f'<p class="cat">{_e(category)}{badge}</p>' if category or badge else "",
        f'<{name_tag} class="name">{_e(card.name)}</{name_tag}>',
    ]
    if card.sku:
        parts.append(f'<p class="sku">Art. no. {_e(sku_shown(card.sku, card.alike))}</p>')
    if card.price:
        parts.append(f'<p class="price">{_e(card.price)}</p>')
    if link:
        parts.append(_button(card))
    return "".join(parts)


def _button(card: Card) -> str:
    """A "View product" button for a URL ``safe_link`` allowed; no link at all otherwise."""
    if not card.url:
        return ""
    return (
        f'<a class="button" href="{escape_url(card.url)}" target="_blank" rel="noopener noreferrer">'
        f'View product<span class="sr"> {_e(card.name)}</span></a>'
    )
