"""The shoppable page and summary.csv as an attacker's feed meets them, read back as a browser would.

The hostile feed is imported for real (CSV importer, real product photos, real embedder), a real scene is
searched, and the batch is written by the CLI (``decorlens tag --html``) and by the app's ``export_batch``.
The pages are parsed with ``html.parser`` (which decodes entities the way a browser does) rather than
searched as text, so an escaped string cannot pass for a link or a link hide behind an entity.
"""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from ikea_feed import write_feed
from PIL import Image

from decorlens.main import main
from engine.batch import FORMULA_STARTS, SUMMARY, tag_scenes, unique_stems
from engine.catalog import Product
from engine.catalog_map import CatalogMap
from engine.categories import display_name
from engine.files import write_atomic
from engine.links import safe_link
from engine.map_page import SCRIPT as MAP_SCRIPT
from engine.map_page import write_map_page
from engine.shoppable import IMAGES, export_batch, readable_title, write_page, write_scene_page
from engine.shoppable_assets import HIDDEN, SCRIPT

SCENE = "a-cosy-space-for-coffee-and-conversation"
CATEGORIES = [
    "chair",
    "table",
    "lamp",
    "rug",
    "frame_art",
    "plant_pot",
    "vase_candle",
    "storage_furniture",
    "armchair",
    "sofa",
    "cushion_throw",
    "shelf",
]
GOOD_URL = "https://shop.example/p/1?a=1&b=2"
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
    "FILE://localhost/etc/shadow",
    "smb://attacker.example/share",
    "//evil.example/x",
    "https:evil",
    "\x01javascript:alert(1)",
    'https://shop.example/q?"><script>alert(1)</script>',
    "http://[::1",
    GOOD_URL,
]
HOSTILE_TEXT = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "</title><svg onload=alert(1)>",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\tTAB=1+1",
    "\r=1+1",
    "Lamp;=HYPERLINK(\"http://evil.example\",\"click\")",  # a formula where a ';'-splitting spreadsheet cuts
    "Lamp\t\t=HYPERLINK(\"http://evil.example\",\"click\")",  # and a tab-splitting one
]


class Page(HTMLParser):
    """Every tag with its decoded attributes, the text, and the scripts' bodies."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def attrs(self, name: str) -> list[str]:
        return [a[name] for _, a in self.tags if name in a]

    def with_class(self, css: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if css in a.get("class", "").split()]


def hostile_feed(ikea: Path, ikea_products: list[dict[str, str]], feed: Path) -> dict[str, str]:
    """Real product photos of the scene's categories, with hostile names, SKUs, prices and URLs: SKU → URL.

    One product per category keeps a good URL, so the page has links to check, not only missing ones.
    """
    chosen = [r for c in CATEGORIES for r in [r for r in ikea_products if r["category"] == c][:3]]
    urls: dict[str, str] = {}
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image", "url", "price"])
        for i, row in enumerate(chosen):
            text = HOSTILE_TEXT[i % len(HOSTILE_TEXT)]
            sku = f"{text}{i}" if i % 4 == 0 else row["product_id"]  # SKUs name files and cells too
            price = HOSTILE_TEXT[(i + 3) % len(HOSTILE_TEXT)] if i % 3 == 0 else "£1,299.00"
            urls[sku] = GOOD_URL if i % 3 == 1 else HOSTILE_URLS[i % len(HOSTILE_URLS)]
            writer.writerow([sku, text, row["category"], str(ikea / row["image"]), urls[sku], price])
    return urls


@pytest.fixture
def hostile_export(
    fresh_pipeline, ikea: Path, ikea_products, scene_path, tmp_path: Path
) -> tuple[Path, Path, dict[str, str]]:
    """(CLI output folder, app batch output folder, feed URLs) for one real scene over the hostile catalog,
    after two other scenes were tagged (their products are its Complete the look)."""
    urls = hostile_feed(ikea, ikea_products, tmp_path / "feed.csv")
    report = fresh_pipeline.import_catalog(tmp_path / "feed.csv")
    assert report.added == 3 * len(CATEGORIES), report.summary()
    scene = scene_path(SCENE)
    others = [scene_path("take-a-comfy-seat-on-the-sofa"), scene_path("a-bed-that-folds-away")]
    assert not tag_scenes(fresh_pipeline, others, tmp_path / "others").failed
    cli_out, app_out = tmp_path / "cli", tmp_path / "app"
    args = [
        "-q",
        "--data-dir",
        str(fresh_pipeline.data_dir),
        "tag",
        str(scene),
        "--out",
        str(cli_out),
        "--html",
    ]
    assert main(args) == 0
    batch = export_batch(fresh_pipeline, [scene], app_out)
    assert batch.done == [scene] and not batch.failed
    return cli_out, app_out, urls


def test_hostile_feed_gives_no_link_but_http_and_no_script_but_ours(hostile_export):
    out, _, urls = hostile_export
    (page_file,) = out.glob("*.html")
    page = Page(page_file.read_text(encoding="utf-8"))
    shown = [card["data-sku"] for card in page.with_class("card")]
    assert sum(safe_link(urls[sku]) is None for sku in shown) >= 3  # hostile products made it to the page
    assert [a for _, a in page.tags if a.get("id", "").startswith("more-")]  # to Complete the look too

    hrefs = page.attrs("href")
    assert set(hrefs) == {safe_link(urls[sku]) for sku in shown} - {None}  # good links stay, the rest go
    for href in hrefs:
        assert urlsplit(href.translate(str.maketrans("", "", "\t\n\r")).strip()).scheme in ("http", "https")
    assert page.scripts == [SCRIPT]
    assert not [(t, k) for t, a in page.tags for k in a if k.startswith("on")]  # no event handler attributes
    assert not {t for t, _ in page.tags} & {
        "iframe",
        "object",
        "embed",
        "form",
        "base",
        "link",
        "svg",
        "frame",
    }
    text = "".join(page.text)
    assert any(t.strip() in text for t in HOSTILE_TEXT[:4])  # markup in names is shown as text
    for src in page.attrs("src"):  # pictures: relative files inside the output folder, nothing remote
        assert not urlsplit(src).scheme and not src.startswith(("/", "\\"))
        target = (out / unquote(src)).resolve()
        assert target.is_relative_to(out.resolve()) and target.is_file()
        assert Image.open(target).format == "JPEG"
    for style in page.attrs("style"):
        assert "url(" not in style and "expression" not in style


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_summary_csv_neutralises_formula_cells(hostile_export):
    out = hostile_export[0]
    text = (out / SUMMARY).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS) and not _number(c)]
    for separator in ";\t":  # the cells a spreadsheet splitting on semicolons or tabs sees
        pieces = [piece for c in cells for piece in c.split(separator)[1:]]
        assert pieces and not [p for p in pieces if p.startswith(FORMULA_STARTS)], separator
    names = {row[13] for row in rows[1:]}
    assert names & {"'" + t for t in HOSTILE_TEXT if t.startswith(FORMULA_STARTS)}  # kept, as text
    assert all(float(row[4]) > 0 for row in rows[1:])  # numbers we computed stay numbers


def test_cli_writes_the_same_pages_as_the_app_batch(hostile_export):
    cli_out, app_out, _ = hostile_export

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    assert files(cli_out) == files(app_out)
    pages = list(cli_out.glob("*.html"))
    assert pages and all(p.read_bytes() == (app_out / p.name).read_bytes() for p in pages)


# --- the page writer on small, exact scenes ----------------------------------------------------------


def _match(ikea: Path, category: str, sku: str, name: str, **extra: str) -> dict:
    image = str(ikea / "products" / category / f"{sku}.jpg")
    return {
        "product_id": 1,
        "sku": sku,
        "name": name,
        "category": category,
        "score": 0.8,
        "match": "exact",
        "image_path": image,
        "url": "",
        "price": "",
        **extra,
    }


def _scene(photo: Path, *matches: dict) -> dict:
    width, height = Image.open(photo).size
    objects = [
        {
            "category": m["category"],
            "label": m["category"],
            "score": 0.9,
            "box": [0, 0, 10, 10],
            "tag": [width * (i + 1) / (len(matches) + 1), height / 2],
            "matches": [m],
        }
        for i, m in enumerate(matches)
    ]
    return {"image": str(photo), "width": width, "height": height, "objects": objects}


def test_one_card_per_product_listing_its_tags(ikea: Path, scene_path, tmp_path: Path):
    photo = scene_path(SCENE)
    sofa = _match(ikea, "sofa", "903.007.25", "FRIHETEN", url="https://shop.example/friheten", price="£650")
    lamp = _match(ikea, "lamp", "801.462.49", "IKEA PS MASKROS")
    page = Page(write_page(_scene(photo, sofa, lamp, dict(sofa)), photo, tmp_path, "room").read_text())
    assert len(page.with_class("pin")) == 3
    cards = page.with_class("card")
    assert [(c["data-sku"], c["data-tags"]) for c in cards] == [("903.007.25", "1 3"), ("801.462.49", "2")]
    assert page.attrs("href") == ["https://shop.example/friheten"] * 3  # in two hover cards and one list card
    assert len(list((tmp_path / "images" / "products").iterdir())) == 2


def test_names_people_read_and_the_sku_once(ikea: Path, scene_path, tmp_path: Path):
    photo = scene_path(SCENE)
    folder_import = _match(ikea, "storage_furniture", "000.584.87", "000.584.87")  # named by its SKU
    named = _match(ikea, "lamp", "801.462.49", "IKEA PS MASKROS")
    text = write_page(_scene(photo, folder_import, named), photo, tmp_path, "room").read_text()
    card = Page(text.split('<ul class="cards photo-cards">')[1].split("</li>")[0])
    assert [t for t in card.text if t.strip()][:2] == ["Storage furniture", "Art. no. 000.584.87"]
    assert "".join(card.text).count("000.584.87") == 1
    assert "storage_furniture" not in "".join(Page(text).text)
    assert (
        display_name("storage_furniture", {"storage_furniture": "Cabinets & storage"})
        == "Cabinets & storage"
    )


def test_the_title_is_the_callers_or_the_file_names_words_without_its_counters(ikea: Path, scene_path, tmp_path: Path):
    """A real IKEA scene's page was headed "Ikea an urban oasis in 4 metres square s4": its file name's size
    suffix is no word for a shopper. A caller's title heads the page (its <title>, <h1> and the photo's alt);
    without one the file name's words do, without the counters at the end (a size, a version, a copy, the
    batch's "-2"), the rest kept as they are: a number inside the name, a year and the brand prefix stay."""
    photo = scene_path("an-urban-oasis-in-4-metres-square")
    empty = {"width": 4, "height": 3, "objects": []}
    named = write_page(empty, photo, tmp_path / "a", photo.stem).read_text()
    assert "<h1>Ikea an urban oasis in 4 metres square</h1>" in named
    given = write_page(empty, photo, tmp_path / "b", photo.stem, title="  An urban oasis in\n4 m² ").read_text()
    assert "<title>Shop the look · An urban oasis in 4 m²</title>" in given and "<h1>An urban oasis in 4 m²</h1>" in given
    assert Page(given).with_class("photo")[0]["alt"] == "An urban oasis in 4 m²"
    assert "<h1>Ikea an urban oasis in 4 metres square</h1>" in write_page(empty, photo, tmp_path / "c", photo.stem,
                                                                            title=" ").read_text()
    for scene in sorted((ikea / "scenes").glob("*.jpg")):  # ikea-<words>__<id>-s4: every word, nothing else
        words = [w for w in re.split(r"[-.]", scene.stem.split("__")[0]) if w]
        assert readable_title(scene.stem) == " ".join([words[0].capitalize(), *words[1:]])
    counted = {"room-2": "Room", "Kitchen v2": "Kitchen", "sofa (1)": "Sofa", "Loft 2024": "Loft 2024", "7": "7"}
    assert {stem: readable_title(stem) for stem in counted} == counted
    # a name a device or program gave says nothing: a page headed "Pasted" or "Screenshot 2026 12 07 at"
    machine = ["pasted-20261207-102149-072386", "Screenshot 2026-12-07 at 10.21.49", "IMG_2041", "download (3)",
               "Screen Shot 2026-12-07 at 10.21.49 AM", "PXL_20261207_102149123"]
    assert {readable_title(stem) for stem in machine} == {"Shop the look"}
    assert readable_title("Screenshot of Anna's loft") == "Screenshot of Anna's loft"
    pasted = write_page(empty, photo, tmp_path / "d", machine[0]).read_text()
    assert pasted.count("Shop the look") == 3 and "<title>Shop the look</title>" in pasted  # not twice over the photo


def test_a_catalog_path_that_is_no_image_never_reaches_the_page(ikea: Path, scene_path, tmp_path: Path):
    """A bundle or feed pointing a product at /etc/passwd: no copy, no thumbnail, the page still writes."""
    photo = scene_path(SCENE)
    leak = _match(ikea, "lamp", "801.462.49", "MASKROS", image_path="/etc/passwd")
    gone = _match(ikea, "rug", "002.394.12", "Rug", image_path=str(tmp_path / "missing.jpg"))
    page = Page(write_page(_scene(photo, leak, gone), photo, tmp_path / "out", "room").read_text())
    assert page.attrs("src") == ["images/room.jpg"]
    assert list((tmp_path / "out" / "images" / "products").iterdir()) == []
    assert len(page.with_class("empty")) == 4


def test_the_photo_is_a_bounded_reencoded_copy_without_its_metadata(scene_path, tmp_path: Path):
    photo = tmp_path / "phone photo #1?.jpg"
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo: where the photo was taken
    Image.open(scene_path(SCENE)).resize((4000, 3000)).save(photo, exif=exif.tobytes())
    page = Page(
        write_page(
            {"width": 4000, "height": 3000, "objects": []}, photo, tmp_path / "out", photo.stem
        ).read_text()
    )
    (src,) = page.attrs("src")
    assert src == "images/phone%20photo%20%231%3F.jpg"  # quoted: "#" and "?" would cut a raw path short
    copy = Image.open(tmp_path / "out" / unquote(src))
    assert max(copy.size) == 2048 and not copy.getexif()
    assert page.with_class("photo")[0]["width"] == "4000"
    assert safe_link(src) is None  # a relative file, never a link target of its own


def test_similar_is_said_once_when_every_match_is_similar(ikea: Path, scene_path, tmp_path: Path):
    photo = scene_path(SCENE)
    sofa = _match(ikea, "sofa", "903.007.25", "FRIHETEN")
    lamp = _match(ikea, "lamp", "801.462.49", "IKEA PS MASKROS", match="similar")
    mixed = Page(write_page(_scene(photo, sofa, lamp), photo, tmp_path / "a", "room").read_text())
    assert "Shop the products" in "".join(mixed.text) and len(mixed.with_class("badge")) == 4  # list and hover cards
    sofa["match"] = "similar"
    similar = Page(write_page(_scene(photo, sofa, lamp), photo, tmp_path / "b", "room").read_text())
    assert "Similar products" in "".join(similar.text) and not similar.with_class("badge")
    scene = _scene(photo, sofa, lamp)
    for obj in scene["objects"]:  # the merchandiser confirmed both similar matches as the products
        obj.update(confirmed=obj["matches"][0], confirmed_sku=obj["matches"][0]["sku"])
    confirmed = Page(write_page(scene, photo, tmp_path / "c", "room").read_text())
    assert "In this photo" in "".join(confirmed.text) and not confirmed.with_class("badge")
    assert "Similar" not in "".join(confirmed.text)


def _badges(text: str) -> dict[str, str]:
    """Each list card's SKU → the words of its badge ("" for none)."""
    badges = {}
    for card in text.split('<li class="card"')[1:]:
        badge = re.search(r'<span class="badge [^"]*">([^<]*)</span>', card.split("</li>")[0])
        badges[html.unescape(re.search(r'data-sku="([^"]*)"', card)[1])] = html.unescape(badge[1]) if badge else ""
    return badges


def test_exact_likely_and_similar_are_told_apart_in_the_apps_words(ikea: Path, scene_path, tmp_path: Path):
    """A "likely" match (probably the same product) showed as a plain card, as an "exact" one did: a shopper
    could not tell the very product from a probable one. Each card now carries its kind in the words the app's
    screens use (Exact, Likely the same, Similar); a page of one kind says it once, in its heading."""
    from app.labels import match_word

    photo = scene_path(SCENE)
    sofa = _match(ikea, "sofa", "903.007.25", "FRIHETEN")
    lamp = _match(ikea, "lamp", "801.462.49", "IKEA PS MASKROS", match="likely")
    rug = _match(ikea, "rug", "002.394.12", "STOCKHOLM", match="similar")
    text = write_page(_scene(photo, sofa, lamp, rug), photo, tmp_path / "a", "room").read_text()
    words = {m["sku"]: match_word(m["match"]) for m in (sofa, lamp, rug)}
    assert _badges(text) == words == {"903.007.25": "Exact", "801.462.49": "Likely the same", "002.394.12": "Similar"}
    assert len(set(Page(text).attrs("class")) & {"badge exact", "badge likely", "badge similar"}) == 3  # styled apart
    sofa["match"] = rug["match"] = "likely"
    likely = write_page(_scene(photo, sofa, lamp, rug), photo, tmp_path / "b", "room").read_text()
    assert "Likely the same products" in "".join(Page(likely).text) and not Page(likely).with_class("badge")


# Text that spoofs rather than injects: each reverses or hides what follows it on the line, or shows as boxes.
SPOOFS = ["Sofa \u202eegral\u202c 3-seat", "Lamp\u202e", "\u2066Rug\u2069", "Chair\x00\x07\x1b[31m red\x85",
          "\u202dShelf\u202a"]


def _hostile_products(ikea: Path, ikea_products: list[dict[str, str]]) -> list[dict]:
    """Real IKEA products with hostile names, SKUs, categories, prices and URLs, in match form."""
    rows = [r for c in ("sofa", "lamp", "rug", "chair", "shelf") for r in [r for r in ikea_products
                                                                          if r["category"] == c][:2]]
    texts = [*HOSTILE_TEXT[:4], "</script><script>alert(1)</script>", *SPOOFS]
    urls = ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "https://shop.example/p/\u202e1",
            'https://shop.example/q?"><script>alert(1)</script>', "https://shop.example/\x85"]
    kinds = ["exact", "likely", "similar"]
    return [{"product_id": i + 1, "sku": texts[(i + 3) % len(texts)] + str(i), "name": texts[i % len(texts)],
             "category": row["category"] + ("\u202e" if i % 2 else ""), "score": 0.8, "match": kinds[i % 3],
             "image_path": str(ikea / row["image"]), "url": urls[i % len(urls)], "price": f"£1\u202e{i}9"}
            for i, row in enumerate(rows)]


OWN_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "p", "h1", "h2", "h3", "main", "section",
            "div", "img", "button", "span", "ul", "li", "a", "script", "svg", "rect", "defs", "symbol", "image", "g",
            "use", "details", "summary", "ol", "small"}


def _hidden(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if ord(c) in HIDDEN})


def test_no_hostile_text_injects_or_reorders_the_shoppable_page_or_the_map(ikea: Path, ikea_products, scene_path,
                                                                          tmp_path: Path):
    """Names, SKUs, categories, prices, links and the title, each hostile, on both pages a merchandiser
    publishes. Escaping kept markup out, but a U+202E (right-to-left override) in a category reversed the rest
    of its line (the map legend's product count, a title's words) and a NUL or escape showed as boxes: none of
    these characters reaches either page now, links keep them percent-encoded, and markup stays text."""
    products = _hostile_products(ikea, ikea_products)
    photo = scene_path(SCENE)
    title = 'Room \u202eniatnuom</title><script>alert(1)</script>" onload="x'
    shoppable = write_page(_scene(photo, *products), photo, tmp_path / "page", "room", title=title).read_text()
    catalog = {m["product_id"]: Product(sku=m["sku"], name=m["name"], category=m["category"],
                                        image_path=m["image_path"], id=m["product_id"]) for m in products}
    layout = CatalogMap(embedder='clip "<b>x</b>\u202e', key="k", revision=1, ids=np.array(sorted(catalog)),
                        xy=np.linspace(0, 1, 2 * len(catalog), dtype="float32").reshape(-1, 2), title="CLIP")
    atlas = write_map_page(tmp_path / "map.html", [layout], catalog, lambda _c: "#336699").read_text()
    for text, script in ((shoppable, SCRIPT), (atlas, MAP_SCRIPT)):
        page = Page(text)
        assert page.scripts == [script]
        assert not [(t, k) for t, a in page.tags for k in a if k.startswith("on")]
        assert {t for t, _ in page.tags} <= OWN_TAGS  # no tag but the pages' own: <b>, <svg> and <title> stayed text
        assert [t for t, _ in page.tags].count("title") == (1 if script == SCRIPT else 1 + len(catalog))
        assert _hidden(text) == []
    page = Page(shoppable)
    assert "</script><script>alert(1)</script>" in "".join(page.text)  # shown as text
    assert page.with_class("photo")[0]["alt"] == "Room niatnuom</title><script>alert(1)</script>\" onload=\"x"
    assert sorted(set(page.attrs("href"))) == ["https://shop.example/", "https://shop.example/p/%E2%80%AE1",
                                                'https://shop.example/q?"><script>alert(1)</script>']
    legend = "".join(Page(atlas.split('<ul class="legend">')[1].split("</ul>")[0]).text)
    assert legend == "Chair (1)" * 2 + "Lamp (1)" * 2 + "Rug (1)" * 2 + "Shelf (1)" * 2 + "Sofa (1)" * 2  # "x\u202e" too


def test_batch_outputs_of_two_scenes_never_share_a_name():
    scenes = [Path(p) for p in ("a/x/1.jpg", "b/x/1.jpg", "c/y/1.png", "d/Room.jpg", "e/room.JPG", "f/solo.jpg")]
    assert unique_stems(scenes) == ["x_1", "x_1-2", "y_1", "d_Room", "e_room", "solo"]


def test_a_photo_named_up_to_the_file_name_limit_still_gets_its_page(scene_path, tmp_path: Path):
    """A 255-byte photo name gave a 256-byte <stem>.json (and a longer temp name): the batch stopped there."""
    accented = "é" * 120 + "x" * 11  # 251 bytes in UTF-8, the longest stem a .jpg name may have
    photos = [tmp_path / f"{accented}.jpg", tmp_path / "a" / f"{'b' * 251}.jpg", tmp_path / "c" / f"{'b' * 251}.jpg"]
    for photo in photos:
        photo.parent.mkdir(exist_ok=True)
        shutil.copy(scene_path(SCENE), photo)
    stems = unique_stems(photos)
    assert len({s.casefold() for s in stems}) == 3 and stems[0].startswith("é" * 100)
    out = tmp_path / "out"
    for photo, stem in zip(photos, stems):
        page = write_page({"width": 4, "height": 3, "objects": []}, photo, out, stem)
        write_atomic(out / f"{stem}.json", "{}")
        assert page.is_file() and (out / IMAGES / f"{stem}.jpg").is_file()
    app_page = write_page({"width": 4, "height": 3, "objects": []}, photos[1], out / "app", photos[1].stem)
    assert app_page.name == f"{'b' * 200}.html"  # the app passes the photo's own stem


# --- the page offers what the catalog has now ---------------------------------------------------------


def _as_match(product) -> dict:
    """A catalog product as a scene's JSON holds a match (and a confirmed product)."""
    return {"product_id": product.id, "sku": product.sku, "name": product.name, "category": product.category,
            "score": 0.8, "match": "exact", "image_path": product.image_path, "url": "", "price": ""}


def test_a_confirmed_product_removed_from_the_catalog_is_not_offered(
    fresh_pipeline, ikea: Path, ikea_products, scene_path, tmp_path: Path
):
    """A product confirmed in the app, then removed from the catalog (``decorlens catalog remove``), stayed on the
    exported page: pinned, carded and pictured, sold to shoppers though the shop no longer had it. Its tag now
    shows the best match still in the catalog (or is left off if none is), and the export says how many."""
    rows = [r for c in ("sofa", "lamp") for r in [r for r in ikea_products if r["category"] == c][:2]]
    assert fresh_pipeline.import_catalog(write_feed(ikea, rows, tmp_path / "feed.csv")).added == 4
    sofa, kept_sofa, lamp, other_lamp = (fresh_pipeline.catalog.get_by_sku(r["product_id"]) for r in rows)
    photo = scene_path(SCENE)
    scene = _scene(photo, _as_match(sofa), _as_match(lamp), _as_match(other_lamp))
    for number, obj in enumerate(scene["objects"], 1):
        obj["number"] = number  # as the app's scene numbers its tags
    first, second, third = scene["objects"]
    first.update(matches=[_as_match(sofa), _as_match(kept_sofa)], confirmed=_as_match(sofa), confirmed_sku=sofa.sku)
    second.update(confirmed=_as_match(lamp), confirmed_sku=lamp.sku)  # its only match: nothing left to show
    third.update(confirmed=_as_match(other_lamp), confirmed_sku=other_lamp.sku)  # still in the catalog

    assert main(["-q", "--data-dir", str(fresh_pipeline.data_dir), "catalog", "remove", sofa.sku, lamp.sku]) == 0
    written = write_scene_page(fresh_pipeline, scene, photo, tmp_path / "out", "room")

    page = Page(written.path.read_text())
    assert [(c["data-sku"], c["data-tags"]) for c in page.with_class("card")] == [(kept_sofa.sku, "1"),
                                                                                  (other_lamp.sku, "3")]
    assert [p["aria-label"].split(":")[0] for p in page.with_class("pin")] == ["Tag 1", "Tag 3"]
    assert sofa.name not in "".join(page.text) and lamp.name not in "".join(page.text)
    assert len(list((tmp_path / "out" / IMAGES / "products").iterdir())) == 2  # no picture of the removed
    assert written.gone == 2
    assert written.summary() == f"{written.path} (left off: 2 confirmed products no longer in the catalog)"
    assert scene["objects"][0]["confirmed"]["sku"] == sofa.sku  # the caller's scene (the saved edits) is kept
