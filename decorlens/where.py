"""``decorlens where SKU``: the tagged photos a product was matched in, and the products that go with it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from decorlens.catalog import close_skus
from decorlens.options import positive_int, program
from decorlens.progress import note
from decorlens.terminal import (
    catalog_field,
    category_field,
    category_words,
    json_text,
    one_field,
    shown_path,
    sku_field,
)
from engine.catalog import Catalog, Product, has_name
from engine.categories import display_name
from engine.errors import CatalogError
from engine.importer import read_alike
from engine.paths import readable_path
from engine.pipeline import Pipeline
from engine.scene_memory import Sighting, goes_with, photo_count, tags_of_kind, where_used
from engine.words import CONFIRMED_WORD, MATCH_WIDTH, counted, match_word


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "where", help="the tagged photos a product was matched in (best first) and the products that go with it"
    )
    p.add_argument("sku", metavar="SKU", help="a product's SKU")
    p.add_argument("--limit", type=positive_int, default=20, metavar="N",
                   help="photos and go-with products shown (default 20)")
    p.add_argument("--json", action="store_true", help="print the product, its photos and what goes with it as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    catalog = pipeline.catalog
    product = catalog.get_by_sku(args.sku)
    every = where_used(catalog, args.sku)
    seen = every[: args.limit]
    if product is None and not seen:
        raise CatalogError(f"no product {args.sku!r} in the catalog {shown_path(catalog.path)}"
                           f"{close_skus(catalog, args.sku)}")
    together = goes_with(catalog, args.sku, args.limit + 1)
    alike = read_alike(catalog, [args.sku, *(other for other, _ in together)])  # SKUs that read as another: marked
    if args.json:
        print(json_text(report(catalog, args.sku, seen, together[: args.limit], alike)))
    else:
        kind = None if product is None else (product.category, tags_of_kind(pipeline, product.category))
        title = _title(product, pipeline.categories.names) if product else "(no longer in the catalog)"
        _print(catalog, pipeline.categories.names, args.sku, title, every, seen, together[: args.limit], kind,
               alike)
    if not args.quiet:
        _note_cut(args.limit, len(every) > args.limit, len(together) > args.limit)
    return 0


def _print(catalog: Catalog, names: Mapping[str, str], sku: str, name: str, every: list[Sighting],
           seen: list[Sighting], together: list[tuple[str, int]], kind: tuple[str, int] | None,
           alike: set[str]) -> None:
    """``kind``: the product's catalog category and the tags of its kind (``tags_of_kind``); None: no longer in
    the catalog. Categories by their names, photos from the current folder (``shown_path``), the SKUs of ``alike``
    (they read as another of the catalog's) marked (``sku_field``)."""
    photos, tagged = len({s.photo for s in every}), photo_count(catalog)
    product = f"{sku_field(sku, sku in alike)} {catalog_field(name)}"
    if not tagged:  # "best match of 0 tags in 0 of 0 tagged photos" left a new user to guess why
        print(f"{product}: no photos are tagged yet; `{program()} tag FOLDER --out DIR` "
              "(or opening photos in the app) tags them, then this lists where the product is matched")
        return
    if not every and kind is not None and not kind[1]:
        # "the best match of no tag" of a chair in a lamp shop that began selling chairs: no photo was looked at for it
        print(f"{product}: none of the {counted(tagged, 'tagged photo')} has a tag of "
              f"its kind ({category_words(kind[0], names)}): were they tagged before the catalog sold it? `{program()} tag "
              "FOLDER --out DIR` tags them again, looking for it")
        return
    if not every:  # "best match of 0 tags in 0 of 40 tagged photos" read as a count gone wrong
        held = "" if kind is None else f" (they hold {counted(kind[1], 'tag')} of its kind, {category_words(kind[0], names)})"
        print(f"{product}: the best match of no tag in the "
              f"{counted(tagged, 'tagged photo')}{held}; `{program()} search --scenes ITS_PHOTO` lists rooms with "
              "objects like it")
        return
    print(f"{product}: best match of {counted(len(every), 'tag')} in {photos:,} of "
          f"{counted(tagged, 'tagged photo')}")
    for s in seen:
        box = catalog_field(",".join(f"{v:.0f}" for v in s.photo_box))  # a hand edit: 1e308, 309 digits
        mark = CONFIRMED_WORD if s.confirmed else match_word(s.kind)
        print(f"  {s.score:.3f} {mark:<{MATCH_WIDTH}} {one_field(readable_path(shown_path(s.photo)))}  tag {s.number} "
              f"[{category_field(s.category, names)}] "
              f"box {box}" + ("" if s.exists else "  (photo gone)"))
    if together:
        print("goes with (best matches in the same photos):")
        products = _products(catalog, [other for other, _ in together])
        for other, count in together:
            title = _title(products[other], names) if other in products else "(gone)"
            print(f"  {count:>3,} photo{'s' if count > 1 else ' '} {sku_field(other, other in alike):<14} {catalog_field(title)}")


def _note_cut(limit: int, tags: bool, together: bool) -> None:
    """Say when --limit left rows out, as `catalog list` does: 20 rows under "best match of 22 tags" passed for
    the whole list, and the go-with list was cut with no sign at all."""
    cut = [what for what, more in (("tags", tags), ("go-with products", together)) if more]
    if cut:
        sys.stdout.flush()  # after the lists they cut, in a terminal too
        note(f"--limit {limit:,} left out some {' and some '.join(cut)}; a larger --limit shows them")


def report(catalog: Catalog, sku: str, seen: list[Sighting], together: list[tuple[str, int]],
           alike: set[str]) -> dict[str, Any]:
    """The ``--json`` document: the product, its sightings best first, and what goes with it; each SKU exact, with
    ``alike`` where it reads as another of the catalog's (marked in the lines), as ``search --json`` says it."""
    product = catalog.get_by_sku(sku)
    products = _products(catalog, [s for s, _ in together])
    return {
        "sku": sku,
        "alike": sku in alike,
        "name": product.name if product else None,
        "in_catalog": product is not None,
        "tagged_photos": photo_count(catalog),
        "photos": [s.to_json() for s in seen],
        "goes_with": [{"sku": s, "name": products[s].name if s in products else None, "photos": n,
                       "alike": s in alike} for s, n in together],
    }


def _products(catalog: Catalog, skus: list[str]) -> dict[str, Product]:
    return {sku: p for sku in skus if (p := catalog.get_by_sku(sku)) is not None}


def _title(product: Product, names: Mapping[str, str]) -> str:
    """A product as the lines name it after its SKU: the feed's name, else its category's name (a folder import
    stores the SKU as the name: "802.538.09 802.538.09: best match of …")."""
    return product.name if has_name(product.name, product.sku) else display_name(product.category, names)
