"""A hostile corpus through search, folder import, CSV import and batch tag.

Every input (bombs, truncations, FIFOs, symlink loops, extreme aspect ratios, every image mode, hostile
CSV feeds) must end in the right result or a one-line DecorLensError, in a child process that is killed
if one input runs past ``ITEM_TIMEOUT_S`` (a hang, never a pass condition), whose peak memory stays under
1.5 GiB, after which the catalog passes ``PRAGMA integrity_check`` holding exactly the products it
should, and no file appears outside the data dir and the output folder.

Run as a script (``python tests/test_hostile_inputs.py SPEC.json``) this file is the child itself: it
uses only the engine's public API, so the same corpus measures older code too (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEM_TIMEOUT_S = 180.0  # a bound for hangs only: the slowest input takes seconds (model loading ~15 s loaded)
MEMORY_LIMIT_MB = 1536
SAFETY_RLIMIT_AS = 8 * 2**30  # keeps a regression from taking the shared machine down; RSS is what we assert
CATEGORY = "lamp"
OPS = ("search", "folder", "csv", "tag")
RESTART = 3


@dataclass
class Case:
    """One hostile input and what each operation must make of it."""

    id: str
    expect: str  # "ok", or a piece of the one-line error every operation must give
    size: tuple[int, int] | None = None  # (width, height) search must report for an "ok" image
    file: str = ""  # the image's path (image cases)
    csv: str = ""  # the feed's path (feed cases, and the one-row feed of an image case)
    folder: str = ""  # a catalog folder holding just this image
    skus: list[str] = field(default_factory=list)  # products an "ok" import adds
    names: dict[str, str] = field(default_factory=dict)  # sku → the name it must be stored with
    ops: tuple[str, ...] = OPS
    per_op: dict[str, str] = field(default_factory=dict)  # an operation that must differ from ``expect``


# -- the child ------------------------------------------------------------------------------------


def _child(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    resource.setrlimit(resource.RLIMIT_AS, (SAFETY_RLIMIT_AS, SAFETY_RLIMIT_AS))
    sys.path.insert(0, os.getcwd())
    from engine.errors import DecorLensError
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    pipe = Pipeline(Settings.defaults().with_(data_dir=Path(spec["data_dir"])))
    db = Path(spec["data_dir"]) / "catalog.sqlite"
    with open(spec["progress"], "a", buffering=1) as progress, open(spec["results"], "a", buffering=1) as results:
        for item in spec["items"]:
            progress.write(item["id"] + "\n")
            before = _skus(db)
            start = time.monotonic()
            try:
                alive = partial(progress.write, item["id"] + "\n")
                outcome = _run_op(spec["op"], pipe, item, Path(spec["out"]), alive)
            except DecorLensError as exc:
                outcome = {"error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - what the corpus is here to catch
                outcome = {"traceback": f"{type(exc).__name__}: {exc}"}
            after = _skus(db)
            outcome.update(
                names=_names(db, after - before),
                id=item["id"], seconds=round(time.monotonic() - start, 2),
                peak_mb=_peak_mb(),
                added=sorted(after - before), removed=sorted(before - after), integrity=_integrity(db),
            )
            results.write(json.dumps(outcome, ensure_ascii=True) + "\n")
            if outcome["peak_mb"] > spec.get("restart_above_mb", 1e9):
                sys.exit(RESTART)  # measuring: a fresh child, so the next input's peak is its own


def _peak_mb() -> int:
    """This process image's peak RSS. Linux keeps the forking parent's peak in ``ru_maxrss`` across exec, so
    under a 4 GB pytest every child would read 4 GB; ``VmHWM`` belongs to the process image alone."""
    status = Path("/proc/self/status")
    if status.exists():
        line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
        return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _run_op(op: str, pipe, item: dict, out: Path, alive: Callable[[], object]) -> dict:
    """``op`` on one input; ``alive()`` tells the supervisor a long batch is still moving."""
    if op == "search":
        result = pipe.search_scene(item["file"])
        return {"size": [result.width, result.height], "objects": len(result.objects)}
    if op in ("folder", "csv"):
        report = pipe.import_catalog(item["folder"] if op == "folder" else item["csv"])
        return {"imported": report.added + report.updated, "skipped": [reason for _, reason in report.skipped]}
    from engine.batch import tag_scenes

    report = tag_scenes(pipe, [Path(p) for p in item["files"]], out, progress=lambda _done, _total: alive())
    return {"done": [str(p) for p in report.done], "failed": [[str(p), r] for p, r in report.failed],
            "summary": (out / "summary.csv").is_file()}


def _skus(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {row[0] for row in conn.execute("SELECT sku FROM products")}


def _names(db: Path, skus: set[str]) -> dict[str, str]:
    if not skus:
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(f"SELECT sku, name FROM products WHERE sku IN ({','.join('?' * len(skus))})", list(skus))
        return dict(rows.fetchall())


def _integrity(db: Path) -> str:
    if not db.exists():
        return "ok"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


# -- the parent: run children, kill hangs, go on with the next input --------------------------------


def run_corpus(
    op: str, items: list[dict], data_dir: Path, work: Path, code_root: Path = ROOT, restart_above_mb: float = 1e9
) -> dict[str, dict]:
    """Outcome per item id of ``op``; a hang or a crash is recorded against the item that caused it."""
    work.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, dict] = {}
    todo = list(items)
    while todo:
        spec = {"op": op, "items": todo, "data_dir": str(data_dir), "out": str(work / "out"),
                "progress": str(work / "progress.txt"), "results": str(work / "results.jsonl"),
                "restart_above_mb": restart_above_mb}
        for name in ("progress", "results"):
            Path(spec[name]).write_text("")
        (work / "spec.json").write_text(json.dumps(spec))
        status = _supervise(work, code_root)
        for line in (work / "results.jsonl").read_text().splitlines():
            outcome = json.loads(line)
            outcomes[outcome["id"]] = outcome
        started = (work / "progress.txt").read_text().split()
        if status in ("hang", "crash") and started and started[-1] not in outcomes:
            outcomes[started[-1]] = {"id": started[-1], status: True, "added": [], "removed": [],
                                     "integrity": _integrity(data_dir / "catalog.sqlite")}
        todo = [i for i in todo if i["id"] not in outcomes]
        if status == "done" and todo or status == "crash" and not started:
            tail = (work / "stderr.txt").read_text(errors="replace")[-2000:]
            raise AssertionError(f"child ({status}) gave no results for {[i['id'] for i in todo]}: {tail}")
    return outcomes


def _supervise(work: Path, code_root: Path) -> str:
    """Run one child; kill it when ITEM_TIMEOUT_S pass without a line of progress (an input started, or
    a scene of the batch done). Returns done, restart, hang or crash."""
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CACHE_HOME": str(home / "cache"), "XDG_CONFIG_HOME": str(home / "config"), "PYTHONPATH": str(code_root)}
    with open(work / "stderr.txt", "ab") as stderr:
        child = subprocess.Popen([sys.executable, __file__, str(work / "spec.json")], cwd=code_root, env=env,
                                 stdout=subprocess.DEVNULL, stderr=stderr)
        progress, seen, since = work / "progress.txt", -1, time.monotonic()
        while child.poll() is None:
            started = len(progress.read_text().split())
            if started != seen:
                seen, since = started, time.monotonic()
            elif time.monotonic() - since > ITEM_TIMEOUT_S:
                child.kill()
                child.wait()
                return "hang"
            time.sleep(0.2)
    return {0: "done", RESTART: "restart"}.get(child.returncode, "crash")


# -- the corpus -----------------------------------------------------------------------------------


def build_corpus(root: Path, ikea: Path) -> list[Case]:
    """Write every hostile input under ``root``; each image also gets a one-image folder and a feed."""
    from PIL import Image

    scene = min((ikea / "scenes").glob("*.jpg"))
    base = Image.open(scene).convert("RGB").resize((320, 240))
    products = sorted((ikea / "products" / CATEGORY).glob("*.jpg"))
    cases = _image_cases(root / "images", base, scene) + _feed_cases(root / "feeds", products)
    for case in cases:
        if case.file:
            _wrap_image(case, root)
    return cases


def _image_cases(folder: Path, base, scene: Path) -> list[Case]:
    import cv2
    import numpy as np
    from PIL import Image

    jpeg = _encode(base, "JPEG", quality=90)
    w, h = base.size
    grey = np.asarray(base.convert("L"))
    modes: dict[str, tuple[str, Callable[[Path], None]]] = {
        "mode-1": ("png", lambda p: base.convert("1").save(p)),
        "mode-L": ("png", lambda p: base.convert("L").save(p)),
        "mode-LA": ("png", lambda p: base.convert("LA").save(p)),
        "mode-P-transparency": ("png", lambda p: base.convert("P").save(p, transparency=0)),
        "mode-PA": ("tif", lambda p: base.convert("PA").save(p)),
        "mode-RGBA": ("png", lambda p: base.convert("RGBA").save(p)),
        "mode-I16": ("png", lambda p: Image.fromarray(grey.astype(np.uint16) * 257).save(p)),
        "mode-I16B": ("tif", lambda p: Image.fromarray((grey.astype(np.uint16) * 257).astype(">u2")).save(p)),
        "mode-I32": ("tif", lambda p: Image.fromarray(grey.astype(np.int32) * 1000).save(p)),
        "mode-F": ("tif", lambda p: Image.fromarray(grey.astype(np.float32) / 255).save(p)),
        "mode-CMYK-jpeg": ("jpg", lambda p: base.convert("CMYK").save(p)),
        "mode-CMYK-tiff": ("tif", lambda p: base.convert("CMYK").save(p)),
        "mode-YCbCr": ("tif", lambda p: base.convert("YCbCr").save(p)),
        "mode-LAB": ("tif", lambda p: base.convert("LAB").save(p)),
        "png-16bit-rgb": ("png", lambda p: cv2.imwrite(str(p), np.asarray(base)[..., ::-1].astype(np.uint16) * 257)),
        "gif-animated": ("gif", lambda p: base.save(p, save_all=True, append_images=[base.rotate(180)], duration=100)),
        "avif": ("avif", lambda p: base.save(p)),
        "jpeg-progressive": ("jpg", lambda p: base.save(p, progressive=True)),
        "exif-rotate-180": ("jpg", lambda p: base.save(p, exif=_exif(3))),
    }
    cases = []
    for name, (ext, write) in modes.items():
        path = _slot(folder, name, f"{name}.{ext}")
        write(path)
        cases.append(Case(name, "ok", (w, h), file=str(path)))
    for orientation in (6, 8):
        path = _slot(folder, f"exif-rotate-{orientation}", f"exif-rotate-{orientation}.jpg")
        base.save(path, exif=_exif(orientation))
        cases.append(Case(path.stem, "ok", (h, w), file=str(path)))
    # decoded at most MAX_SIDE a side, reported in the photo's own pixels
    for name, size in [("strip-20000x1", (20000, 1)), ("strip-1x20000", (1, 20000)), ("tiny-1x1", (1, 1))]:
        ramp = np.linspace(0, 255, max(size), dtype=np.uint8).reshape(size[1], size[0])
        path = _slot(folder, name, f"{name}.png")
        Image.fromarray(np.stack([ramp] * 3, -1)).save(path)
        cases.append(Case(name, "ok", size, file=str(path)))
    path = _slot(folder, "real-scene", "real-scene.jpg")
    shutil.copy(scene, path)
    cases.append(Case("real-scene", "ok", Image.open(scene).size, file=str(path)))
    odd = os.fsencode(_slot(folder, "non-utf8-name", "x").parent) + b"/caf\xe9-latin1-name.jpg"
    Path(os.fsdecode(odd)).write_bytes(jpeg)
    cases.append(Case("non-utf8-name", "ok", (w, h), file=os.fsdecode(odd), ops=("search", "folder", "tag"),
                      per_op={"folder": "not valid UTF-8"}))
    return cases + _bad_image_cases(folder, base, jpeg)


def _bad_image_cases(folder: Path, base, jpeg: bytes) -> list[Case]:
    bad: dict[str, tuple[str, str, Callable[[Path], None]]] = {
        "bomb-png-15800x15800": ("png", "too large", lambda p: p.write_bytes(_png_bomb(15800, 15800))),
        "jpeg-claims-15000x15000": ("jpg", "truncated", lambda p: p.write_bytes(_jpeg_claiming(15000, 15000))),
        "jpeg-claims-15000-no-end": ("jpg", "truncated", lambda p: p.write_bytes(_jpeg_claiming(15000, 15000)[:-2])),
        "jpeg-claims-65000x65000": ("jpg", "too large", lambda p: p.write_bytes(_jpeg_claiming(65000, 65000))),
        "gif-claims-65535x65535": ("gif", "too large", lambda p: p.write_bytes(_gif_claiming(65535, 65535))),
        "jpeg-cut-5pct": ("jpg", "truncated", lambda p: p.write_bytes(jpeg[: len(jpeg) // 20])),
        "jpeg-cut-50pct": ("jpg", "truncated", lambda p: p.write_bytes(jpeg[: len(jpeg) // 2])),
        "jpeg-cut-95pct": ("jpg", "truncated", lambda p: p.write_bytes(jpeg[: len(jpeg) * 95 // 100])),
        "jpeg-cut-50pct-with-end": ("jpg", "truncated", lambda p: p.write_bytes(jpeg[: len(jpeg) // 2] + b"\xff\xd9")),
        "jpeg-header-only": ("jpg", "cannot decode", lambda p: p.write_bytes(jpeg[:300])),
        "png-cut-50pct": ("png", "truncated", lambda p: p.write_bytes(_encode(base, "PNG")[:-2000])),
        "gif-cut-50pct": ("gif", "truncated", lambda p: p.write_bytes(_half(_encode(base, "GIF")))),
        "webp-cut-50pct": ("webp", "cannot decode", lambda p: p.write_bytes(_half(_encode(base, "WEBP")))),
        "empty": ("jpg", "empty file", lambda p: p.write_bytes(b"")),
        "fifo": ("jpg", "FIFO", lambda p: os.mkfifo(p)),
        "symlink-loop": ("jpg", "symlink loop", lambda p: p.symlink_to(p)),
        "symlink-dev-zero": ("jpg", "device", lambda p: p.symlink_to("/dev/zero")),
        "folder-named-jpg": ("jpg", "folder", lambda p: p.mkdir()),
        "text-named-jpg": ("jpg", "not an image", lambda p: p.write_text("hello, not an image\n")),
        "heic-header-only": ("heic", "HEIC/HEIF file is damaged or truncated", lambda p: p.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")),
        "postscript-named-jpg": ("jpg", "not an image",
                                 lambda p: p.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")),
    }
    cases = []
    for name, (ext, message, write) in bad.items():
        path = _slot(folder, name, f"{name}.{ext}")
        write(path)
        cases.append(Case(name, message, file=str(path)))
    return cases


def _feed_cases(folder: Path, products: list[Path]) -> list[Case]:
    """Hostile CSV feeds; rows that should import point at real IKEA product photos."""
    folder.mkdir(parents=True)
    photo = iter(products)
    header = "sku,name,category,image,url,price\n"

    def row(sku: str, name: str = "Lamp", url: str = "https://shop.example/p", image: Path | str | None = None) -> str:
        return f'{sku},"{name}",{CATEGORY},{image if image is not None else next(photo)},{url},9.99\n'

    names = {"QN-1": "Lamp\nwith a\r\nthree-line name", "NUL-1": "Lamp\x00with NUL",
             "=1+1": '=HYPERLINK("http://evil.example","click")'}  # stored as given; outputs neutralise
    feeds: dict[str, tuple[str | bytes, str, list[str]]] = {
        "feed-quoted-newlines": (header + row("QN-1", names["QN-1"]), "ok", ["QN-1"]),
        # a NUL byte is refused as a bundle import refuses it (engine.bundle_rows): the row is skipped
        "feed-nul-bytes": (header + row("NUL-1", names["NUL-1"]) + row("NUL-2"), "ok", ["NUL-2"]),
        "feed-huge-field": (header + row("HUGE-1", "x" * 300_000), "field larger than field limit", []),
        "feed-bom": ("\ufeff" + header + row("BOM-1"), "ok", ["BOM-1"]),
        "feed-semicolons": ("sku;name;category;image\n" + f"SEMI-1;Lamp;{CATEGORY};{next(photo)}\n", "ok", ["SEMI-1"]),
        "feed-wrong-columns": ("id_number,title_text,where\n1,2,3\n", "no column for", []),
        "feed-empty": ("", "no column for", []),
        "feed-formula-cells": (header + row("=1+1", '=HYPERLINK(""http://evil.example"",""click"")'), "ok", ["=1+1"]),
        "feed-javascript-urls": (header + row("JS-1", url="javascript:alert(1)")
                                 + row("JS-2", image="javascript:alert(1)//x.jpg"), "ok", ["JS-1"]),
        "feed-local-secret-image": (header + row("SECRET-1", image="/etc/passwd"), "not an image", []),
        "feed-10k-columns": (",".join(["sku", "name", "category", "image"] + [f"c{i}" for i in range(10_000)]) + "\n"
                             + f"WIDE-1,Lamp,{CATEGORY},{next(photo)}," + ",".join("v" * 10_000) + "\n",
                             "the header is 10,004 columns; a feed has at most 1,000", []),
        "feed-latin1": ((header + row("LAT-1", "Caf\xe9 lamp")).encode("latin-1"), "not UTF-8", []),
    }
    cases = []
    for name, (content, expect, skus) in feeds.items():
        path = folder / f"{name}.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        cases.append(Case(name, expect, csv=str(path), skus=skus, ops=("csv",),
                          names={s: names[s] for s in skus if s in names}))
    os.mkfifo(folder / "feed-fifo.csv")
    (folder / "feed-dev-zero.csv").symlink_to("/dev/zero")
    cases += [Case("feed-fifo", "FIFO", csv=str(folder / "feed-fifo.csv"), ops=("csv",)),
              Case("feed-dev-zero", "device", csv=str(folder / "feed-dev-zero.csv"), ops=("csv",))]
    return cases


def _slot(images: Path, case_id: str, name: str) -> Path:
    """Where an image input lives: alone in the category folder of its own catalog folder."""
    category = images / case_id / CATEGORY
    category.mkdir(parents=True)
    return category / name


def _wrap_image(case: Case, root: Path) -> None:
    """The one-image catalog folder and a one-row feed for an image ``case``."""
    case.folder = str(Path(case.file).parent.parent)
    case.skus = [case.id]
    if "csv" in case.ops:
        feed = root / "feeds-of-images" / f"{case.id}.csv"
        feed.parent.mkdir(exist_ok=True)
        feed.write_text(f"sku,name,category,image\n{case.id},{case.id},{CATEGORY},{case.file}\n", encoding="utf-8")
        case.csv = str(feed)


def _encode(image, fmt: str, **options) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _exif(orientation: int):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny real JPEG whose frame header claims ``width`` x ``height``."""
    from PIL import Image

    data = bytearray(_encode(Image.new("RGB", (16, 16), (200, 10, 10)), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_claiming(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b"\x3b"


def _png_bomb(width: int, height: int) -> bytes:
    """An RGB PNG of black, ~1 MB on disk, ``width`` x ``height`` decoded: built from one compressed
    block of rows repeated (a full flush makes blocks independent), so writing it costs no memory."""
    rows = 200
    block = b"\x00" * ((3 * width + 1) * rows)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    part = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(height, rows)
    last = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail_rows = block[: rest * (3 * width + 1)]
    tail = last.compress(tail_rows) + last.flush()
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(block, adler)
    adler = zlib.adler32(tail_rows, adler)
    idat = b"\x78\xda" + part * count + tail + struct.pack(">I", adler)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# -- judging --------------------------------------------------------------------------------------


def judge(case: Case, op: str, outcome: dict) -> str:
    """'' when ``outcome`` is what ``case`` must give under ``op``, else what went wrong."""
    for failure in ("hang", "crash", "traceback"):
        if outcome.get(failure):
            return f"{failure}: {outcome[failure]}" if failure == "traceback" else failure
    if outcome.get("peak_mb", 0) > MEMORY_LIMIT_MB:
        return f"peak memory {outcome['peak_mb']} MB"
    if outcome.get("integrity") != "ok" or outcome.get("removed"):
        return f"catalog damaged: {outcome.get('integrity')}, lost {outcome.get('removed')}"
    expect = case.per_op.get(op, case.expect)
    if expect == "ok":
        return _judge_ok(case, op, outcome)
    reasons = [outcome["error"]] if "error" in outcome else outcome.get("skipped", [])
    if outcome.get("added") or outcome.get("imported"):
        return f"imported {outcome.get('added')} instead of {expect!r}"
    if not any(expect in r for r in reasons):
        return f"expected an error with {expect!r}, got {outcome}"
    if any("\n" in r for r in reasons):
        return f"error is not one line: {reasons}"
    return ""


def _judge_ok(case: Case, op: str, outcome: dict) -> str:
    if "error" in outcome:
        return f"error on a good input: {outcome['error']}"
    if op == "search":
        return "" if tuple(outcome["size"]) == tuple(case.size) else f"size {outcome['size']} != {case.size}"
    want = case.skus if op == "csv" else [Path(case.file).stem]  # a folder's sku is the file name
    if outcome["added"] != sorted(want):
        return f"added {outcome['added']}, expected {sorted(want)} (skipped: {outcome.get('skipped')})"
    wrong = {sku: outcome["names"].get(sku) for sku, name in case.names.items() if outcome["names"].get(sku) != name}
    return f"stored names {wrong}, expected {case.names}" if wrong else ""


# -- the test ----------------------------------------------------------------------------------------


def run_all(corpus: list[Case], ikea: Path, work: Path, code_root: Path = ROOT, restart_above_mb: float = 1e9):
    """Outcomes per operation and input, each operation on its own copy of a 3-product catalog."""
    seed = work / "seed" / CATEGORY
    seed.mkdir(parents=True)
    for photo in sorted((ikea / "products" / CATEGORY).glob("*.jpg"))[-3:]:
        shutil.copy(photo, seed / photo.name)
    seeded = run_corpus("folder", [{"id": "seed", "folder": str(seed.parent)}], work / "base-data",
                        work / "work-seed", code_root)["seed"]
    assert len(seeded["added"]) == 3, seeded

    def run(op: str) -> tuple[str, dict[str, dict]]:
        data = work / f"data-{op}"
        shutil.copytree(work / "base-data", data)
        if op == "tag":
            items = [{"id": "batch", "files": [c.file for c in corpus if "tag" in c.ops]}]
        else:
            items = [{"id": c.id, "file": c.file, "folder": c.folder, "csv": c.csv} for c in corpus if op in c.ops]
        return op, run_corpus(op, items, data, work / f"work-{op}", code_root, restart_above_mb)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, OPS))


def test_hostile_corpus(tmp_path: Path, ikea: Path):
    import pytest

    corpus = build_corpus(tmp_path / "corpus", ikea)
    assert len(corpus) >= 40
    inputs_before = _tree(tmp_path / "corpus")
    results = run_all(corpus, ikea, tmp_path)

    problems = []
    for op in ("search", "folder", "csv"):
        for case in (c for c in corpus if op in c.ops):
            verdict = judge(case, op, results[op][case.id])
            if verdict:
                problems.append(f"{op} {case.id}: {verdict}")
    problems += _judge_batch(corpus, results["tag"]["batch"])
    for op in OPS:
        home = tmp_path / f"work-{op}" / "home"
        strays = [str(p.relative_to(home)) for p in home.rglob("*")]
        if strays:
            problems.append(f"{op}: files outside the data dir and output folder: {strays[:5]}")
    if _tree(tmp_path / "corpus") != inputs_before:
        problems.append("the inputs' folders changed (something was written beside them)")
    if problems:
        pytest.fail(f"{len(problems)} problems:\n" + "\n".join(problems))


def _judge_batch(corpus: list[Case], outcome: dict) -> list[str]:
    for failure in ("hang", "crash", "traceback"):
        if outcome.get(failure):
            return [f"tag: {failure}: {outcome[failure]}"]
    tagged = [c for c in corpus if "tag" in c.ops]
    good = {c.file for c in tagged if c.per_op.get("tag", c.expect) == "ok"}
    problems = [] if outcome["summary"] else ["tag: no summary.csv"]
    if set(outcome["done"]) != good:
        problems.append(f"tag: done {sorted(set(outcome['done']) ^ good)} differ from the good inputs")
    failed = {path: reason for path, reason in outcome["failed"]}
    for case in (c for c in tagged if c.file not in good):
        reason = failed.get(case.file, "")
        if case.expect not in reason or "\n" in reason:
            problems.append(f"tag {case.id}: expected one line with {case.expect!r}, got {reason!r}")
    if outcome["peak_mb"] > MEMORY_LIMIT_MB:
        problems.append(f"tag: peak memory {outcome['peak_mb']} MB")
    return problems


def _tree(root: Path) -> set[tuple[str, int]]:
    return {(str(p), p.lstat().st_size if p.is_symlink() or p.is_file() else 0) for p in root.rglob("*")}


# -- the before/after table of docs/reliability.md -------------------------------------------------


def tally(corpus: list[Case], results: dict[str, dict[str, dict]]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Counts per operation of right results, clear errors, wrong results, tracebacks, hangs, crashes
    and runs over 1 GB; and one line per input that did not end right."""
    table: dict[str, dict[str, int]] = {}
    details = []
    for op in ("search", "folder", "csv"):
        counts: dict[str, int] = {}
        for case in (c for c in corpus if op in c.ops):
            outcome = results[op][case.id]
            kind = _kind(case, op, outcome)
            counts[kind] = counts.get(kind, 0) + 1
            if outcome.get("peak_mb", 0) > 1024:
                counts["over 1 GB"] = counts.get("over 1 GB", 0) + 1
            if kind not in ("right result", "clear error") or outcome.get("peak_mb", 0) > 1024:
                shown = outcome.get("traceback") or outcome.get("error") or outcome.get("skipped") or outcome.get("size")
                details.append(f"{op} {case.id}: {kind}, {outcome.get('peak_mb', '?')} MB: {str(shown)[:150]}")
        table[op] = counts
    batch = results["tag"]["batch"]
    table["tag"] = {"batch": _kind(Case("batch", "ok"), "tag", batch) if "done" not in batch else "finished",
                    "failed": len(batch.get("failed", [])), "done": len(batch.get("done", []))}
    return table, details


def _kind(case: Case, op: str, outcome: dict) -> str:
    for failure in ("hang", "crash", "traceback"):
        if outcome.get(failure):
            return failure
    if not judge(case, op, {**outcome, "peak_mb": 0}):
        return "right result" if case.per_op.get(op, case.expect) == "ok" else "clear error"
    reasons = [outcome["error"]] if "error" in outcome else outcome.get("skipped", [])
    bad_input = case.per_op.get(op, case.expect) != "ok"
    if bad_input and reasons and not outcome.get("added") and all("\n" not in r for r in reasons):
        return "clear error"  # worded otherwise than today's message
    return "wrong result"


if __name__ == "__main__" and sys.argv[1] == "--table":  # python tests/test_hostile_inputs.py --table CODE WORK
    _work = Path(sys.argv[3])
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DECORLENS_MODELS_DIR", str(ROOT.parent / "shared" / "models"))
    _ikea = ROOT.parent / "shared" / "datasets" / "ikea_interior"
    _corpus = build_corpus(_work / "corpus", _ikea)
    _table, _details = tally(_corpus, run_all(_corpus, _ikea, _work, Path(sys.argv[2]).resolve(), 1024))
    print(json.dumps(_table, indent=1), *_details, sep="\n")
elif __name__ == "__main__":
    _child(sys.argv[1])
