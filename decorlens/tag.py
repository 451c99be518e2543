"""``decorlens tag PHOTO_OR_FOLDER… --out DIR [--html]``: batch tagging for merchandisers."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from decorlens.errors import PARTLY_DONE
from decorlens.options import positive_int, program
from decorlens.progress import bar, embed_catalog, note, stop_on_ctrl_c
from decorlens.search import seen_words, sold_words
from decorlens.terminal import one_field
from engine.batch import (
    SUMMARY,
    BatchReport,
    check_not_an_input,
    check_out_dir,
    each_once,
    expand_scenes,
    first_picture_words,
    kept_words,
    tag_scenes,
)
from engine.errors import Cancelled, DecorLensError, ImageError
from engine.index import ensure_nonempty
from engine.pipeline import MAX_NAMED, Pipeline
from engine.settings import Settings
from engine.shoppable import export_batch, readable_title, write_scene_page
from engine.words import counted

NAMED = "cosy-corner_1364308407140-s4"  # a photo's file name, for --title's help: its words, not its digits


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tag", help="tag many room photos: a JSON per photo and a CSV summary",
                       description="Tag room photos: a JSON per photo and a CSV summary (summary.csv). A photo "
                                   "corrected in the app is written with its edits (tags removed, drawn, confirmed), "
                                   "not searched again. Run again with the same --out, it keeps the photos the last "
                                   "run tagged from the same photo, catalog and settings, and tags the rest: a "
                                   "stopped batch goes on where it stopped.")
    p.add_argument("inputs", nargs="+", metavar="PHOTO_OR_FOLDER",
                   help="room photos, or folders of them (their subfolders too)")
    p.add_argument("--out", type=out_folder, required=True, metavar="DIR",
                   help="output folder (one inside a folder being tagged is left out of the tagging)")
    p.add_argument("--top-k", type=positive_int, default=None, metavar="N", help=f"matches per tag (default {Settings().top_k}, or config.yaml's top_k)")
    p.add_argument(
        "--html", action="store_true",
        help="also write a shoppable page per photo (<stem>.html, pictures in images/), as the app's batch does, "
             "each headed by its photo's file name's words (or --title)",
    )
    p.add_argument("--title", type=page_title, metavar="TEXT",
                   help="with --html and one photo: the page's heading, browser tab and photo description, as the "
                        f"app's Export Shoppable Page asks (default: the file name's words, {NAMED}.jpg → "
                        f"'{readable_title(NAMED)}'); a batch's pages keep each photo's own")
    p.set_defaults(run=run)


def out_folder(text: str) -> Path:
    """``--out``: an empty one became ``Path(".")`` and wrote the batch into the current folder."""
    if not text:
        raise argparse.ArgumentTypeError("empty; give the output folder (\"\" would write into the current folder)")
    return Path(text)


def page_title(text: str) -> str:
    """``--title``: one line of words; an empty one would silently head the page with the file name's words."""
    title = " ".join(text.split())
    if not title:
        raise argparse.ArgumentTypeError("empty; leave --title out to head the page with the file name's words")
    return title


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.title is not None and not args.html:
        raise DecorLensError("--title heads the shoppable page, which only --html writes; add --html")
    _check_inputs_exist(args.inputs)
    check_not_an_input(args.out, args.inputs, "--out")
    unread: list[tuple[Path, OSError]] = []
    listed = expand_scenes(args.inputs, args.out, lambda folder, exc: unread.append((folder, exc)))
    _say_unread(unread)
    scenes = each_once(listed)  # as tag_scenes tags them (it does not look again): "of N" agrees
    if not scenes:  # nothing was done: an error to fix, not a bug's exit code after a note
        raise ImageError(f"no photos found in {', '.join(args.inputs)}; give photos, or folders that hold some")
    _check_one_titled(args.title, scenes)
    # What every scene needs (category map, catalog, models) fails once, here, not once per scene.
    pipeline.categories, pipeline.catalog, pipeline.detector, pipeline.embedder  # noqa: B018
    ensure_nonempty(pipeline.catalog)
    check_out_dir(args.out, "--out", make=False)  # before the catalog is embedded, which may take minutes
    with stop_on_ctrl_c() as stop:
        embed_catalog(pipeline, args.quiet, stop)  # before the first photo: its search embedded it unseen
        with bar("tagging", args.quiet) as progress:
            tag = _tagger(pipeline, args)
            try:
                report = tag(pipeline, scenes, args.out, args.top_k, progress, stop)
            except Cancelled as exc:  # the photos done keep their files, and the summary lists them
                raise Cancelled(f"{exc}; theirs are in {args.out / SUMMARY}, and the same command again tags "
                                "the rest") from exc
    if not report.done:
        _refuse_nothing_tagged(report.failed, args.out)
    _say_failures(report.failed, args.out)
    # notes: stdout's one line is still the batch's summary
    for line in [] if args.quiet else filter(None, [report.resume_words(args.out), *_first_of_many(report),
                                                    *_untagged(report, pipeline.categories.names)]):
        note(line)
    pages = f"; shoppable pages: {args.out / '*.html'}" if args.html else ""  # said nowhere else where they went
    # one line, a --out named with a line break too: scripts read the summary's path from it
    print(one_field(f"tagged {_summary(report, len(scenes))} → {args.out / SUMMARY}{pages}"))
    return 0 if not report.failed and not unread else PARTLY_DONE


def _check_one_titled(title: str | None, scenes: Sequence[Path]) -> None:
    """``--title`` heads one photo's page: given to a batch, every page (and every photo's description for a screen
    reader) would read the same, where each photo's file name's words tell them apart, as in the app's batch."""
    if title is not None and len(scenes) > 1:
        raise DecorLensError(f"--title heads one photo's page, and {counted(len(scenes), 'photo')} were found; "
                             "leave it out for each page to be headed by its file name's words, or tag each photo "
                             "with its own --title")


def _tagger(pipeline: Pipeline, args: argparse.Namespace) -> Callable[..., BatchReport]:
    """What tags the batch: ``tag_scenes``, ``export_batch`` (with a page per photo), or with ``--title`` the
    same with the one page headed by it."""
    if not args.html:
        return tag_scenes
    if args.title is None:
        return export_batch

    def titled_page(photo: Path, stem: str, scene: dict[str, Any]) -> None:
        write_scene_page(pipeline, scene, photo, args.out, stem, args.title)

    return partial(tag_scenes, on_result=titled_page, outputs={".html": f"page titled {args.title}"})


def _summary(report: BatchReport, total: int) -> str:
    """The batch in the app's words and digit groups, as its batch dialog says "Tagged 1,953 photos (16,204
    tags)": "1,953 of 1,955 photos (16,204 tags; 3 as corrected in the app)". It said "1953 of 1955 scenes
    (16204 objects)", words a merchandiser who knows the app does not use."""
    tags = sum(len(r.objects) for r in report.results)
    edited = f"; {len(report.edited):,} as corrected in the app" if report.edited else ""
    kept = f"; {kept_words(len(report.kept))}" if report.kept else ""
    return f"{len(report.done):,} of {counted(total, 'photo')} ({counted(tags, 'tag')}{edited}{kept})"


def _first_of_many(report: BatchReport) -> list[str]:
    """A line per photo (``MAX_NAMED`` of them) of which only the first picture was tagged, as the app says when it
    opens one: an animated GIF or a multi-page TIFF in a batch was tagged on its first frame without a word."""
    lines = [first_picture_words(path) for path in report.first_of_many[:MAX_NAMED]]
    more = len(report.first_of_many) - MAX_NAMED
    if more > 0:
        lines.append(f"… and {counted(more, 'more photo')} of several pictures, each tagged on its first")
    return lines


def _untagged(report: BatchReport, names: Mapping[str, str]) -> list[str]:
    """How many photos got no tag, why and which (``MAX_NAMED`` of them, as the failed photos are named): what the
    catalog sells was not in them, and what was seen is not sold. A lamp shop's folder of 40 rooms said only
    "tagged 40 of 40 photos (6 tags)" of its sofas and beds; then "1 of the 40 photos has no tag" said not which."""
    if not report.untagged or report.looked_for is None:  # None: an empty catalog, every category looked for
        return []
    has = "has" if report.untagged == 1 else "have"
    unfound = f"the detectors in use find no {sold_words(report.unfound, names)}"
    if report.looked_for:
        also = f"; {unfound}" if report.unfound else ""
        why = f"nothing the catalog sells ({sold_words(report.looked_for, names)}) was found in {'it' if has == 'has' else 'them'}{also}"
    else:  # a rug shop: no stock detector finds a rug
        why = f"{unfound}, all the catalog sells; `{program()} train-detector` trains one that does"
    lines = [f"{report.untagged:,} of the {counted(len(report.done), 'photo')} {has} no tag: {why}"]
    lines += [f"no tag: {path}" for path in report.untagged_photos[:MAX_NAMED]]
    if report.untagged > MAX_NAMED:
        lines.append(f"… and {counted(report.untagged - MAX_NAMED, 'more photo')} with no tag")
    if report.unsold:
        lines.append(f"seen in the photos but not sold here, so not tagged: {seen_words(report.unsold, names)}")
    return lines


def _check_inputs_exist(inputs: list[str]) -> None:
    """A photo or folder named on the command line that is not there is a typo to fix before anything runs: it
    was tagged as a photo that failed, after the rest of the batch (maybe an hour of it), and `tag gone.jpg`
    said "failed: …", then "tagged 0 of 1 scenes", wrote a summary.csv of that one failure and exited 1
    (done in part) with nothing done."""
    missing = [name for name in inputs if not Path(name).exists()]
    if missing:
        more = f" (and {len(missing) - 1:,} more)" if len(missing) > 1 else ""
        raise ImageError(f"{missing[0]}{more}: no such file or folder; nothing was tagged")


def _refuse_nothing_tagged(failed: list[tuple[Path, str]], out: Path) -> NoReturn:
    """A batch in which no photo could be tagged did nothing: the failure exit code and its one-line reason, as
    for a folder without photos. `tag notes.txt` said "failed: notes.txt: not an image (…)", then "tagged 0 of 1"
    and exited 1 (done in part), which a script reads as some photos tagged. One photo's reason is the error
    line itself; several are named above it first."""
    if len(failed) == 1:
        path, reason = failed[0]
        raise ImageError(f"{reason if str(path) in reason else f'{path}: {reason}'}; nothing was tagged")
    _say_failures(failed, out)
    raise ImageError(f"none of the {counted(len(failed), 'photo')} could be tagged (the reasons are above and in "
                     f"{out / SUMMARY}); nothing was tagged")


def _say_failures(failed: list[tuple[Path, str]], out: Path) -> None:
    """A line per failed photo; a reason many share (a catalog too full to remember any photo) once, with how many
    more it stopped, not as hundreds of identical lines. Past ``MAX_NAMED`` reasons, photos whose reasons differ
    only by the path they start with are alike too, and ``MAX_NAMED`` lines come before how many more photos
    failed: a folder of 20,000 empty files named .jpg printed 20,000 lines (summary.csv lists them all)."""
    many = len({reason for _path, reason in failed}) > MAX_NAMED
    keyed = [(_why(path, reason) if many else reason, path) for path, reason in failed]
    alike = Counter(key for key, _path in keyed)
    first: dict[str, Path] = {}
    for key, path in keyed:
        first.setdefault(key, path)
    for key, path in list(first.items())[:MAX_NAMED]:
        more = f" (and {counted(alike[key] - 1, 'more photo')} alike)" if alike[key] > 1 else ""
        note(f"failed: {key}{more}" if str(path) in key else f"failed: {path}{more}: {key}")
    rest = sum(alike[key] for key in list(first)[MAX_NAMED:])
    if rest:
        note(f"… and {counted(rest, 'more photo')} failed, each listed with why in {out / SUMMARY}")


def _say_unread(unread: list[tuple[Path, OSError]]) -> None:
    """A line per folder that could not be listed (at most ``MAX_NAMED``), before the tagging: its photos are
    left out, which the batch did without a word (or with a traceback where a path passed 4,096 bytes)."""
    for folder, exc in unread[:MAX_NAMED]:
        note(f"left out, its photos not tagged: {folder}: cannot read folder: {exc.strerror or exc}")
    if len(unread) > MAX_NAMED:
        note(f"… and {counted(len(unread) - MAX_NAMED, 'more folder')} left out")


def _why(path: Path, reason: str) -> str:
    """Why ``path`` failed, without the path that most reasons start with."""
    return reason.removeprefix(f"{path}: ")
