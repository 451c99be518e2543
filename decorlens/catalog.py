"""``decorlens catalog``: import, list, remove products; re-embed and rebuild the index; restore a backup."""

from __future__ import annotations

import argparse
import difflib
import json
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from decorlens.errors import PARTLY_DONE
from decorlens.options import cosine, positive_int, program
from decorlens.progress import bar, note
from decorlens.search import check_catalog_category
from decorlens.terminal import catalog_field, category_field, one_field, shown_path, sku_field
from engine.backups import BEFORE_RESTORE, Backup, backups_dir, find_backup, list_backups
from engine.catalog import Catalog, CatalogDamagedError, Product
from engine.duplicates import THRESHOLD, DuplicateGroup, find_duplicates, group_of, mark_variants
from engine.errors import CatalogError, ModelError
from engine.importer import backed_up_import, read_alike, read_feed
from engine.lookalike import skeleton
from engine.models import available_models, find_first, model_label
from engine.paths import CATALOG_FILE, refuse_overwrite
from engine.pipeline import MAX_NAMED, Pipeline
from engine.words import backup_reason, counted

LIST_LIMIT = 50  # products `catalog list` shows unless --limit says otherwise
CLOSE_SKUS = 3  # SKUs like an unknown one that `catalog show` suggests
CLOSE_ENOUGH = 0.75  # difflib's ratio for a suggestion: one or two characters off a SKU of ten
NONE = "(none)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="manage the product catalog")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True, title="verbs",
                             help="one of these; `%(prog)s VERB --help` says more")
    imp = verbs.add_parser("import", help="import a folder (one subfolder per category), a CSV or a Parquet feed")
    imp.add_argument("source", metavar="FOLDER_OR_FEED",
                     help="folder, CSV or Parquet feed (DecorLens, Google Merchant Center, Shopify columns)")
    imp.add_argument("--vectors", type=Path, metavar="DIR",
                     help="take the vectors from `catalog embed` Parquet files instead of embedding (needs [scale])")
    imp.set_defaults(run=run_import)
    emb = verbs.add_parser("embed", help="embed a feed's images on a Ray cluster (or a local Ray) into Parquet files")
    emb.add_argument("source", metavar="FOLDER_OR_FEED", help="folder, CSV or Parquet feed, as for import")
    emb.add_argument("--out", type=Path, required=True, metavar="DIR", help="vector folder (a re-run resumes)")
    # a cluster has the CPUs its nodes were started with: --cpus sizes only the Ray started here
    where = emb.add_mutually_exclusive_group()
    where.add_argument("--ray", metavar="ADDRESS", help="a running Ray cluster, e.g. 10.0.0.5:6379 (default: start Ray here)")
    emb.add_argument("--workers", type=positive_int, default=1, metavar="N",
                     help="embedding actors, one model session each (default 1)")
    where.add_argument("--cpus", type=positive_int, metavar="N",
                       help="CPUs a local Ray may use (default: all; not with --ray)")
    emb.set_defaults(run=run_embed)
    rm = verbs.add_parser("remove", help="remove products by SKU (the catalog is backed up first)")
    rm.add_argument("skus", nargs="+", metavar="SKU", help="the SKU of a product to remove")
    rm.set_defaults(run=run_remove)
    ls = verbs.add_parser("list", help="list products")
    ls.add_argument("--category", help="only this category, by its key or its name (`catalog stats` lists both)")
    ls.add_argument("--search", default="", metavar="TEXT", help="only products whose name or SKU holds TEXT")
    ls.add_argument("--limit", type=positive_int, default=LIST_LIMIT, help=f"at most N products (default {LIST_LIMIT})",
                    metavar="N")
    ls.add_argument("--json", action="store_true", help="print the products as JSON")
    ls.set_defaults(run=run_list)
    sh = verbs.add_parser("show", help="one product: its fields, its photo and whether photos can be matched to it")
    sh.add_argument("sku", metavar="SKU", help="the product's SKU (`catalog list --search TEXT` finds it)")
    sh.add_argument("--json", action="store_true", help="print the product as JSON")
    sh.set_defaults(run=run_show)
    st = verbs.add_parser("stats", help="products per category, vectors per embedder")
    st.add_argument("--json", action="store_true", help="print the counts as JSON")
    st.set_defaults(run=run_stats)
    rb = verbs.add_parser("rebuild-index", help="re-embed what is missing and rebuild the index (compacts deletions)")
    rb.set_defaults(run=run_rebuild)
    dup = verbs.add_parser("duplicates", help="groups of products with identical or nearly identical photos")
    dup.add_argument("--threshold", type=cosine, default=THRESHOLD, metavar="COSINE",
                     help=f"cosine above which photos count as near-duplicates (default {THRESHOLD})")
    action = dup.add_mutually_exclusive_group()  # --variants with --keep was ignored: the group was removed
    action.add_argument("--keep", metavar="SKU", help="remove the other products of SKU's group (backed up first)")
    action.add_argument("--variants", metavar="SKU", help="mark SKU's group as variants of SKU: kept, listed no more")
    dup.add_argument("--json", action="store_true",
                     help="print the groups as JSON; with --keep or --variants, what was done")
    dup.set_defaults(run=run_duplicates)
    mp = verbs.add_parser("map", help="a 2-D map of the catalog as the embedder sees it (t-SNE), as an HTML page")
    mp.add_argument("--html", type=Path, metavar="OUT.html",
                    help="also write the map as one standalone HTML page (without it the map is computed and kept "
                         "for the app's Map tab, and each embedder's count printed)")
    mp.add_argument("--embedder", dest="map_embedders", action="append", metavar="ONNX", default=[],
                    help="map with this embedder (default: the active one); give two to compare them side by side")
    mp.set_defaults(run=run_map)
    rs = verbs.add_parser("restore", help="list the catalog backups, or restore one (backing up the current first)")
    rs.add_argument("backup", nargs="?", metavar="BACKUP",
                    help="a backup's file name as listed, or the path of a backup file")
    rs.set_defaults(run=run_restore)


def run_import(args: argparse.Namespace, pipeline: Pipeline) -> int:
    with bar("importing", args.quiet) as progress:
        if args.vectors:
            report = _import_vectors(args, pipeline, progress)
        else:
            report = pipeline.import_catalog(args.source, progress)
    _note_skipped(report.skipped)
    print(f"{report.summary()}; catalog has {counted(pipeline.catalog.count(), 'product')}")
    if report.backup is not None:  # as a removal names its own (``_backed_up``)
        note(f"the catalog before is backed up as {report.backup.name} (`{program()} catalog restore` lists it)")
    for line in (report.renamed_line(), report.unsearched_line(pipeline.categories)):
        if line:
            note(line)
    uncovered = report.uncovered_line(Path(args.source).name)
    if uncovered:
        note(uncovered)
    absent = report.absent_line(Path(args.source).name)
    if absent:
        note(f"{absent}; `{program()} catalog remove SKU …` removes them")
    shrunk = report.shrunk_line(Path(args.source).name)
    if shrunk:
        note(shrunk)
    unsourced = report.unsourced_line(Path(args.source).name)
    if unsourced:
        note(f"{unsourced}; `{program()} catalog remove SKU …` removes those no supplier sells any more")
    why = report.nothing_imported()
    if why is not None:  # a failed import, not a success, and not a bug's exit code: a script checks it
        reasons = " (the reasons are above)" if report.skipped else ""
        raise CatalogError(f"nothing imported from {Path(args.source).name}: {why}{reasons}")
    return 0


def _note_skipped(skipped: list[tuple[str, str]]) -> None:
    """The first MAX_NAMED skipped rows, then how many more: a feed of a million bad rows must not print a
    million lines (the summary line gives the total)."""
    for where, reason in skipped[:MAX_NAMED]:
        note(f"skipped {where}: {reason}")
    if len(skipped) > MAX_NAMED:
        note(f"… and {len(skipped) - MAX_NAMED:,} more skipped ({len(skipped):,} in all)")


def _import_vectors(args: argparse.Namespace, pipeline: Pipeline, progress):
    """The feed's products with the vectors embedded elsewhere, then the index, as ``import_catalog`` does."""
    from engine.vectors_import import import_vectors

    embedder = pipeline.embedder
    rows, renamed = read_feed(Path(args.source), pipeline.categories)
    with pipeline.saved_if_interrupted():
        report = backed_up_import(pipeline.catalog, Path(args.source).name, lambda: import_vectors(
            pipeline.catalog, rows, args.vectors, embedder.model, pipeline.data_dir / "images", progress))
        pipeline.index_for(embedder).sync(pipeline.catalog)
    report.renamed = renamed
    return report


def run_embed(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Embed on Ray with the active embedder; Ray is imported only here (the ``[scale]`` extra)."""
    from scale.embed import embed_feed

    settings = pipeline.settings
    model = find_first(settings.embedder, settings.models_dir, pipeline.data_dir)
    report = embed_feed(Path(args.source), args.out, model, address=args.ray, workers=args.workers,
                        num_cpus=args.cpus, device=settings.device, quiet=args.quiet,
                        categories=pipeline.categories)
    print(f"{report.summary()}; vectors in {args.out}")
    return 0


def run_remove(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Remove the SKUs the catalog holds. When it holds none of them nothing is done (exit 2): "removed 0 of 1
    product" exited 1, "done in part", and took a backup of an unchanged catalog, pushing an older one out."""
    catalog = pipeline.catalog
    skus = list(dict.fromkeys(args.skus))
    unknown = [sku for sku in skus if catalog.get_by_sku(sku) is None]
    if len(unknown) == len(skus):
        close = close_skus(catalog, skus[0]) if len(skus) == 1 else ""
        raise CatalogError(f"not in the catalog {shown_path(catalog.path)}: {' '.join(map(one_field, unknown))}; nothing "
                           f"removed{close}")
    removed = pipeline.remove_products(skus)
    print(f"removed {removed:,} of {counted(len(skus), 'product')}{_backed_up(catalog.path)}")
    if unknown:  # a typo should not pass for a removal
        note(f"not in the catalog: {' '.join(map(one_field, unknown))}")
    return 0 if removed == len(skus) else PARTLY_DONE


def _backed_up(path: Path) -> str:
    """Which backup holds the catalog as it was before the removal, as `bundle import` names its own: "removed 1
    of 1 product" alone left a script's log without the file that undoes it."""
    backup = next((b for b in list_backups(path) if b.reason == "remove"), None)
    return f"; the catalog before is backed up as {backup.name} (`{program()} catalog restore` lists it)" if backup else ""


def run_list(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.category:  # a mistyped category listed nothing with exit 0, as if the category were empty
        args.category = check_catalog_category(pipeline, args.category)
    products = pipeline.catalog.products(args.category, args.search, args.limit + 1)
    if not args.quiet and len(products) > args.limit:  # a cut list must not pass for the whole catalog
        note(f"only the first {counted(args.limit, 'product')} shown; `--limit N` shows more")
    elif not args.quiet and not products:
        note("no products match" if args.category or args.search else "the catalog is empty")
    products = products[: args.limit]
    alike = read_alike(pipeline.catalog, (p.sku for p in products))  # SKUs that read as another, marked
    if args.json:
        print(json.dumps([{**p.__dict__, "alike": p.sku in alike} for p in products], indent=2, ensure_ascii=False))
        return 0
    for p in products:
        category = category_field(p.category, pipeline.categories.names)
        print(f"{sku_field(p.sku, p.sku in alike):<16} {category:<24} {catalog_field(p.name)}")
    return 0


def run_show(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """One product as the catalog holds it: a merchandiser checking a feed's row (its price, its photo) had only
    `catalog list`, which shows SKU, category and name."""
    catalog = pipeline.catalog
    product = catalog.get_by_sku(args.sku)
    if product is None:
        raise CatalogError(f"no product {args.sku!r} in the catalog {shown_path(catalog.path)}"
                           f"{close_skus(catalog, args.sku)}")
    vectors = catalog.vectors_of(product.id)
    active = _active_embedder(pipeline)
    searched = _category_searched(pipeline, product.category)
    alike = bool(read_alike(catalog, [product.sku]))
    if args.json:
        print(json.dumps({**product.__dict__, "alike": alike, "photo_found": Path(product.image_path).is_file(),
                          "active_embedder": active, "searchable": bool(active and vectors.get(active)),
                          "category_searched": searched, "vectors": vectors}, indent=2, ensure_ascii=False))
        return 0
    lines = _product_lines(product, alike, vectors, active, searched, pipeline.categories.names,
                           _embedder_labels(pipeline))
    for label, value in lines:
        print(f"{label:<9} {value}")
    return 0


def _category_searched(pipeline: Pipeline, category: str) -> bool:
    """Whether some tag searches the category: `catalog import` warns that no photo will match a product of one
    no tag searches ("other"), and `catalog show` said of that product "photos can be matched to it"."""
    return any(category in listed for listed in pipeline.categories.search.values())


def close_skus(catalog: Catalog, sku: str) -> str:
    """"; did you mean …?" with the catalog's SKUs nearest a mistyped one (case aside), or nothing: chosen among
    the few ``Catalog.skus_near`` reads, not every SKU. One that reads as the SKU typed or as another of the
    catalog's is marked (``sku_field``): "ABC-1" typed, "did you mean АBC-1?" (a Cyrillic А) read as the same."""
    skus = catalog.skus_near(sku)
    by_folded = {s.casefold(): s for s in skus}
    close = [by_folded[c] for c in difflib.get_close_matches(sku.casefold(), by_folded, CLOSE_SKUS, CLOSE_ENOUGH)]
    alike = read_alike(catalog, close) | {s for s in close if skeleton(s) == skeleton(sku)}
    return f"; did you mean {' or '.join(sku_field(s, s in alike) for s in close)}?" if close else ""


def _active_embedder(pipeline: Pipeline) -> str | None:
    """The active embedder's key, read from its file's name and card (the model is not loaded), or None when no
    embedder file is found: the product is shown all the same."""
    settings = pipeline.settings
    try:
        return find_first(settings.embedder, settings.models_dir, pipeline.data_dir).key
    except ModelError:
        return None


def _embedder_labels(pipeline: Pipeline) -> dict[str, str]:
    """Vector key → the embedder's name as `models list` and the app give it (``model_label``), for each embedder
    on the model search path and the active one (which the settings may name by a path off it); read from the
    cards, no model loaded. A key of none of them (a model since removed, a bundle's) is not in it."""
    settings = pipeline.settings
    installed = [m for m in available_models(settings.models_dir, pipeline.data_dir) if m.card.kind == "embedder"]
    with suppress(ModelError):
        installed.append(find_first(settings.embedder, settings.models_dir, pipeline.data_dir))
    return {m.key: model_label(m) for m in installed}


def _embedder_named(key: str, labels: Mapping[str, str]) -> str:
    """An embedder's vectors as a person reads them: "MobileNetV2 1.0/224 (ImageNet), vectors
    mobilenet_v2-imagenet-d328850cf896", as `catalog rebuild-index` and `catalog map` name them (the key alone reads
    as a file or a hash); the key tells two weights of one model apart. A key whose model is not installed is said
    so: its vectors are still counted, and searched by none."""
    who = catalog_field(labels[key]) if key in labels else "a model not installed"
    return f"{who}, vectors {catalog_field(key)}"


def _product_lines(product: Product, alike: bool, vectors: dict[str, bool], active: str | None, searched: bool,
                   names: Mapping[str, str], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, value) lines of ``catalog show``: the feed's text as written (the price in its own currency and
    format), a missing photo and an unsearchable product said as such; the category by its name, and by the key
    ``--category`` takes; the SKU marked where it reads as another of the catalog (``alike``, ``sku_field``)."""
    photo = one_field(shown_path(product.image_path)) + ("" if Path(product.image_path).is_file() else " (no such file)")
    category = f"{category_field(product.category, names)} ({catalog_field(product.category)})"
    lines = [("sku", sku_field(product.sku, alike)), ("name", catalog_field(product.name) or NONE),
             ("category", category), ("price", catalog_field(product.price) or NONE),
             ("link", catalog_field(product.url) or NONE), ("photo", photo),
             ("vector", _vector_line(vectors, active, searched, labels))]
    if not searched:
        unsearched = (f"none searches its category {catalog_field(product.category)}: only `search --any-category` or a "
                      "--box region matches photos to it (categories.yaml maps tags to categories)")
        lines.append(("tags", unsearched))
    return lines + [("detail", f"{catalog_field(key)}: {catalog_field(value)}") for key, value in product.extra.items()]


def _vector_line(vectors: dict[str, bool], active: str | None, searched: bool, labels: Mapping[str, str]) -> str:
    """Whether photos can be matched to the product: a vector of the active embedder for its current photo is in
    the index; none, or one of an older photo, is not until `catalog rebuild-index` (or the next search) embeds it.
    Each embedder by its name and vector key (``_embedder_named``)."""
    if active is None:
        stored = " / ".join(_embedder_named(key, labels) for key in vectors) or "no embedder"
        return f"unknown: no embedder model found; stored for {stored}"
    if vectors.get(active):
        matched = ": photos can be matched to it" if searched else ""
        return f"yes, {_embedder_named(active, labels)} (in the index{matched})"
    why = "of an older photo only" if active in vectors else "none"
    return f"no, {_embedder_named(active, labels)}: {why}; `{program()} catalog rebuild-index` embeds it"


def run_stats(args: argparse.Namespace, pipeline: Pipeline) -> int:
    catalog = pipeline.catalog
    stats = {"products": catalog.count(), "categories": catalog.category_counts(), "vectors": catalog.embedders()}
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{counted(stats['products'], 'product')} in {counted(len(stats['categories']), 'category', 'categories')} "
          f"({shown_path(catalog.path)})")
    # A feed's quoted category, or a bundle's embedder key, may hold a line break: as it was, it printed a line of
    # its own, read as one more category with its count. Each by the key --category takes, then the name reports
    # write it by where the category map gives one ("box_basket  124  Boxes & baskets").
    names = pipeline.categories.names
    for category, count in stats["categories"].items():
        named = f"  {catalog_field(names[category])}" if names.get(category) else ""
        print(f"  {catalog_field(category):<24} {count:<7,}{named}".rstrip())
    labels = _embedder_labels(pipeline) if stats["vectors"] else {}
    for embedder, count in stats["vectors"].items():
        print(f"{_embedder_named(embedder, labels)}: {count:,}")
    return 0


def run_rebuild(args: argparse.Namespace, pipeline: Pipeline) -> int:
    with bar("embedding", args.quiet) as progress:
        pipeline.prepare_matcher(progress=progress)
    pipeline.index_for(pipeline.embedder).rebuild(pipeline.catalog)
    unembedded = len(pipeline.catalog.missing_vectors(pipeline.embedder.key))
    # the model as Settings names it; its vectors' key as `catalog stats` lists them
    print(f"index rebuilt for {model_label(pipeline.embedder.model)}, vectors {pipeline.embedder.key}"
          + (f"; {counted(unembedded, 'product')} could not be embedded: not searchable" if unembedded else ""))
    return PARTLY_DONE if unembedded else 0


def run_duplicates(args: argparse.Namespace, pipeline: Pipeline) -> int:
    chosen = args.keep or args.variants
    if chosen and pipeline.catalog.get_by_sku(chosen) is None:
        raise CatalogError(f"no product {chosen!r} in the catalog {shown_path(pipeline.catalog.path)}")
    pipeline.prepare_matcher()
    groups = find_duplicates(pipeline, args.threshold)
    alike = read_alike(pipeline.catalog, (p.sku for g in groups for p in g.products))  # marked where listed
    if chosen:
        others = [p.sku for p in group_of(groups, chosen).products if p.sku != chosen]
        if args.keep:
            removed = pipeline.remove_products(others)
            done = {"kept": chosen, "removed": others}
            line = (f"kept {sku_field(chosen, chosen in alike)}; removed {removed:,}: "
                    f"{' '.join(sku_field(sku, sku in alike) for sku in others)}")
        else:
            marked = mark_variants(pipeline.catalog, others, chosen)
            done = {"variants_of": chosen, "marked": others}
            line = f"marked {counted(marked, 'product')} as variants of {sku_field(chosen, chosen in alike)}"
        # --json was ignored here: a script reading stdout as JSON got the sentence
        print(json.dumps(done, indent=2, ensure_ascii=False) if args.json else line)
        return 0
    if args.json:
        print(json.dumps([_group_json(g, alike) for g in groups], indent=2, ensure_ascii=False))
        return 0
    identical = sum(g.identical for g in groups)
    print(f"{counted(len(groups), 'group')}: {identical:,} of identical photos, "
          f"{len(groups) - identical:,} of near-duplicates (cosine ≥ {args.threshold:g})")
    for n, group in enumerate(groups, 1):
        print(f"[{n}] {'identical' if group.identical else f'near {group.score:.3f}'}")
        for p in group.products:
            category = category_field(p.category, pipeline.categories.names)
            print(f"     {sku_field(p.sku, p.sku in alike):<16} {category:<24} {catalog_field(p.name)}")
    return 0


def _group_json(group: DuplicateGroup, alike: set[str]) -> dict[str, Any]:
    """A group as ``--json`` prints it: its SKUs exact, each with ``alike`` (it reads as another SKU of the catalog,
    marked in the lines), as ``search --json`` says it of a match."""
    data = group.to_json()
    for product in data["products"]:
        product["alike"] = product["sku"] in alike
    return data


def run_map(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Each embedder's map (from the cache when the catalog is unchanged), then the page if asked for."""
    from app.palette import category_colour  # no Qt: the colours of the app's pins and Map tab
    from engine.catalog_map import catalog_map, check_can_compute
    from engine.map_page import write_map_page

    if args.html:  # before minutes of mapping: never over the catalog or another file of the data dir
        refuse_overwrite(args.html, pipeline.data_dir, ".html", "map page")
    settings = pipeline.settings
    chosen = [pipeline.with_embedder(find_first((name,), settings.models_dir, pipeline.data_dir).path)
              for name in args.map_embedders] or [pipeline]
    maps = []
    for each in chosen:
        key, label = each.embedder.key, model_label(each.embedder.model)  # named as Settings and the page name it
        if each.catalog.missing_vectors(key):  # no current map can exist: say now if none can be computed here
            check_can_compute()
        with bar(f"embedding for {label}", args.quiet) as progress:
            each.prepare_matcher(progress=progress)
        started = time.perf_counter()
        with bar(f"mapping {label}", args.quiet, unit="it") as progress:
            result = catalog_map(each.catalog, each.embedder, each.data_dir, progress, log=each.log)
        how = "from the cache" if result.cached else f"computed in {time.perf_counter() - started:.1f} s"
        print(f"{label}, vectors {key}: {counted(len(result), 'product')} mapped ({how})")
        maps.append(result)
    if args.html:
        products = pipeline.catalog.get_many({int(pid) for m in maps for pid in m.ids})
        write_map_page(args.html, maps, products, category_colour, pipeline.categories.names,
                       pipeline.alike_among(p.sku for p in products.values()))
        print(f"wrote {args.html}")
    return 0


def _backup_lines(found: list[Backup]) -> list[str]:
    """One line a backup: name, time, what it was taken before and its products, in columns as wide as the
    longest entry (a restore's backup has the longest name and pushed the columns after it out of line)."""
    names = max(len(b.name) for b in found)
    reasons = max(len(backup_reason(b.reason)) for b in found)
    lines = []
    for backup in found:
        count = backup.products()
        lines.append(f"  {backup.name:<{names}}  {backup.taken:%Y-%m-%d %H:%M:%S} UTC  before "
                     f"{backup_reason(backup.reason):<{reasons}}  "
                     f"{'unreadable' if count is None else counted(count, 'product')}")
    return lines


def run_restore(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Without an argument, list; with one, restore it in one transaction (the index catches up itself), or put it
    in place of a damaged catalog. Neither opens the catalog first: a damaged one cannot be, and the line saying so
    sent the user here."""
    path = pipeline.data_dir / CATALOG_FILE
    if not args.backup:
        found = list_backups(path)
        if not found:
            print(f"no backups in {shown_path(backups_dir(path))} yet (one is made before each removal, "
                  "embedder switch, bundle import, restore and feed import that changes products)")
            return 0
        print(f"backups in {shown_path(backups_dir(path))}, newest first:")
        for line in _backup_lines(found):
            print(line)
        return 0
    source = find_backup(path, args.backup)
    try:
        before = pipeline.catalog.count()
    except CatalogDamagedError:
        before = 0
    restored, aside, damage = pipeline.restore_backup(source)
    if aside is not None:
        print(f"restored {counted(restored, 'product')} from {source.name}; the damaged catalog is kept as "
              f"{aside.name} ({damage})")
        return 0
    saved = next((b for b in list_backups(path) if b.reason == BEFORE_RESTORE), None)
    print(f"restored {counted(restored, 'product')} from {source.name} (the catalog had {before:,})"
          + (f"; the previous catalog is backed up as {saved.name}" if saved and before else ""))
    return 0
