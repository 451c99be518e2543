"""``decorlens search IMAGE``: tag a room photo (or one region) and show the best catalog matches."""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from PIL import Image

from decorlens.options import did_you_mean, output_folder, positive_int, program
from decorlens.progress import bar, embed_catalog
from decorlens.terminal import (
    catalog_field,
    category_field,
    category_words,
    json_text,
    one_field,
    shown_path,
    sku_field,
)
from engine.boxes import four_numbers
from engine.catalog import has_name
from engine.categories import display_name
from engine.errors import DecorLensError
from engine.explain import explain_tag
from engine.files import write_atomic
from engine.importer import read_alike
from engine.paths import readable_path
from engine.pipeline import COLOUR, EMBEDDER, Pipeline
from engine.results import SceneObject, SceneResult
from engine.scene_memory import embed_product_photo, photo_count, rooms_like, tag_categories
from engine.settings import Settings
from engine.words import MATCH_WIDTH, counted, match_word, named_as_counted

SCENES_K = 10  # photos listed by --scenes
NAMED = 5  # categories named in a line about what was looked for or seen
SKU_IN_NAME = 60  # characters of the sanitised SKU kept in a --why file name
UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")  # SKUs are feed text: no dots, slashes or control characters in a name


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="find decor in a photo and match it to the catalog")
    p.add_argument("image", metavar="PHOTO", help="room photo (JPEG, PNG, WebP, TIFF, …)")
    p.add_argument("--box", type=parse_box, metavar="X1,Y1,X2,Y2",
                   help="search this one region (in pixels) instead of detecting")
    p.add_argument("--category", help="with --box: the region's decor or catalog category (default: any); with "
                   "--scenes: compare only objects whose tag searches this catalog category (default: every object)")
    p.add_argument("--top-k", type=positive_int, default=None, metavar="N",
                   help=f"matches per tag (default {Settings().top_k}, or config.yaml's top_k); with --scenes, "
                        f"photos listed (default {SCENES_K})")
    p.add_argument("--any-category", action="store_true", help="search the whole catalog, not the detected category")
    p.add_argument("--matcher", choices=[EMBEDDER, COLOUR], default=EMBEDDER, help="CNN embedder or colour histogram (default embedder)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (a stable contract)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--scenes", action="store_true",
                      help="PHOTO is a product photo: rank the tagged photos by their object most like it")
    mode.add_argument("--why", metavar="DIR", type=output_folder,
                      help="write one PNG per tag into DIR: its crop and its best match's photo under heat maps")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    refuse_unused(args)
    if args.scenes:
        return run_scenes(args, pipeline)
    if Path(args.image).is_dir():  # "is a folder, not a regular file" named no way to search the photos in it
        raise DecorLensError(f"{one_field(args.image)} is a folder: `{program()} search` takes one photo; "
                             f"`{program()} tag FOLDER --out DIR` tags every photo in a folder")
    if args.box and args.category:
        args.category = check_category(pipeline, args.category)
    if not args.box:
        pipeline.detector  # noqa: B018 - a missing detector said before minutes of embedding, not after them
    embed_catalog(pipeline, args.quiet, matcher=args.matcher)  # with a bar: the search embedded it unseen
    if args.box:
        result = pipeline.search_region(args.image, args.box, args.category, args.top_k, args.any_category, args.matcher)
    else:
        result = pipeline.search_scene(args.image, args.top_k, args.any_category, args.matcher)
    print(json_text(result.to_json()) if args.json else render(result, pipeline.categories.names))
    if args.why:
        for path in write_why(pipeline, result, args.why):
            print(f"why tag: {readable_path(str(path))}", file=sys.stderr if args.json else sys.stdout)  # --json keeps stdout JSON
    return 0


def refuse_unused(args: argparse.Namespace) -> None:
    """Refuse, before any work, an option the chosen search would leave unused, naming both options.

    ``--category`` without ``--box`` searched each object's detected category, and ``--scenes`` ranked
    by the whole product photo and the embedder whatever ``--box``, ``--any-category`` or ``--matcher colour``
    said: the output looked as if they had been applied.
    """
    if args.scenes:
        unused = [name for name, given in (
            ("--box", args.box is not None), ("--any-category", args.any_category),
            (f"--matcher {COLOUR}", args.matcher == COLOUR),
        ) if given]
        if unused:
            raise DecorLensError(f"{unused[0]} does not apply to --scenes, which ranks the tagged photos by the "
                                 "whole product photo's embedder vector (every object, or --category's); leave it out")
    elif args.category is not None and args.box is None:
        raise DecorLensError("--category is the category of a --box region; without --box each object's detected "
                             "category is searched (--any-category: every category)")


def check_category(pipeline: Pipeline, category: str) -> str:
    """``--category``'s key: a decor category of the category map or a catalog category, or its name as the reports
    write it (``category_key``). Any other name searched no category at all and printed 'no match' with exit 0, as
    if the region had none."""
    known = {*pipeline.categories.search, *pipeline.catalog.category_counts()}
    key = category_key(category, known, pipeline.categories.names)
    if key in known:
        return key
    raise DecorLensError(f"--category {category!r} is neither a decor category nor a catalog "
                         f"category{did_you_mean(category, known)}; `{program()} catalog stats` lists the catalog's")


def check_catalog_category(pipeline: Pipeline, category: str) -> str:
    """``--category``'s catalog category (what a product is filed under), by its key or its name: any other name
    compares or lists nothing at all, and would say no photo looked alike, or no product matched."""
    known = pipeline.catalog.category_counts()
    key = category_key(category, known, pipeline.categories.names)
    if key in known:
        return key
    raise DecorLensError(f"--category {category!r} is not a catalog category{did_you_mean(category, known)}; "
                         f"`{program()} catalog stats` lists them")


def category_key(category: str, known: Iterable[str], names: Mapping[str, str]) -> str:
    """The key of the category ``category`` names: itself when it is one, else the key whose name, as the reports
    write it, it is (any case: "storage furniture", "Boxes & baskets"). Reports name categories, and `--category
    "Storage furniture"` was refused as no category ("did you mean storage_furniture?")."""
    if category in known:
        return category
    by_name = {display_name(key, names).casefold(): key for key in known}
    return by_name.get(category.casefold(), category)


def write_why(pipeline: Pipeline, result: SceneResult, folder: Path) -> list[Path]:
    """One PNG per tag with a match: why its best match matched (``engine.explain``), as the app shows it."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, obj in enumerate(result.objects, 1):
        if obj.matches:
            written.append(_write_one(pipeline, result.image, number, obj, folder))
    return written


def _write_one(pipeline: Pipeline, photo: str, number: int, obj: SceneObject, folder: Path) -> Path:
    best = obj.matches[0]
    explained = explain_tag(pipeline.embedder, photo, obj.box, pipeline.settings.padding, best.image_path, obj.parts)
    buffer = io.BytesIO()
    Image.fromarray(explained.side_by_side()).save(buffer, "PNG")
    path = folder / why_name(number, best.sku)
    write_atomic(path, buffer.getvalue())
    return path


def why_name(number: int, sku: str) -> str:
    """``tag03-SKU.png`` with the SKU cut to letters, digits, ``-`` and ``_``: a feed cannot pick the folder,
    hide the file or overwrite another tag's (the tag number keeps names apart)."""
    return f"tag{number:02d}-{UNSAFE.sub('_', sku)[:SKU_IN_NAME].strip('_') or 'product'}.png"


def run_scenes(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """In-situ search: the remembered photos' objects ranked by cosine to the product photo's vector, every
    object as the app's Looks like it compares a dropped photo, or (``--category``) those whose tag searches
    that catalog category, as it compares a catalog product."""
    if args.category is not None:
        args.category = check_catalog_category(pipeline, args.category)
    query = embed_product_photo(pipeline, args.image)
    with bar("embedding tagged photos' objects for this embedder (once)", args.quiet, "object", 0.5) as progress:
        hits = rooms_like(pipeline, query, args.top_k or SCENES_K, pipeline.log, progress, category=args.category)
    alike = read_alike(pipeline.catalog, (h.sku for h in hits))  # matched SKUs that read as another: marked
    if args.json:
        found = {"image": args.image, "embedder": pipeline.embedder.key, "category": args.category,
                 "scenes": [{**h.to_json(), "alike": h.sku in alike} for h in hits]}
        print(json_text(found))
        return 0
    tagged = photo_count(pipeline.catalog)
    if not tagged:
        print(f"no tagged photos yet: tag room photos with `{program()} tag` or open them in the app first")
        return 0
    counts = tag_categories(pipeline.catalog)  # a lamp shop's photos hold lamps only: compared with a sofa, said so
    compared = (f"objects whose tag searches {args.category}" if args.category else
                f"objects of every category tagged: {seen_words(counts, pipeline.categories.names)}"
                if len(counts) <= NAMED else
                "objects of every category")
    print(f"{one_field(readable_path(shown_path(args.image)))}: {len(hits):,} of {counted(tagged, 'tagged photo')}, closest object first "
          f"({compared})")
    for h in hits:  # a photo's file name and a feed's SKU may hold a newline: one line each all the same
        box = ",".join(f"{v:.0f}" for v in h.photo_box)
        print(f"  {h.score:.3f} {one_field(readable_path(shown_path(h.photo)))}  object {h.number} "
              f"[{category_field(h.category, pipeline.categories.names)}] box {box}  "
              f"matched {sku_field(h.sku, h.sku in alike) if h.sku else '-'}")
    return 0


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        return four_numbers(text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x1,y1,x2,y2 in pixels, got {text!r}") from None


def render(result: SceneResult, names: Mapping[str, str] | None = None) -> str:
    """A readable report: one block per object, its tag point and its matches, each category by its name in
    ``names`` (the category map's: "Storage furniture", not "storage_furniture"), as the app writes it. A photo name's bytes that are not
    UTF-8 (a zip of an older Windows' photos) show as U+FFFD: printed as they were, they ended the search, its work
    done, in "not UTF-8 text … save it again as UTF-8" wherever stdout is strict UTF-8 (a UTF-8 desktop's terminal),
    as did ``--json``, which now writes them ``\\udcXX`` (``json_text``)."""
    t = result.timings_ms
    lines = [
        (f"{one_field(readable_path(result.image))}  {result.width}x{result.height}  {counted(len(result.objects), 'tag')}  "
         f"on {result.device}"),
        "  ".join(f"{k} {t[k]:.0f} ms" for k in ("decode", "detect", "embed", "search") if k in t),
    ]
    for n, obj in enumerate(result.objects, 1):
        x, y = obj.tag
        category = category_field(obj.category, names) if obj.category else "any category"  # a --box region, no --category
        lines.append(f"\n[{n}] {category} ({obj.label} {obj.score:.2f}) tag at ({x:.0f}, {y:.0f})")
        for m in obj.matches:
            name = f"{catalog_field(m.name)} " if has_name(m.name, m.sku) else ""  # a folder import's is the SKU
            lines.append(f"     {m.score:.3f} {match_word(m.match):<{MATCH_WIDTH}} {sku_field(m.sku, m.alike):<14} {name}"
                         f"[{category_field(m.category, names)}]")
        if not obj.matches:
            lines.append("     no match in the searched categories")
    lines.extend(untagged_lines(result, names))
    return "\n".join(lines)


def untagged_lines(result: SceneResult, names: Mapping[str, str] | None = None) -> list[str]:
    """What the search looked for and saw but did not tag. A lamp shop's photo of a living room said "no decor
    objects found" of its sofa and bed, which read as a detector that failed: the catalog sells only lamps."""
    lines = []
    if not result.objects:
        lines.append("no decor objects found" if result.looked_for is None else _none_found(result, names))
    elif result.unsold:
        lines.append("")
    if result.unsold:
        lines.append(f"{'also ' if result.objects else ''}seen but not sold here, so not tagged: "
                     f"{seen_words(result.unsold, names)}")
    return lines


def _none_found(result: SceneResult, names: Mapping[str, str] | None) -> str:
    """Why a photo has no tag: none of what was looked for is in it, or the detectors find none of what the catalog
    sells (a rug shop's photos had "no rug found": no stock detector finds a rug)."""
    unfound = f"the detectors in use find no {sold_words(result.unfound, names)}"
    if not result.looked_for:
        return f"no tags: {unfound}, all the catalog sells; `--box X1,Y1,X2,Y2` searches a region"
    also = f"; {unfound}" if result.unfound else ""
    return f"no tags: nothing the catalog sells ({sold_words(result.looked_for, names)}) was found{also}"


def sold_words(categories: Sequence[str], names: Mapping[str, str] | None = None) -> str:
    """The categories a catalog sells by their names as running text writes them, the first ``NAMED`` of them:
    "lamp, rug" or "sofa, boxes & baskets, … (31 in all)" (it wrote the keys: "box_basket")."""
    named = ", ".join(category_words(category, names) for category in categories[:NAMED])
    return named if len(categories) <= NAMED else f"{named}, … ({len(categories):,} in all)"


def seen_words(counts: Mapping[str, int], names: Mapping[str, str] | None = None) -> str:
    """Objects seen per category, most first, the first ``NAMED``, as the app counts them (``seen_names``):
    "4 chairs, 2 cushions & throws, … (9 categories)"; it printed the keys, "4 chair, 2 cushion_throw"."""
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    named = ", ".join(f"{n:,} {named_as_counted(display_name(category, names), n)}" for category, n in ranked[:NAMED])
    return named if len(ranked) <= NAMED else f"{named}, … ({len(ranked):,} categories)"
