"""Tags on people, before and after the pose model keeps them off (issue 21; docs/results.md).

On the photos of ``bench.people_photos`` (shared rooms with people stood in them), each photo is tagged
twice by the engine, ``people: off`` (before) and ``people: on`` (after), with an empty catalog so every
decor object the detectors find gets its tag. Counted against the pose model's body and face masks:
pins on a body, pins on a face, tags whose box is mostly a person, and for objects a person partly
covers whether the pin lies on the visible part of the object's box. On the shared scenes, which have no
people, the cost: tags dropped or moved when it is switched on (the pose model's false people).

    python -m bench.people_tags --data-dir DIR --photos DIR [--scenes DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from engine.imageio import load_image
from engine.people import MOSTLY_PERSON, PeopleRegions
from engine.pipeline import Pipeline
from engine.results import SceneResult
from engine.settings import Settings


def count(result: SceneResult, people: PeopleRegions) -> dict[str, int]:
    """Tags of one result against the people of its photo."""
    shares = [people.body_share(o.box) for o in result.objects]
    covered = [o for o, s in zip(result.objects, shares) if 0 < s < MOSTLY_PERSON]
    return {
        "tags": len(result.objects),
        "pins_on_body": sum(people.on_body(o.tag) for o in result.objects),
        "pins_on_face": sum(people.on_face(o.tag) for o in result.objects),
        "tags_mostly_person": sum(s >= MOSTLY_PERSON for s in shares),
        "partly_covered": len(covered),
        "partly_covered_pin_visible": sum(not people.on_body(o.tag) and _inside(o.tag, o.box) for o in covered),
    }


def _inside(point: tuple[float, float], box: tuple[float, ...]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def photos_before_after(before: Pipeline, after: Pipeline, photos: list[Path]) -> list[dict]:
    rows = []
    for path in photos:
        people = after.people_in(load_image(path))
        off = before.search_scene(path, require_catalog=False)
        on = after.search_scene(path, require_catalog=False)
        rows.append({"photo": path.name, "people": len(people.people),
                     "before": count(off, people), "after": count(on, people)})
        print(path.name, rows[-1], flush=True)
    return rows


def cost_on_rooms(before: Pipeline, after: Pipeline, scenes: list[Path]) -> dict:
    """Tags dropped or moved by switching people on, in photos without people; and the time it takes."""
    dropped = moved = tags = with_people = 0
    seconds = 0.0
    for n, path in enumerate(scenes):
        if n % 25 == 0:
            print(f"rooms without people: {n} of {len(scenes)}", flush=True)
        off = before.search_scene(path, require_catalog=False)
        start = time.perf_counter()
        on = after.search_scene(path, require_catalog=False)
        seconds += time.perf_counter() - start
        with_people += bool(after.people_in(load_image(path)).people)
        kept = {(o.category, o.box): o.tag for o in on.objects}
        tags += len(off.objects)
        dropped += sum((o.category, o.box) not in kept for o in off.objects)
        moved += sum(kept.get((o.category, o.box), o.tag) != o.tag for o in off.objects)
    return {"scenes": len(scenes), "scenes_with_people_found": with_people, "tags": tags,
            "dropped": dropped, "moved": moved, "mean_search_ms_people_on": 1000 * seconds / max(1, len(scenes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an empty catalog's data dir; models/ holds "
                        "the pose ONNX")
    parser.add_argument("--photos", type=Path, required=True, help="the photos of bench.people_photos")
    parser.add_argument("--scenes", type=Path, help="rooms without people, for the cost (e.g. the shared scenes)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = Settings.defaults().with_(data_dir=args.data_dir)
    before, after = Pipeline(settings.with_(people="off")), Pipeline(settings.with_(people="on"))
    report: dict = {"photos": photos_before_after(before, after, sorted(args.photos.glob("*.jpg")))}
    for side in ("before", "after"):
        report[side] = {k: sum(r[side][k] for r in report["photos"]) for k in report["photos"][0][side]}
    if args.scenes:
        report["rooms_without_people"] = cost_on_rooms(before, after, sorted(args.scenes.glob("*.jpg")))
    print(json.dumps({k: v for k, v in report.items() if k != "photos"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
