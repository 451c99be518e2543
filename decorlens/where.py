"""``decorlens where SKU``: the tagged photos a product was matched in, and the products that go with it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from decorlens.options import positive_int
from decorlens.terminal import one_field
from engine.catalog import Catalog
from engine.errors import CatalogError
from engine.pipeline import Pipeline
from engine.scene_memory import Sighting, goes_with, photo_count, where_used
from engine.words import counted


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
        raise CatalogError(f"no product {args.sku!r} in the catalog {catalog.path}")
    together = goes_with(catalog, args.sku, args.limit)
    if args.json:
        print(json.dumps(report(catalog, args.sku, seen, together), indent=2, ensure_ascii=False))
        return 0
    name = product.name if product else "(no longer in the catalog)"
    photos, tagged = len({s.photo for s in every}), photo_count(catalog)
    if not tagged:  # "best match of 0 tags in 0 of 0 tagged photos" left a new user to guess why
        print(f"{one_field(args.sku)} {one_field(name)}: no photos are tagged yet; `decorlens tag FOLDER --out DIR` "
              "(or opening photos in the app) tags them, then this lists where the product is matched")
        return 0
    if not every:  # "best match of 0 tags in 0 of 40 tagged photos" read as a count gone wrong
        print(f"{one_field(args.sku)} {one_field(name)}: the best match of no tag in the "
              f"{counted(tagged, 'tagged photo')}; `decorlens search --scenes ITS_PHOTO` lists rooms with objects like it")
        return 0
    print(f"{one_field(args.sku)} {one_field(name)}: best match of {counted(len(every), 'tag')} in {photos:,} of "
          f"{counted(tagged, 'tagged photo')}")
    for s in seen:
        box = ",".join(f"{v:.0f}" for v in s.box)
        mark = "confirmed" if s.confirmed else s.kind
        print(f"  {s.score:.3f} {mark:<9} {one_field(s.photo)}  tag {s.number} [{one_field(s.category)}] "
              f"box {box}" + ("" if s.exists else "  (photo gone)"))
    if together:
        print("goes with (best matches in the same photos):")
        names = _names(catalog, [sku for sku, _ in together])
        for sku, photos in together:
            print(f"  {photos:>3,} photo{'s' if photos > 1 else ' '} {one_field(sku):<14} "
                  f"{one_field(names.get(sku, '(gone)'))}")
    return 0


def report(catalog: Catalog, sku: str, seen: list[Sighting], together: list[tuple[str, int]]) -> dict[str, Any]:
    """The ``--json`` document: the product, its sightings best first, and what goes with it."""
    product = catalog.get_by_sku(sku)
    names = _names(catalog, [s for s, _ in together])
    return {
        "sku": sku,
        "name": product.name if product else None,
        "in_catalog": product is not None,
        "tagged_photos": photo_count(catalog),
        "photos": [s.to_json() for s in seen],
        "goes_with": [{"sku": s, "name": names.get(s), "photos": n} for s, n in together],
    }


def _names(catalog: Catalog, skus: list[str]) -> dict[str, str]:
    return {sku: p.name for sku in skus if (p := catalog.get_by_sku(sku)) is not None}
