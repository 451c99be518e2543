"""Catalog import from a folder of category subfolders or a product CSV.

CSV columns are recognised by name, so DecorLens' own format, Google Merchant Center feeds and
Shopify product exports import as they are. Images are identified by content hash: re-importing is
idempotent and only changed images are re-embedded. The whole import is one transaction, so a
cancel or Ctrl-C leaves the catalog exactly as it was before.

Feeds and folders are hostile input: CSVs are read with the csv module's quoting rules (a quoted field
may hold newlines), images are downloaded before the write transaction starts, each with a deadline
and a size cap, and every file that is not imported is counted in the report with its reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any, Protocol, TypeVar

import numpy as np

from engine.backups import KEEP, import_reason, prune, take_backup
from engine.bundle_rows import MAX_EXTRA, MAX_TEXT
from engine.catalog import Catalog, Product
from engine.categories import FILE_NAME as CATEGORY_FILE
from engine.categories import CategoryMap
from engine.duplicates import record_variants
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.feed_images import SCHEMES, download_images, validators_file
from engine.files import CHUNK_BYTES, absolute, open_regular, sha256_of
from engine.imageio import CATALOG_MAX_SIDE, IMAGE_SUFFIXES, load_image
from engine.lookalike import lookalikes, marked, skeleton
from engine.prices import price_value
from engine.web_mark import downloaded_from
from engine.words import counted, cut

CHUNK = 64
ABSENT_NAMED = 5  # SKUs an import names of the products its source no longer lists
# Image downloads: a stalled or dribbling server (one byte every few seconds) must not hold up an import.
_URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):")  # two letters or more: "C:" is a drive
_DRIVE = re.compile(r"^[a-zA-Z]:")  # a Windows drive: C:\x.jpg, C:/x.jpg, C:x.jpg
# Feed size limits: a row is split into fields only once these hold, so a line of forty million commas
# cannot take gigabytes. Real feeds have tens of columns and lines of a few kilobytes.
MAX_COLUMNS = 1000  # fields of a feed's header or row
FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters: the csv module's own limit, for Parquet feeds too
MAX_SEPARATORS = 64 * MAX_COLUMNS  # in one CSV row before splitting it (quoted ones count: the row is not split yet)
MAX_ROW_CHARS = 16 * 2**20  # characters of one CSV row
MAX_PARQUET_CHUNK = 256 * 2**20  # bytes of one Parquet column chunk, uncompressed (Spark writes 128 MiB row groups)
TEXT_FIELDS = ("sku", "name", "category", "url", "price", "image")  # held to bundle_rows' rules
PRICE_SHOWN = 40  # characters of a price text the import's summary quotes
T = TypeVar("T")

# Our column ← the first present of these (lower-cased) header names.
COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "variant sku", "id", "product_id", "product id", "handle"),
    "name": ("name", "title"),
    "category": ("category", "product_type", "product type", "type", "google_product_category",
                 "product category"),
    "image": ("image", "image_path", "image path", "image_link", "image src", "image_src"),
    "url": ("url", "link", "product_url"),
    "price": ("price", "variant price", "sale_price"),
}

# A product field an update changed (``Catalog.upsert``'s names) → how a summary counts it, singular and plural.
FIELD_WORDS: dict[str, tuple[str, str]] = {
    "price": ("price", "prices"), "name": ("name", "names"), "image_hash": ("photo", "photos"),
    "category": ("category", "categories"), "url": ("link", "links"), "image_path": ("photo path", "photo paths"),
    "extra": ("other detail", "other details"),  # a column of the feed DecorLens keeps as it is
}

# An update changing all of these gave the SKU to another product (``ImportReport.note_other_product``).
OTHER_PRODUCT = ("name", "image_hash", "category")

Progress = Callable[[int, int], None]  # (done, total)


class Matcher(Protocol):
    key: str

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass
class ImportRow:
    sku: str
    name: str
    category: str
    image: str
    url: str = ""
    price: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    skip: str = ""  # why this file cannot be imported, known while listing (counted in the report)
    image_url: str = ""  # the image's http(s) URL once ``image`` is its downloaded copy in the cache
    kept: str = ""  # why ``image``, a cached copy of ``image_url``, was used as it was, not refreshed
    origin: str = ""  # where in the source: "line 12" of a CSV, "row 12" of a Parquet feed, a folder's file
    source: str = ""  # the feed's file (or folder) name, recorded with its products (``Product.source``)
    handle: str = ""  # a Shopify export's Handle: the product whose variants share it are marked as variants
    from_web: str = ""  # the URL its feed file was downloaded from (``engine.web_mark``): its image URLs may not lead here


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (sku or file, reason)
    absent: list[str] = field(default_factory=list)  # SKUs of the source's categories it does not list (kept)
    unsourced: list[str] = field(default_factory=list)  # SKUs of those categories of no recorded source (kept)
    uncovered: dict[str, int] = field(default_factory=dict)  # products kept per category the source has none of
    changed: dict[str, int] = field(default_factory=dict)  # products updated per field changed ("price": 25)
    categories: dict[str, int] = field(default_factory=dict)  # products stored per catalog category
    kept: list[str] = field(default_factory=list)  # why each cached photo kept unrefreshed was (an offline import)
    renamed: dict[str, str] = field(default_factory=dict)  # a feed's category → the searched one it was stored as
    lookalikes: list[tuple[str, ...]] = field(default_factory=list)  # SKUs reading as one, a feed's among them
    unpriced: list[str] = field(default_factory=list)  # 'SKU "price"' of each price text that holds no number
    other_product: list[str] = field(default_factory=list)  # SKUs whose name, photo and category all changed
    held: tuple[int, int] = (0, 0)  # (products the catalog held of the feed's own sources, those of them it lists)
    backup: Path | None = None  # the catalog as it was before the import changed products it held (``backed_up_import``)

    def count(self, change: str, fields: Iterable[str] = ()) -> None:
        """One more product ``change``d: "added", "updated" or "unchanged" (``Catalog.upsert``'s words), an update
        changing ``fields``."""
        setattr(self, change, getattr(self, change) + 1)
        for name in fields:
            self.changed[name] = self.changed.get(name, 0) + 1

    def note_other_product(self, sku: str, fields: Iterable[str]) -> None:
        """Note ``sku`` if its update changed its name, photo and category at once: the feed gave the SKU to
        another product, and the photos tagged with it (their confirmed tags, Where used, shoppable pages) show
        that product in its place, while the summary counted it as one more name, photo and category."""
        if set(OTHER_PRODUCT) <= set(fields):
            self.other_product.append(sku)

    def summary(self) -> str:
        """"34 added, 35 updated (25 prices, 10 names), 245 unchanged": "35 updated" alone left a merchandiser to
        guess whether the supplier's week changed prices, names or photos (a row that swapped a chair's photo and
        category for a clock's was one more "updated"). Counts of none are left out: a first import read "1,955
        added, 0 updated, 0 unchanged"."""
        what = ", ".join(counted(self.changed[f], *FIELD_WORDS[f]) for f in FIELD_WORDS if self.changed.get(f))
        parts = [(self.added, "added"), (self.updated, f"updated{f' ({what})' if what else ''}"),
                 (self.unchanged, "unchanged"), (len(self.skipped), "skipped")]
        return (", ".join(f"{n:,} {word}" for n, word in parts if n) or "nothing added") + self._kept_note() + \
            self._lookalike_note() + self._unpriced_note() + self._other_product_note()

    def _kept_note(self) -> str:
        """"; 1,955 photos not refreshed, their cached copies kept (cdn.example.com: …)", said once for an import
        run offline: each row's failed recheck is no failure of the row (the import is offline-first)."""
        if not self.kept:
            return ""
        whose = "its cached copy" if len(self.kept) == 1 else "their cached copies"
        more = f"; and {counted(len(set(self.kept)) - 1, 'other reason')}" if len(set(self.kept)) > 1 else ""
        return f"; {counted(len(self.kept), 'photo')} not refreshed, {whose} kept ({self.kept[0]}{more})"

    def _lookalike_note(self) -> str:
        """"; 1 set of SKUs reads as one, a character drawn alike (check the feed): ABC-1 / ⟨U+0410⟩BC-1": two
        products, two prices, one SKU to the eye (every list, page and printed order shows both as ABC-1). Part of
        the summary line, which every screen and the CLI show."""
        if not self.lookalikes:
            return ""
        reads = "reads" if len(self.lookalikes) == 1 else "read"
        sets = first_named([" / ".join(marked(sku) for sku in group) for group in self.lookalikes])
        return (f"; {counted(len(self.lookalikes), 'set')} of SKUs {reads} as one, a character drawn alike (check "
                f"the feed): {sets}")

    def _unpriced_note(self) -> str:
        """"; 2 prices are no numbers (listed last by price): B5 "Call us", B7 "—"": the catalog keeps a feed's
        price text as it is, and a price sort read those as no price without a word, a sofa's price typed as
        "auf Anfrage" or in a form no reader knows among the products without one."""
        if not self.unpriced:
            return ""
        what = "is no number" if len(self.unpriced) == 1 else "are no numbers"
        return f"; {counted(len(self.unpriced), 'price')} {what} (listed last by price): {first_named(self.unpriced)}"

    def _other_product_note(self) -> str:
        """"; 1 SKU names another product now (its name, photo and category all changed; photos tagged with it
        show the new one): 401.536.99"."""
        if not self.other_product:
            return ""
        one = len(self.other_product) == 1
        return (f"; {counted(len(self.other_product), 'SKU')} {'names' if one else 'name'} another product now (its "
                f"name, photo and category all changed; photos tagged with {'it' if one else 'them'} show the new "
                f"one): {first_named(self.other_product)}")

    def note_unlisted(self, unlisted: Iterable[tuple[str, str, str]], ours: set[str]) -> None:
        """Sort the catalog's (SKU, category, source) the feed does not list. Those of a category it has none of
        are ``uncovered`` (kept, counted per category): a feed of chairs imported into a lamp shop is no full
        catalog, and every lamp was offered for removal. Of the others, those of the feed's own sources (``ours``)
        are ``absent`` (dropped by the supplier, offered for removal), those of no recorded source ``unsourced``
        (kept, named), and another feed's are not this feed's business: a second supplier's feed offered the
        first supplier's whole range for removal."""
        for sku, category, source in unlisted:
            if category not in self.categories:
                self.uncovered[category] = self.uncovered.get(category, 0) + 1
            elif source in ours:
                self.absent.append(sku)
            elif not source:
                self.unsourced.append(sku)

    def absent_line(self, source: str) -> str | None:
        """The catalog's products of ``source``'s categories that it does not list, or None. They are kept (a
        feed may carry one supplier's range of several), but a weekly feed that dropped 20 products left them in
        the catalog, matched in photos, and the import said nothing of them."""
        if not self.absent:
            return None
        are = "is" if len(self.absent) == 1 else "are"
        return (f"{counted(len(self.absent), 'product')} of the catalog {are} not in {source} (kept): "
                f"{first_named(self.absent)}")

    def shrunk_line(self, source: str) -> str | None:
        """A warning, or None, when ``source`` lists under half the products its earlier imports left in the
        catalog: a weekly feed cut short by a failed download (a tenth of its rows) offered the other nine
        tenths for removal, all selected, as if the supplier had dropped them."""
        held, listed = self.held
        if not self.absent or 2 * listed >= held:
            return None
        return (f"{source} lists only {listed:,} of the {held:,} products its earlier imports left in the catalog "
                f"({listed * 100 // held} %): was it cut short (a failed or partial download)? Check the feed "
                f"before removing the products it no longer lists")

    def unsourced_line(self, source: str) -> str | None:
        """The products of ``source``'s categories it does not list that were imported before DecorLens recorded
        each product's feed, or None: they may be another supplier's, so they are named, not offered."""
        if not self.unsourced:
            return None
        one = len(self.unsourced) == 1
        return (f"{counted(len(self.unsourced), 'product')} of the catalog {'is' if one else 'are'} not in {source} "
                f"but {'was' if one else 'were'} imported before DecorLens recorded which feed each product came "
                f"from, so {'it is' if one else 'they are'} kept and not offered for removal (another supplier's "
                f"feed may list {'it' if one else 'them'}): {first_named(self.unsourced)}")

    def uncovered_line(self, source: str) -> str | None:
        """What ``source`` covered and what it left alone, or None when it had products of every category
        the catalog holds: "chairs.csv lists chair only: the catalog's 149 products of lamp are not in it
        and are left as they are"."""
        if not self.uncovered:
            return None
        others = sum(self.uncovered.values())
        return (f"{source} lists {', '.join(sorted(self.categories))} only: the catalog's "
                f"{counted(others, 'product')} of {first_named(sorted(self.uncovered))} are not in it and are "
                f"left as they are")

    def renamed_line(self) -> str | None:
        """The feed's categories stored under the catalog's own names, or None: "Sofas → sofa, Dining Chairs →
        chair"."""
        if not self.renamed:
            return None
        pairs = first_named([f"{theirs} → {ours}" for theirs, ours in sorted(self.renamed.items())])
        return f"The feed's categories are stored as the catalog's, so photos match them: {pairs}"

    def unsearched_line(self, categories: CategoryMap) -> str | None:
        """The products stored in a category no tag searches, or None: a feed's "spaceship" (or "Sofas" for
        "sofa") imported without a word, and no photo could ever match those products."""
        searched = {c for listed in categories.search.values() for c in listed}
        lost = {c: n for c, n in sorted(self.categories.items()) if c not in searched}
        if not lost:
            return None
        named = first_named([f"{c} ({n:,})" for c, n in lost.items()])
        products = sum(lost.values())
        which = "a category" if len(lost) == 1 else "categories"
        it = "it" if len(lost) == 1 else "them"
        return (f"{counted(products, 'product')} in {which} no tag searches, so no photo will match "
                f"{'it' if products == 1 else 'them'}: {named}; correct the feed, or add {it} to the data "
                f"folder's {CATEGORY_FILE}")

    def nothing_imported(self) -> str | None:
        """Why an import took no product, or None if it took some: "0 added" alone read as a success."""
        if self.added or self.updated or self.unchanged:
            return None
        if not self.skipped:
            return "it holds no products (a folder needs a subfolder of photos per category; a feed, a row per product)"
        return f"{len(self.skipped):,} skipped"


SHOP_WORDS = re.compile(r"[A-Za-z][A-Za-z &',-]*")  # a feed's product type as a shop writes it: "Dining Chairs"


def searched_categories(rows: Sequence[ImportRow], categories: CategoryMap) -> tuple[list[ImportRow], dict[str, str]]:
    """(rows, {feed category: searched category}): a category no tag searches, said in a shop's words, is
    stored as the searched one it names. A Shopify or Merchant Center feed says "Sofas", "Coffee Tables",
    "Cushions"; stored as they were, no photo could match the products, and the import told the merchandiser to
    edit the feed or categories.yaml."""
    searched = {c for listed in categories.search.values() for c in listed}
    renamed = {c: ours for c in {r.category for r in rows} - searched if (ours := _searched_as(c, searched))}
    return [replace(r, category=renamed.get(r.category, r.category)) for r in rows], renamed


def _searched_as(category: str, searched: set[str]) -> str | None:
    """The searched category that ``category`` names, or None: the whole of it ("Sofas" → sofa, "Lamps" → lamp),
    else its last word ("Dining Chairs" → chair), else the one category with that word in its name ("Cushions"
    → cushion_throw). Only a shop's words are read so: the last step of a path ("Home & Garden > … > Sofas") of
    letters, spaces and ``&',-``. A category holding a line break, digits or other signs is kept as the feed has it
    (a hostile feed's "lamp⏎ sofa 9999" became "sofa")."""
    last = category.rsplit(">", 1)[-1].strip()
    if not SHOP_WORDS.fullmatch(last):
        return None
    words = re.findall(r"[a-z]+", last.lower())
    whole = {"_".join(words[:-1] + [w]) for w in _singulars(words[-1])}
    for names in (whole, set(_singulars(words[-1]))):
        if found := sorted(names & searched):
            return found[0]
    holding = [c for c in searched if set(_singulars(words[-1])) & set(c.split("_"))]
    return holding[0] if len(holding) == 1 else None


def _singulars(word: str) -> list[str]:
    """``word`` and what it may be the plural of: benches → bench, shelves → shelf, boxes → box, lamps → lamp."""
    forms = [word, word.removesuffix("s")]
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("ves"):
        forms.append(word[:-3] + "f")
    return forms


def first_named(names: Sequence[str]) -> str:
    """The first ``ABSENT_NAMED`` of ``names``, then how many more: "a, b, c, d, e and 15 more"."""
    more = f" and {len(names) - ABSENT_NAMED:,} more" if len(names) > ABSENT_NAMED else ""
    return ", ".join(names[:ABSENT_NAMED]) + more


def read_source(source: Path) -> list[ImportRow]:
    """Rows from a folder (one subfolder per category) or a CSV file."""
    source = Path(source)
    if not os.path.lexists(source):  # not "expected a folder, a CSV or …": the user mistyped the path
        raise CatalogError(f"{_shown(source)}: no such file or folder")
    if source.is_dir():
        rows = _folder_rows(source)
    elif source.suffix.lower() in (".csv", ".tsv", ".txt"):
        rows = _csv_rows(source)
    elif source.suffix.lower() == ".parquet":
        rows = _parquet_rows(source)
    else:
        raise CatalogError(f"{source}: expected a folder of category subfolders, a CSV or a Parquet file")
    label = _shown(absolute(source).name or absolute(source))
    web = "" if source.is_dir() else downloaded_from(source)
    return _later_rows_kept([replace(row, source=label, from_web=web) for row in rows])


def read_feed(source: Path, categories: CategoryMap) -> tuple[list[ImportRow], dict[str, str]]:
    """(rows, {feed category: searched category}) of a folder or feed, its categories stored as the catalog
    searches them (``searched_categories``), as the desktop import (``Pipeline.import_catalog``) reads a feed:
    ``catalog import --vectors`` and the Ray embed (``scale.embed``) read it so, and a feed's "Sofas" is ``sofa``
    whichever way it is imported (the vectors import stored "Sofas", which no photo could match)."""
    return searched_categories(read_source(source), categories)


def _later_rows_kept(rows: list[ImportRow]) -> list[ImportRow]:
    """A SKU given twice is imported from its last row, as a re-import of a corrected feed would; each
    earlier row becomes a skipped one that says so (it was overwritten without a word)."""
    last = {row.sku: row for row in rows if row.sku and not row.skip}
    return [
        replace(row, skip=f"the same SKU comes again later ({last[row.sku].origin}); that later row is kept")
        if row.sku and not row.skip and last[row.sku] is not row else row
        for row in rows
    ]


def import_rows(
    catalog: Catalog,
    rows: Sequence[ImportRow],
    matcher: Matcher,
    image_cache: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Store rows and their vectors in one transaction; only new or changed images are embedded.

    Remote images are downloaded first, outside the transaction: a slow server must not hold the
    catalog's write lock. Reading, hashing, decoding and (for matchers with ``preprocess``) resizing
    of the next chunk run in worker threads while the current chunk is embedded.
    """
    report = ImportReport()
    done = 0
    variants: dict[str, list[str]] = {}  # a Shopify product's Handle → the SKUs stored of its variants
    rows = download_images(rows, image_cache, cancelled)
    prepare_pixels = getattr(matcher, "preprocess", None) if hasattr(matcher, "embed_tensors") else None
    chunks = list(_chunks(rows, _chunk_rows(matcher)))
    with catalog.transaction() as revision, ThreadPoolExecutor(max_workers=2) as pool:
        label = next((row.source for row in rows), "")
        known = catalog.sources([row.sku for row in rows if row.sku])
        counts = catalog.source_counts()
        ours = feed_sources(known, counts, label)
        report.held = (sum(counts.get(s, 0) for s in ours), sum(s in ours for s in known.values()))

        def submit(chunk: Sequence[ImportRow]) -> list[Future]:
            return [pool.submit(prepare_row, r, image_cache, prepare_pixels) for r in chunk]

        ahead = submit(chunks[0]) if chunks else []
        try:
            for n, chunk in enumerate(chunks):
                if cancelled():
                    raise Cancelled("import cancelled; the catalog is unchanged")
                prepared = [f.result() for f in ahead]
                ahead = submit(chunks[n + 1]) if n + 1 < len(chunks) else []
                to_embed = []
                for row, (product, image, error) in zip(chunk, prepared):
                    if error:
                        report.skipped.append((row.sku or row.image, error))
                        continue
                    if row.kept:
                        report.kept.append(row.kept)
                    product.source = known[row.sku] if known.get(row.sku) in ours else label
                    stored = catalog.upsert(product, revision)
                    if stored.reembed:
                        to_embed.append((stored.id, product.image_hash, image))
                    report.count(stored.change, stored.fields)
                    report.note_other_product(product.sku, stored.fields)
                    if product.price.strip() and price_value(product.price) is None:
                        report.unpriced.append(f'{product.sku} "{cut(product.price, PRICE_SHOWN)}"')
                    if row.handle:
                        variants.setdefault(row.handle, []).append(product.sku)
                    report.categories[product.category] = report.categories.get(product.category, 0) + 1
                if to_embed:
                    images = [img for _, _, img in to_embed]
                    vectors = matcher.embed_tensors(images) if prepare_pixels else matcher.embed(images)
                    catalog.put_vectors(
                        matcher.key, ((p, h, v) for (p, h, _), v in zip(to_embed, vectors)), revision
                    )
                done += len(chunk)
                if progress:
                    progress(done, len(rows))
            # A Shopify product's variants are marked as variants of one another, as a merchandiser would in the
            # duplicates window: its colours share the product's one photo, and were offered there as duplicates.
            record_variants(catalog, (skus for skus in variants.values() if len(skus) > 1))
            report.note_unlisted(catalog.categories_not_in({row.sku for row in rows if row.sku}), ours)
            report.lookalikes = catalog_lookalikes(catalog, [row.sku for row in rows if row.sku and not row.skip])
        finally:
            for future in ahead:  # cancelled or failed: do not decode a chunk nobody will use
                future.cancel()
    return report


def backed_up_import(catalog: Catalog, feed: str, work: Callable[[], ImportReport]) -> ImportReport:
    """``work``, an import of the file named ``feed`` into ``catalog``, after a backup of the catalog that is kept only
    where the import updated products the catalog held (``ImportReport.backup``). Every import runs through here (the
    app's, ``catalog import`` with or without ``--vectors``): a bad week's feed (wrong prices, garbled names) could be
    undone only by importing last week's file again, if the merchandiser still had it.

    None is taken of an empty catalog (nothing to go back to), nor of a restored backup unchanged since (that backup
    is its backup: ``Catalog.restored``). It is taken with room for one more (``take_backup(keep=KEEP + 1)``), so an
    import cancelled or failed (rolled back whole) or changing nothing held (new products only, or all unchanged)
    deletes it having pushed no older backup out; an import that changed products prunes to the newest kept."""
    taken = None
    if catalog.count() and not catalog.restored():
        taken = take_backup(catalog.db, catalog.path, import_reason(feed), keep=KEEP + 1)
    try:
        report = work()
    except BaseException:
        if taken is not None:
            taken.unlink(missing_ok=True)
        raise
    if taken is not None and report.updated:
        prune(catalog.path, taken)
        report.backup = taken
    elif taken is not None:
        taken.unlink(missing_ok=True)
    return report


def catalog_lookalikes(catalog: Catalog, skus: list[str]) -> list[tuple[str, ...]]:
    """The catalog's SKUs (the feed's among them) that read as one (``lookalike``), a feed's ``skus`` in each set:
    said by every import's summary (``ImportReport.lookalikes``), a feed's or a vector folder's.
    Two such SKUs differ by a character outside ASCII, so the catalog's SKUs holding one (a scan of the SKU column)
    and those the feed's SKUs read as are all that can be in a set: no other SKU is read."""
    read_as = catalog.sources([skeleton(sku) for sku in skus if not sku.isascii()])
    return lookalikes(skus, [*_outside_ascii(catalog), *read_as])


def _outside_ascii(catalog: Catalog) -> list[str]:
    """The catalog's SKUs holding a character outside ASCII: a scan of the SKU column (0.3 s at a million)."""
    return [sku for (sku,) in catalog.db.execute("SELECT sku FROM products WHERE sku GLOB '*[^ -~]*'")]


def catalog_alike(catalog: Catalog) -> frozenset[str]:
    """Every SKU of the catalog that reads as another of its SKUs: ``read_alike`` of all of them, in one scan, for
    a caller that keeps it for a catalog revision (``Pipeline.alike_among``: each search's matches)."""
    outside = _outside_ascii(catalog)
    read_as = catalog.sources([skeleton(sku) for sku in outside])
    return frozenset(sku for group in lookalikes(outside, [*outside, *read_as]) for sku in group if not sku.isascii())


def read_alike(catalog: Catalog, skus: Iterable[str]) -> set[str]:
    """Those of ``skus`` (a screen's) that read as another SKU of the catalog (``catalog_lookalikes``), for the app to
    mark them (``engine.lookalike.marked``): only a SKU outside ASCII can, so a list of ASCII SKUs, nearly every
    catalog's, reads nothing from the catalog."""
    outside = {sku for sku in skus if not sku.isascii()}
    if not outside:
        return set()
    return {sku for group in catalog_lookalikes(catalog, sorted(outside)) for sku in group if sku in outside}


def feed_sources(known: dict[str, str], counts: dict[str, int], label: str) -> set[str]:
    """The sources a feed named ``label`` is an update of: its own, and each recorded source ("" aside) of which
    it lists at least half the products (``known``: the feed's SKUs the catalog holds → their sources; ``counts``:
    products per source). A supplier's feeds are often named by date ("week2.csv" after "week1.csv"), yet a second
    supplier's feed sharing a SKU or two with the first is no update of it. The feed's products of these sources
    keep their source; the others (new, another supplier's, of no recorded source) are recorded as ``label``'s."""
    listed: dict[str, int] = {}
    for source in known.values():
        listed[source] = listed.get(source, 0) + 1
    return {label} | {source for source, n in listed.items() if source and 2 * n >= counts.get(source, 0)}


def _chunk_rows(matcher: Matcher) -> int:
    """Rows an import or ``embed_missing`` embeds per step: CHUNK, made smaller for an embedder whose batches
    are (``engine.embed.batch_for``, whose ``BATCH_BYTES`` bounds a batch's input tensor) in the same ratio.

    An import's chunk being embedded and the one prepared ahead of it hold their rows' float32 input tensors,
    so a fixed CHUNK grew with the input size: 64 rows at 512 px were 200 MB a chunk, twice over.
    ``embed_missing`` holds a chunk's decoded photos (up to CATALOG_MAX_SIDE, 3 MB each) beside the batch
    being run, whose activations grow with the input too. Up to 288 px this is CHUNK, as before.
    """
    card = getattr(matcher, "card", None)
    if card is None:
        return CHUNK
    # Imported here: engine.embed imports onnxruntime, which reading a feed (and the app's start) does without.
    from engine.embed import BATCH, batch_for

    return max(1, CHUNK * batch_for(card.input_size) // BATCH)


def embed_missing(
    catalog: Catalog, matcher: Matcher, progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False
) -> int:
    """Embed products lacking a vector for ``matcher`` (a new embedder, or after a failed run); returns how
    many were embedded. A product whose photo is missing or unreadable stays without a vector (the caller
    says so: search cannot find it). ``cancelled`` is asked before each chunk and once more before the vectors are
    committed: a cancel during the last chunk (a small catalog's only one) was let through, the catalog embedded
    while the app said it was not."""
    missing = catalog.missing_vectors(matcher.key)
    if not missing:
        return 0
    embedded, done = 0, 0
    with catalog.transaction() as revision, ThreadPoolExecutor(max_workers=2) as pool:
        for chunk in _chunks(missing, _chunk_rows(matcher)):
            _check_cancelled(cancelled)
            images = list(pool.map(lambda p: _load_or_none(p.image_path), chunk))
            ok = [(p, img) for p, img in zip(chunk, images) if img is not None]
            if ok:
                vectors = matcher.embed([img for _, img in ok])
                catalog.put_vectors(matcher.key, ((p.id, p.image_hash, v) for (p, _), v in zip(ok, vectors)), revision)
                embedded += len(ok)
            done += len(chunk)
            if progress:
                progress(done, len(missing))
        _check_cancelled(cancelled)
    return embedded


def _check_cancelled(cancelled: Callable[[], bool]) -> None:
    """Raised inside ``embed_missing``'s transaction, a cancel rolls every vector of the run back."""
    if cancelled():
        raise Cancelled("re-embedding cancelled; the catalog is unchanged")


# -- reading sources ----------------------------------------------------------------------------


def _folder_rows(root: Path) -> Iterator[ImportRow]:
    """A row per file of each category subfolder; files DecorLens cannot import come as skipped rows.

    Paths are stored absolute, so the catalog works whichever folder DecorLens later runs from.
    """
    root = absolute(root)
    try:
        entries = _listing(root)
    except OSError as exc:
        raise CatalogError(f"{_shown(root)}: cannot list folder ({exc.strerror or exc})") from exc
    for entry in entries:
        if _links_above(entry, root):
            yield _skipped(entry, f"a link back to {_shown(root)} or a folder above it, not a category folder")
            continue
        if not entry.is_dir():
            yield _skipped(entry, "not in a category subfolder")
            continue
        try:
            images = _listing(entry)
        except OSError as exc:
            yield _skipped(entry, f"cannot list folder ({exc.strerror or exc})")
            continue
        for image in images:
            yield _folder_row(entry.name, image)


def _links_above(entry: Path, root: Path) -> bool:
    """Whether ``entry`` is a symlink to ``root`` itself or a folder above it (``self -> .``, ``up -> ..``,
    ``all -> /``): such a "category" imported the photos beside the catalog's folder, or those of ``/``, as
    products of a category named after the link."""
    if not entry.is_symlink():
        return False
    try:
        target = entry.resolve(strict=True)
    except (OSError, RuntimeError):  # broken or looping: not a folder, and skipped as such
        return False
    return root.resolve().is_relative_to(target)


def _folder_row(category: str, image: Path) -> ImportRow:
    if not _utf8(str(image)):
        return _skipped(image, "file name is not valid UTF-8; rename it")
    if image.suffix.lower() in IMAGE_SUFFIXES:
        return ImportRow(sku=image.stem, name=image.stem, category=category, image=str(image), origin=str(image))
    if image.is_dir():
        return _skipped(image, "a folder inside a category folder (categories are one level deep)")
    return _skipped(image, f"{image.suffix or 'no suffix'}: not an image format DecorLens reads")


def _listing(folder: Path) -> list[Path]:
    """Entries of a folder, sorted, without hidden ones (.DS_Store, .thumbnails)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _csv_rows(path: Path) -> Iterator[ImportRow]:
    """Rows of a CSV/TSV feed, read as the csv module quotes (quoted fields may hold newlines)."""
    try:
        raw = open_regular(path)
    except DecorLensError as exc:
        raise CatalogError(str(exc)) from exc
    with raw, io.TextIOWrapper(raw, encoding=(encoding := _encoding(raw)), newline="") as text:
        reader = None
        try:
            delimiter = _delimiter(path, text)
            lines = _CheckedLines(text, delimiter)
            reader = csv.reader(lines, delimiter=delimiter)
            yield from _records(path, _csv_header(path, reader, lines), _csv_records(path, reader, lines))
        except UnicodeDecodeError as exc:
            where = f"near line {reader.line_num if reader else 1}" if not encoding.startswith("utf-8") else (
                f"at line {_first_bad_line(raw)}")
            raise CatalogError(f"{path}: not {encoding.removesuffix('-sig').upper()} text {where}; "
                               "save the feed as UTF-8") from exc
        except csv.Error as exc:
            raise CatalogError(f"{path}, line {reader.line_num if reader else 1}: {exc}") from exc


def _encoding(raw: io.BufferedReader) -> str:
    """UTF-16 for a feed opening with its byte-order mark (Excel's "Unicode Text", a tab-separated .txt, is the
    one Excel export that keeps every script), UTF-32 for one opening with its own, else UTF-8, a byte-order mark of
    its own allowed. A UTF-16 feed was refused as "not UTF-8 text" though the merchandiser had chosen the one Unicode
    export Excel names so. Without a mark, a feed's first character is its header's, ASCII (a column name or a
    quote), so its zero bytes name the encoding (as RFC 4627 found JSON's): a UTF-32 feed was read as UTF-16, and
    one of UTF-16 without a mark (.NET's and Java's "Unicode") as UTF-8, each "no column for sku (have: s k u …)"."""
    start = raw.peek(4)[:4]
    if start in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        return "utf-32"
    if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    return _UNMARKED.get(tuple(byte == 0 for byte in start), "utf-8-sig")


# The zero bytes of an ASCII character's code unit, by encoding (the 4 bytes of a feed's start).
_UNMARKED = {(True, True, True, False): "utf-32-be", (False, True, True, True): "utf-32-le",
             (True, False, True, False): "utf-16-be", (False, True, False, True): "utf-16-le"}


def _first_bad_line(raw: io.BufferedReader) -> int:
    """The line of the first byte that is not UTF-8, read again from the start. The text reader decodes 8 KB ahead
    of the rows the csv module has read, so its line number was short of the bad byte: "near line 1" for a bad
    byte on line 3, line 2,644 for one on line 3,002 (and a merchandiser looked for it there)."""
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    while chunk := raw.read(CHUNK_BYTES):
        pending = len(decoder.getstate()[0])  # the start of a character cut by the chunk's end (no newline)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            return line + chunk[: max(exc.start - pending, 0)].count(b"\n")
        line += chunk.count(b"\n")
    return line


class _CheckedLines:
    """The physical lines of a CSV feed for ``csv.reader``, each checked before the reader splits it.

    csv.reader builds a row's whole list of fields at once, so a line of forty million commas took
    gigabytes before any check could see it. Lines are read at most MAX_ROW_CHARS at a time; a row that
    grows past MAX_ROW_CHARS or MAX_SEPARATORS reaches the reader as an empty line, and ``refused`` says
    why. The counts are per row: csv.reader asks for the next line only while its row is unfinished, and
    ``next_row`` is called after each row it yields.
    """

    def __init__(self, text: io.TextIOBase, delimiter: str):
        self.text = text
        self.delimiter = delimiter
        self.line = 0
        self.row_start = 1  # the line the row being read began on
        self.ended = False  # the file is read to its end
        self.refused = ""  # why the row being read was cut, if it was
        self.chars = self.separators = 0

    def __iter__(self) -> Iterator[str]:
        while line := self.text.readline(MAX_ROW_CHARS):
            self.line += 1
            if not self.chars:
                self.row_start = self.line
            self.chars += len(line)
            self.separators += line.count(self.delimiter)
            if not line.endswith(("\n", "\r")) and len(line) == MAX_ROW_CHARS:
                self._skip_rest_of_line()
            if self.chars >= MAX_ROW_CHARS:
                self.refused = f"longer than {MAX_ROW_CHARS:,} characters"
            elif self.separators > MAX_SEPARATORS:
                self.refused = f"over {MAX_SEPARATORS:,} separators; a feed row has at most {MAX_COLUMNS:,} fields"
            yield "\n" if self.refused else line
        self.ended = True

    def next_row(self) -> None:
        self.refused = ""
        self.chars = self.separators = 0

    def _skip_rest_of_line(self) -> None:
        while (rest := self.text.readline(MAX_ROW_CHARS)) and not rest.endswith(("\n", "\r")):
            pass


def _csv_header(path: Path, reader: Iterator[list[str]], lines: _CheckedLines) -> list[str]:
    header = next(reader, [])
    if lines.refused or len(header) > MAX_COLUMNS:
        reason = lines.refused or f"{len(header):,} columns; a feed has at most {MAX_COLUMNS:,}"
        raise CatalogError(f"{path}, line 1: the header is {reason}; is this a product feed?")
    lines.next_row()
    return header


def _csv_records(path: Path, reader: Iterator[list[str]],
                 lines: _CheckedLines) -> Iterator[tuple[str, list[str] | str]]:
    """(where, fields) per row, or (where, why it is refused) for a row too long or too wide to split.

    csv.reader ends a row at the end of the file only when a quote opened in it was never closed, and then
    quietly reads every line after the quote as one field: the rows below would vanish without a word.
    """
    for record in reader:
        if lines.ended:
            below = lines.line - lines.row_start
            swallowed = f", so the {below} lines below would be read as one field" if below else ""
            raise CatalogError(f"{path}, line {lines.row_start}: a quote opened here is never closed{swallowed}; "
                               "close it")
        where = f"line {lines.line}"
        if lines.refused:
            yield where, lines.refused
        elif len(record) > MAX_COLUMNS:
            yield where, f"{len(record):,} fields; a feed row has at most {MAX_COLUMNS:,}"
        else:
            yield where, record
        lines.next_row()


def _parquet_rows(path: Path) -> Iterator[ImportRow]:
    """Rows of a Parquet feed (the same column names as a CSV), read in record batches; needs pyarrow."""
    from engine.vectors_import import bounded_batches, pyarrow_modules

    pa, pc, pq = pyarrow_modules()
    try:
        with open_regular(path) as raw:
            feed = pq.ParquetFile(raw)
            header = feed.schema_arrow.names
            _check_parquet_sizes(path, feed.metadata, header)
            batches = bounded_batches(raw, path, CHUNK * 64)  # a dictionary page repeats a value for free
            yield from _records(path, header, _parquet_records(path, batches, header, pa, pc))
    except DecorLensError as exc:
        raise CatalogError(str(exc)) from exc
    except (OSError, ValueError, NotImplementedError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise CatalogError(f"{path}: not a readable Parquet feed ({str(exc).splitlines()[0]})") from exc


def _check_parquet_sizes(path: Path, metadata: Any, header: list[str]) -> None:
    """Refuse from the footer alone what would take too much memory to read: more columns than a CSV may
    have, or a column chunk bigger than its rows' values can be (over FIELD_LIMIT each, as a 7 KB file
    that unpacks a 200 MB name) or than MAX_PARQUET_CHUNK."""
    if len(header) > MAX_COLUMNS:
        raise CatalogError(f"{path}: {len(header):,} columns; a feed has at most {MAX_COLUMNS:,}")
    for group in range(metadata.num_row_groups):
        rows = metadata.row_group(group)
        for column in range(rows.num_columns):
            chunk = rows.column(column)
            size = chunk.total_uncompressed_size
            if size > min(MAX_PARQUET_CHUNK, 4 * FIELD_LIMIT * rows.num_rows + 2**20):  # UTF-8: ≤ 4 bytes a character
                raise CatalogError(
                    f"{path}: column {chunk.path_in_schema!r} of row group {group} unpacks to {size / 2**20:,.0f} MiB "
                    f"for {rows.num_rows:,} rows; values over {FIELD_LIMIT:,} characters or row groups over "
                    f"{MAX_PARQUET_CHUNK // 2**20} MiB are refused")


def _parquet_records(path: Path, batches: Iterable[Any], header: list[str], pa: Any,
                     pc: Any) -> Iterator[tuple[str, list[str]]]:
    """(where, fields) per row, a batch at a time; a value over FIELD_LIMIT refuses the feed, as csv does."""
    done = 0
    for batch in batches:
        columns = [batch.column(i).cast(pa.string()) for i in range(batch.num_columns)]
        for name, column in zip(header, columns):
            longest = pc.max(pc.utf8_length(column)).as_py() or 0
            if longest > FIELD_LIMIT:
                raise CatalogError(f"{path}: a value of column {name!r} holds {longest:,} characters, over the "
                                   f"{FIELD_LIMIT:,} of a feed field (rows {done + 1}-{done + batch.num_rows})")
        values = [column.to_pylist() for column in columns]
        for n, record in enumerate(zip(*values), done + 1):
            yield f"row {n}", [v or "" for v in record]
        done += batch.num_rows


def _column_name(header: str) -> str:
    """A header as its column is looked up: spaces, case and invisible characters aside. A feed saved twice by
    tools that each add a byte-order mark, or pasted from a web page with a zero-width space, named its ``sku``
    column so, and was refused for having no sku column while its header read "sku" to the eye."""
    return "".join(c for c in header if unicodedata.category(c) != "Cf").strip().lower()


def _records(path: Path, header: list[str], reader: Iterable[tuple[str, list[str] | str]]) -> Iterator[ImportRow]:
    headers = {_column_name(h): i for i, h in reversed(list(enumerate(header)))}  # first of duplicates
    column = {ours: next((headers[c] for c in names if c in headers), None) for ours, names in COLUMNS.items()}
    missing = [k for k in ("sku", "category", "image") if column[k] is None]
    if missing:
        have = ", ".join(h for h in header[:20] if h) + (", …" if len(header) > 20 else "")
        raise CatalogError(f"{path}: no column for {', '.join(missing)} (have: {have or 'no header'})")
    used = {i for i in column.values() if i is not None}
    handle = headers.get("handle") if column["sku"] != headers.get("handle") else None
    options = [headers[f"option{n} value"] for n in (1, 2, 3) if f"option{n} value" in headers]
    product: dict[str, str] = {}  # a Shopify export's product row: the Handle's rows after it continue it
    for where, record in reader:
        if isinstance(record, str):  # refused before it was split into fields
            yield _skipped(f"{path.name} {where}", record)
            continue
        value = {ours: record[i].strip() if i is not None and i < len(record) else "" for ours, i in column.items()}
        if handle is not None:
            value, product = _shopify_row(value, record[handle].strip() if handle < len(record) else "", product)
            value["name"] = variant_name(value["name"], [record[i].strip() for i in options if i < len(record)])
        if not value["image"] and not value["sku"]:
            continue  # Shopify exports put extra variant rows without image or sku
        extra = {header[i]: v for i, v in enumerate(record[: len(header)]) if i not in used and header[i] and v}
        problem = _unstorable(value, extra)
        if problem:
            yield _skipped(f"{path.name} {where}", problem) if problem.startswith("sku") else ImportRow(
                sku=value["sku"], name="", category="", image="", origin=where, skip=f"{where}: {problem}")
            continue
        try:
            image = _resolve(value["image"], path.parent)
        except CatalogError as exc:
            yield ImportRow(sku=value["sku"], name="", category="", image="", origin=where, skip=str(exc))
            continue
        yield ImportRow(
            sku=value["sku"], name=value["name"] or value["sku"], category=_leaf(value["category"]),
            image=image, url=value["url"], price=value["price"], extra=extra, origin=where,
            handle=product.get("handle", "") if handle is not None else "",
        )


def _shopify_row(value: dict[str, str], handle: str, product: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A Shopify export's row completed from its product's: (the row's values, the product row now). Shopify writes
    a product's title, type and first photo on its first row only; its further variants (a SKU and a price) and
    further photos (an Image Src alone) follow on rows of the same Handle. Each variant was skipped for "no
    category" and each photo for "no sku/id": 72 of a 105-row export. A variant now takes its product's name,
    category, link and photo (unless it has its own); a further photo alone is no product and is passed over. A
    product row without a Variant SKU is known by its Handle, as Shopify knows it."""
    if value["name"] or not handle or handle != product.get("handle"):  # a product's first row
        product = {**value, "sku": value["sku"] or handle, "handle": handle}
        return {ours: product[ours] for ours in value}, product
    if not value["sku"]:
        return {ours: "" for ours in value}, product
    inherited = {ours: product[ours] for ours in ("name", "category", "url", "image")}
    return inherited | {ours: v for ours, v in value.items() if v}, product


def variant_name(name: str, options: Sequence[str]) -> str:
    """A Shopify variant's name as Shopify's orders write it, "Comfy sofa - Blue / Large", or ``name`` for a
    product of one variant ("Default Title"). Each variant is a product of its own SKU, often with its product's
    one photo: all were "Comfy sofa", cards a merchandiser could not tell apart."""
    said = [value for value in options if value and value != "Default Title"]
    return f"{name} - {' / '.join(said)}" if name and said else name


def _unstorable(value: dict[str, str], extra: dict[str, str]) -> str:
    """Why a row's text would make a catalog that cannot travel, or "": a bundle import refuses text over
    bundle_rows.MAX_TEXT, a NUL byte, or extra data over MAX_EXTRA, so the feed importer refuses them too."""
    for name in TEXT_FIELDS:
        if len(value[name]) > MAX_TEXT:
            return f"{name} of {len(value[name]):,} characters, over the {MAX_TEXT:,} a catalog keeps"
        if "\0" in value[name]:
            return f"{name} holds a NUL byte"
    if len(json.dumps(extra, ensure_ascii=False)) > MAX_EXTRA:
        return f"the other columns hold over {MAX_EXTRA:,} characters, more than a catalog keeps"
    return ""


def _delimiter(path: Path, text: io.TextIOWrapper) -> str:
    """Tab for .tsv; else whichever of comma, tab, semicolon the header line holds most of."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    first = text.readline(1 << 20)
    text.seek(0)
    return max(",\t;", key=first.count)


def _leaf(category: str) -> str:
    """Google taxonomy paths ("Home & Garden > Decor > Vases") → their last level."""
    return category.split(">")[-1].strip()


def _resolve(image: str, base: Path) -> str:
    """A URL as it is; a file path (or file: URL) made absolute against the CSV's folder (never resolved through
    symlinks here: a symlink loop must become a skipped row, not an exception). CatalogError: no path here."""
    if not image or image.lower().startswith(SCHEMES):
        return image
    if image.lower().startswith("file:"):
        image = file_url_path(image)
    elif _URL_SCHEME.match(image):
        return image
    return str(absolute(Path(feed_path(os.path.expanduser(image), base))))


def file_url_path(url: str) -> str:
    """The path of a file: URL, as Windows writes them too: ``file://server/share/x.jpg`` is the network path
    //server/share/x.jpg and ``file:///C:/x.jpg`` the drive's C:/x.jpg; the host localhost is this machine."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if parts.netloc.lower() not in ("", "localhost"):
        return f"//{parts.netloc}{path}"
    return path[1:] if _DRIVE.match(path[1:]) else path


def feed_path(image: str, base: PurePath) -> PurePath:
    """A feed's image path as a path of ``base``'s flavour (the feed's folder, a PureWindowsPath on Windows), or
    CatalogError saying why it is none. Windows paths (C:\\x.jpg, \\\\server\\share\\x.jpg) were read here as names
    relative to the feed's folder ("…/feed/C:\\x.jpg: no such file"); on Windows "C:x.jpg" or "\\x.jpg" would
    name a file outside it, relative to a drive's current folder or the current drive's root."""
    if isinstance(base, PureWindowsPath):
        path = PureWindowsPath(image)
        if path.is_absolute():
            return path
        if path.drive or path.root:
            raise CatalogError(f"{image}: a path from a drive's current folder or root; give it whole (C:\\…) or "
                               "relative to the feed's folder")
        return base / path
    if _DRIVE.match(image) or image.startswith("\\"):
        raise CatalogError(f"{image}: no such file here (a Windows path, read on Windows only; give this "
                           "machine's path)")
    path = PurePosixPath(image)
    return path if path.is_absolute() else base / path


def _skipped(path: Path | str, reason: str) -> ImportRow:
    return ImportRow(sku="", name="", category="", image=_shown(path), skip=reason, origin=_shown(path))


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in a POSIX file name come back as lone surrogates
        return False
    return True


def _shown(path: Path | str) -> str:
    """A path printable and storable as UTF-8, whatever bytes its name holds."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


# -- per-row work (runs in threads: file I/O and decoding release the GIL) ----------------------


def prepare_row(
    row: ImportRow, cache: Path, preprocess: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[Product | None, np.ndarray | None, str]:
    """(product, decoded image, error): an error is the reason to skip the row.

    With ``preprocess`` the image comes back as the matcher's input tensor, made here in the worker.
    Public because the cluster embedder (``scale.embed``) prepares feed rows exactly this way.
    """
    if row.skip:
        return None, None, row.skip
    if not row.sku:
        return None, None, "no sku/id"
    if not row.category:
        return None, None, "no category"
    try:
        path = _local_image(row.image)
        image = load_image(path, max_side=CATALOG_MAX_SIDE)  # before hashing: a bad file fails fast
        digest = _file_hash(path)
    except DecorLensError as exc:
        return None, None, _rejected_download(row, exc) if row.image_url else str(exc)
    if preprocess is not None:
        image = preprocess(image)
    product = Product(row.sku, _nfc(row.name), _nfc(row.category), str(path), digest, row.url, row.price, row.extra)
    return product, image, ""


def _nfc(text: str) -> str:
    """Names and categories in one Unicode form: a Mac writes a folder "Décor" decomposed (e + U+0301), which
    compared unequal to the category map's "décor" and to the same category from a feed, so it was a category
    of its own that no tag searched, listed twice."""
    return unicodedata.normalize("NFC", text)


def _rejected_download(row: ImportRow, exc: DecorLensError) -> str:
    """Why a downloaded image is refused, naming its URL; its copy leaves the cache, or an HTML page, a
    bomb or a truncated file served once would be reused (and fail) on every later import."""
    Path(row.image).unlink(missing_ok=True)
    validators_file(Path(row.image)).unlink(missing_ok=True)
    return str(exc).replace(row.image, row.image_url)


def _local_image(image: str) -> Path:
    if not image:
        raise CatalogError("no image")
    scheme = _URL_SCHEME.match(image)
    if scheme:  # http(s) ones were downloaded before the transaction
        raise CatalogError(f"{image[:80]}: unsupported image URL scheme {scheme.group(1)!r} (use http(s) or a file)")
    return Path(image)


def _file_hash(path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _load_or_none(path: str) -> np.ndarray | None:
    try:
        return load_image(path, max_side=CATALOG_MAX_SIDE)
    except DecorLensError:
        return None


def _chunks(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
