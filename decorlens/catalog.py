"""``decorlens catalog``: import, list, remove products; re-embed and rebuild the index."""

from __future__ import annotations

import argparse
import json

from decorlens.progress import bar, note
from engine.pipeline import Pipeline


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="manage the product catalog")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    imp = verbs.add_parser("import", help="import a folder (one subfolder per category) or a CSV")
    imp.add_argument("source", help="folder or CSV (DecorLens, Google Merchant Center, Shopify)")
    imp.set_defaults(run=run_import)
    rm = verbs.add_parser("remove", help="remove products by sku")
    rm.add_argument("skus", nargs="+")
    rm.set_defaults(run=run_remove)
    ls = verbs.add_parser("list", help="list products")
    ls.add_argument("--category")
    ls.add_argument("--search", default="", help="substring of name or sku")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=run_list)
    st = verbs.add_parser("stats", help="products per category, vectors per embedder")
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=run_stats)
    rb = verbs.add_parser("rebuild-index", help="re-embed what is missing and rebuild the index (compacts deletions)")
    rb.set_defaults(run=run_rebuild)


def run_import(args: argparse.Namespace, pipeline: Pipeline) -> int:
    with bar("importing", args.quiet) as progress:
        report = pipeline.import_catalog(args.source, progress)
    for where, reason in report.skipped:
        note(f"skipped {where}: {reason}")
    print(f"{report.summary()}; catalog has {pipeline.catalog.count()} products")
    return 0


def run_remove(args: argparse.Namespace, pipeline: Pipeline) -> int:
    removed = pipeline.remove_products(args.skus)
    print(f"removed {removed} of {len(args.skus)} products")
    return 0 if removed == len(args.skus) else 1


def run_list(args: argparse.Namespace, pipeline: Pipeline) -> int:
    products = pipeline.catalog.products(args.category, args.search, args.limit)
    if args.json:
        print(json.dumps([p.__dict__ for p in products], indent=2, ensure_ascii=False))
        return 0
    for p in products:
        print(f"{p.sku:<16} {p.category:<22} {p.name}")
    return 0


def run_stats(args: argparse.Namespace, pipeline: Pipeline) -> int:
    catalog = pipeline.catalog
    stats = {"products": catalog.count(), "categories": catalog.category_counts(), "vectors": catalog.embedders()}
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{stats['products']} products in {len(stats['categories'])} categories ({catalog.path})")
    for category, count in stats["categories"].items():
        print(f"  {category:<24} {count}")
    for embedder, count in stats["vectors"].items():
        print(f"vectors {embedder}: {count}")
    return 0


def run_rebuild(args: argparse.Namespace, pipeline: Pipeline) -> int:
    with bar("embedding", args.quiet) as progress:
        pipeline.prepare_matcher(progress=progress)
    pipeline.index_for(pipeline.embedder).rebuild(pipeline.catalog)
    print(f"index rebuilt for {pipeline.embedder.key}")
    return 0
