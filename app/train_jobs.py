"""Worker-side steps of the Train window: count what it will learn from, prepare a run, activate models.

Each function runs in a ``Runner`` thread (file and SQLite work, never on the UI thread) and imports
``training`` when called, so the app starts without it. None of them imports torch: training itself,
and making a finished run's models ready to use, run in a process of their own (``app.train_process``).
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.corrections_file import FOLDER
from engine.errors import DecorLensError
from engine.paths import TRAINING_RUNS
from engine.pipeline import Pipeline
from engine.scene_memory import photo_count
from engine.settings import Settings, save_choice
from engine.words import counted, day_month

if TYPE_CHECKING:  # the app starts without training's modules
    from training.run import Job

RUNS = TRAINING_RUNS
RUN_PREFIX = "app-"
RUN_STAMP = "%Y%m%d-%H%M%SZ"  # a run folder's name after RUN_PREFIX: when it was started, in UTC (``run_name``)
LOCAL_STAMP = "%Y%m%d-%H%M%S"  # the same in local time, as runs were named before
MIN_PAIRS = 30  # below this, fine-tuning mostly memorises: docs/training.md trains on hundreds
MIN_PHOTOS = 10  # pairs spread over fewer photos leave nothing to hold back for the before/after
MIN_BOXES = 50  # the detector learns a category from tens of boxes, not a handful
DATASET_FILES = "products.csv, pairs.csv and scenes/"
REVIEW = "Catalog ▸ Review Uncertain Tags…"  # where the tags to confirm are listed, least sure first
# What Resume does with a run stopped before its end, in the words of every line that says it (``resume_does``): it
# continues from the last finished epoch, except a run of both models stopped while it found objects, whose matching
# model is exported again from its finished checkpoint while finding objects trains from the start (the detector keeps
# no checkpoint). The Resume button's status spelled its own words beside these.
CONTINUES = "continues from its last finished epoch"
FINDS_AGAIN = "keeps matching's training and trains finding objects again from the start"
RESUME_CONTINUES = f"Resume {CONTINUES}"
RESUME_FINDS_AGAIN = f"Resume {FINDS_AGAIN}"
MEASURES = ("top1", "top5", "coverage", "tag_precision")  # a before / after's shares, each from 0 to 1


@dataclass
class LastRun:
    """The newest finished run and, where a run's models are the ones in use (its *Use this model*), that run and
    the models in use before them, for Undo."""

    run: Path
    when: str  # when it was started, in words (``started_words``)
    result: dict[str, Any]  # its result.json: the before / after the window showed
    used: Path | None = None  # the run whose models are in use: ``run``, an older one, or None (none of the runs')
    used_when: str = ""
    before: tuple[list[str], list[list[str]]] | None = None  # (embedder, detectors) before ``used``'s Use
    # whose ``before`` are, in words (``_whose``): what Undo brings back; told by ``before``, so not compared
    before_words: str = field(default="", compare=False)
    undo_off: str = field(default="", compare=False)  # why Undo cannot go back from ``used``'s models: "" where it can


@dataclass
class Summary:
    """What a training run would learn from, counted per catalog category."""

    photos: int = 0  # corrected in the app
    pairs: Counter = field(default_factory=Counter)  # confirmed products (app and folder), per category
    boxes: Counter = field(default_factory=Counter)  # detector labels, per category
    removed: int = 0
    folder_pairs: int = 0
    folder_photos: int = 0
    missing_photos: int = 0
    unreadable: list[str] = field(default_factory=list)  # corrections files that cannot be read
    unknown_products: int = 0  # confirmed products the catalog no longer has
    new_since_last: int = 0  # corrections saved after the last finished training
    trained: bool = False  # a run finished before: "new since the last training" means something
    tagged: int = 0  # photos tagged (the scene memory: the app and batch tagging), corrected or not
    resumable: Path | None = None  # a run folder a crash or a closed window left behind
    resumable_said: str = ""  # what Resume would continue, in words (``stopped_words``)
    resumable_finds_again: bool = False  # it stopped while finding objects: RESUME_FINDS_AGAIN, not its last epoch
    last: LastRun | None = None  # the newest finished run, for the window opened again after it
    damaged: list[str] = field(default_factory=list)  # run files left as they are and unused: "app-…/result.json: why"

    def warnings(self, kind: str = "both", trained: bool = False) -> list[str]:
        """Plain words for each thing there is too little of, for what a ``kind`` of run trains.

        Once a run has ``trained``, its measured before / after says more than the forecast that the data
        is too little, so the forecast is left out (a photo that went missing is still said).
        """
        out = []
        pairs, photos = sum(self.pairs.values()), self.photos + self.folder_photos
        if not trained and kind != "detector" and (pairs < MIN_PAIRS or photos < MIN_PHOTOS):
            out.append(f"Too little to improve the matches yet: {pairs} confirmed products on {photos} photos. "
                       f"Confirm the right product on at least {MIN_PAIRS} tags over {MIN_PHOTOS} or more photos "
                       f"({REVIEW} lists the tags to check{'' if self.folder_photos else ', or add a dataset folder'}"
                       "); a few photos of every category help most.")
        if not trained and kind != "embedder" and sum(self.boxes.values()) < MIN_BOXES:
            out.append(f"Too few corrected tags to improve finding objects: {sum(self.boxes.values())} boxes "
                       f"(at least {MIN_BOXES}). Correct or draw tags on more photos.")
        if self.missing_photos:
            out.append(f"{self.missing_photos} corrected photos were moved or deleted and are left out.")
        if self.unreadable:
            more = f" and {len(self.unreadable) - 1} more" if len(self.unreadable) > 1 else ""
            out.append(f"Saved corrections that cannot be read are left out: {self.unreadable[0]}{more}, in the "
                       f"data folder's {FOLDER} folder.")
        if self.unknown_products:
            products = ("1 product confirmed on tags is" if self.unknown_products == 1
                        else f"{self.unknown_products} products confirmed on tags are")
            out.append(f"{products} no longer in the catalog; those tags are left out of the matches' training.")
        if self.damaged:
            more = f" (and {len(self.damaged) - 1} more)" if len(self.damaged) > 1 else ""
            out.append(f"A training run's file cannot be used and is left as it is: {self.damaged[0]}{more}, in the "
                       f"data folder's {RUNS} folder.")
        return out


def runs_dir(pipeline: Pipeline) -> Path:
    return pipeline.data_dir / RUNS


def gather(pipeline: Pipeline, folder: Path | None) -> Summary:
    from training.app_data import collect
    from training.data import PairDataset

    check_folder(folder)
    data = collect(pipeline.data_dir, _skus(pipeline))
    summary = Summary(len(data.photos), data.pairs_per_category(), data.boxes_per_category(), data.removed_count,
                      missing_photos=len(data.missing_photos), unreadable=data.unreadable,
                      unknown_products=len(data.unknown_products))
    if folder is not None:
        dataset = PairDataset.load(folder)
        summary.pairs.update(p.category for p in dataset.pairs)
        summary.boxes.update(p.category for p in dataset.pairs if p.box)
        summary.folder_pairs, summary.folder_photos = len(dataset.pairs), len(dataset.scenes)
    summary.new_since_last, summary.trained = _new_since_last(pipeline)
    summary.tagged = photo_count(pipeline.catalog)
    summary.resumable = resumable_run(pipeline)
    summary.resumable_said = stopped_words(summary.resumable) if summary.resumable else ""
    summary.resumable_finds_again = summary.resumable is not None and finding_objects_reached(summary.resumable)
    summary.last, summary.damaged = last_run(pipeline)
    return summary


def resume_does(finds_again: bool) -> str:
    """What Resume does with the run it would continue, without its subject: ``FINDS_AGAIN`` or ``CONTINUES``."""
    return FINDS_AGAIN if finds_again else CONTINUES


def check_folder(folder: Path | None) -> None:
    """A dataset folder the window can use, else one line saying what it lacks and what to do: the training
    code's "no products.csv (expected …)" said "no products.csv" of a folder that did not exist too, and a folder
    with a products.csv but no pairs.csv (a catalog feed's) was taken without a word, adding nothing."""
    if folder is None:
        return
    advice = (f"a dataset folder holds {DATASET_FILES}. Choose one, or clear the field to train on your "
              "corrections alone.")
    if not folder.is_dir():
        raise DecorLensError(f"{folder}: no such folder; " + advice)
    for name, lacks in (("products.csv", "the products"), ("pairs.csv", "which product is in which photo")):
        if not (folder / name).is_file():
            raise DecorLensError(f"{folder} is not a dataset folder: it has no {name} ({lacks}); " + advice)


def _skus(pipeline: Pipeline) -> set[str]:
    return {p.sku for p in pipeline.catalog.products()}


def _new_since_last(pipeline: Pipeline) -> tuple[int, bool]:
    """The corrections saved since the last finished run, and whether there was one."""
    finished = [p.stat().st_mtime for p in runs_dir(pipeline).glob(f"{RUN_PREFIX}*/result.json")]
    since = max(finished, default=0.0)
    return sum(p.stat().st_mtime > since for p in (pipeline.data_dir / FOLDER).glob("*.json")), bool(finished)


def resumable_run(pipeline: Pipeline) -> Path | None:
    """The newest app run with a job and an epoch checkpoint but no result: a crash or a closed window."""
    runs = newest_first(runs_dir(pipeline))
    return next((r for r in runs if (r / "job.json").is_file() and not (r / "result.json").is_file()
                 and any((r / "embedder").glob("**/last.pt"))), None)  # one network's, or either of two


def last_run(pipeline: Pipeline) -> tuple[LastRun | None, list[str]]:
    """The newest finished run, in use or not, and the run files passed over as unusable (``Summary.damaged``). Its
    before / after and Use lived only as long as the window that ran it, and Undo as long as the one that chose Use:
    opened again (the app quit meanwhile), the window showed neither, and had no way back to the stock models or an
    earlier run's. A result.json cut short, edited by hand or naming a model outside its run is passed over, said,
    and left as it is: shown, its numbers were shown as they stood (5700 %) or, a key missing, the window's opening
    ended in a traceback, and Use copied whatever file it named."""
    from training.run import RESULT, RunFileUnreadable, read_run_json

    runs = newest_first(runs_dir(pipeline))
    damaged: list[str] = []
    for newest in runs:
        if not (newest / RESULT).is_file():  # unfinished
            continue
        try:
            result = read_run_json(newest / RESULT)
        except (OSError, ValueError) as exc:
            why = exc if isinstance(exc, RunFileUnreadable) else "not JSON" if isinstance(exc, ValueError) else (
                exc.strerror or "not a regular file")
            damaged.append(f"{newest.name}/{RESULT}: {why}")
            continue
        if wrong := result_wrong(result, newest):
            damaged.append(f"{newest.name}/{RESULT}: {wrong}")
            continue
        last = LastRun(newest, started_words(newest), result)
        for run in runs:
            if (used := _before_use(pipeline, run)) is not None:
                last.used, last.used_when, (last.before, last.undo_off) = run, started_words(run), used
                last.before_words = _whose(runs, last.before) if last.before else ""
                break
        return last, damaged
    return None, damaged


def result_wrong(result: Any, run: Path) -> str | None:
    """Why a run's ``result.json`` cannot be shown or used, in a few words; None where it can. What the window reads
    of it is checked for its kind and range, and each model it names must be in the run's own ``models`` folder:
    Use copies that file into the data folder's models and makes it active."""
    if not isinstance(result, dict) or not {"embedder", "detector"} & result.keys():
        return "not a training result"
    for kind in ("embedder", "detector"):
        part = result.get(kind)
        if part is None:
            continue
        if not isinstance(part, dict) or not isinstance(part.get("model"), str):
            return f"its {kind} names no model"
        if not _inside(Path(part["model"]), run / "models"):
            return f"its model {part['model']} is not in the run's models folder"
    return _embedder_wrong(result.get("embedder")) or _detector_wrong(result.get("detector")) or _compared_wrong(
        result.get("before_after"))


def _embedder_wrong(embedder: dict | None) -> str | None:
    if not embedder:
        return None
    members = embedder.get("members", [embedder])
    if not isinstance(members, list) or not members or not all(
            isinstance(n, dict) and _count(n.get("epochs")) and _count(n.get("best_epoch"))
            and n["best_epoch"] <= n["epochs"] and isinstance(n.get("backbone"), str) for n in members):
        return "its epochs are not counts of epochs"
    if not all(_shares(embedder[side]) for side in ("pretrained", "fine_tuned") if side in embedder):
        return "its matches' measures are not shares from 0 to 1"
    return None


def _detector_wrong(detector: dict | None) -> str | None:
    if not detector:
        return None
    classes, score = detector.get("classes"), detector.get("map50")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        return "its categories are not names"
    if score is not None and not (_share(score) or (isinstance(score, float) and math.isnan(score))):
        return "its score is not a share from 0 to 1"
    return None


def _compared_wrong(compared: Any) -> str | None:
    """A before / after: its two sides' measures, counts and examples (whose pictures must be files, where they are
    there at all: a folder or a device read for ever)."""
    if not compared:
        return None
    if not (isinstance(compared, dict) and _shares(compared.get("before")) and _shares(compared.get("after"))
            and _count(compared["after"].get("pairs")) and _count(compared.get("scenes"))
            and isinstance(compared.get("split"), str)):
        return "its before / after is not measures of held-back photos"
    top5 = compared.get("paired", {"top5": {"wins": 0, "losses": 0}})
    if not (isinstance(top5, dict) and isinstance(top5.get("top5"), dict)
            and all(_count(top5["top5"].get(k)) for k in ("wins", "losses"))):
        return "its before / after's wins and losses are not counts"
    examples = compared.get("examples", [])
    if not isinstance(examples, list) or not all(_example(e) for e in examples):
        return "its examples are not products and pictures"
    return None


def _example(example: Any) -> bool:
    """An example row: its category, three matches (a SKU or none, right or not) and pictures that are files."""
    try:
        matches = [example[side] for side in ("before", "after", "right")]
        pictures = [example["crop"], *(m["thumb"] for m in matches)]
        named = isinstance(example["category"], str) and all(
            isinstance(m["sku"], str | None) and isinstance(m.get("name") or "", str) for m in matches)
        right = all(isinstance(m.get("right", False), bool) for m in matches)
    except (TypeError, KeyError, AttributeError):  # not a mapping where one is read
        return False
    return named and right and all(p is None or (isinstance(p, str) and _file_or_absent(Path(p))) for p in pictures)


def _file_or_absent(path: Path) -> bool:
    return path.is_file() or not os.path.lexists(path)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _share(value: Any) -> bool:
    return type(value) in (int, float) and 0 <= value <= 1


def _shares(side: Any) -> bool:
    """One side of a before / after: its measures shares (any may be missing: not measured)."""
    return isinstance(side, dict) and all(side[k] is None or _share(side[k]) for k in MEASURES if k in side)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is in ``folder``, links and ``..`` followed."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL in the name
        return False


def _before_use(pipeline: Pipeline, run: Path) -> tuple[tuple[list[str], list[list[str]]] | None, str] | None:
    """Where ``run``'s models are the ones in use (else None): the models in use before its Use made them active,
    and why Undo cannot go back to them ("": it can). Undo saves and opens them, so each must be a model file in the
    models folders, there now: an ``install.json`` edited to name a file elsewhere was activated as it stood, and
    one whose models were deleted saved a choice the app could not start with."""
    from training.run import INSTALL_JOB, Job

    settings = pipeline.settings
    if _installed(run) != (list(settings.embedder), [list(d) for d in settings.detectors]):
        return None
    wrong = f"Undo is off: {RUNS}/{run.name}/{INSTALL_JOB} in the data folder, the models in use before its Use,"
    try:
        before = Job.load(run / INSTALL_JOB)
    except DecorLensError:  # cut short, or written by another version
        return None, f"{wrong} cannot be read."
    if before.embedder is None or before.detectors is None:
        return None, f"{wrong} names none."
    if why := models_wrong(pipeline, before.embedder, before.detectors):
        return None, f"{wrong} is of no use: {why}."
    return (before.embedder, before.detectors), ""


def models_wrong(pipeline: Pipeline, embedder: Any, detectors: Any) -> str | None:
    """Why an embedder and detectors cannot be made active, in a few words; None where they can: each a list of file
    names (alternatives) in the models folders (``engine.paths.model_search_path``), one of them there."""
    from engine.models import find_first
    from engine.paths import model_search_path
    from training.run import model_names

    if not (isinstance(detectors, list) and detectors and all(map(model_names, [embedder, *detectors]))):
        return "its models are not lists of model file names"
    groups = [embedder, *detectors]
    settings = pipeline.settings
    folders = model_search_path(settings.models_dir, settings.data_dir)
    outside = next((n for g in groups for n in g if Path(n).name != n and not any(_inside(Path(n), f) for f in folders)),
                   None)
    if outside is not None:
        return f"the model {outside} is not in the models folders"
    for group in groups:
        try:
            find_first(group, settings.models_dir, settings.data_dir)
        except DecorLensError:
            return f"the model {group[0]} is no longer in the models folders"
    return None


def _installed(run: Path) -> tuple[list[str], list[list[str]]] | None:
    """The models ``run``'s Use made active (its ``installed.json``); None where it was never used."""
    from training.run import INSTALLED, read_run_json

    try:
        installed = read_run_json(run / INSTALLED)
        return installed["embedder"], installed["detectors"]
    except (OSError, ValueError, TypeError, KeyError):  # never used, or written by another version
        return None


def _whose(runs: list[Path], models: tuple[list[str], list[list[str]]]) -> str:
    """Whose ``models`` are, in words: a run's, whose Use made them active (its own Undo then goes back further), the
    stock ones, or others (chosen in Settings)."""
    run = next((run for run in runs if _installed(run) == models), None)
    if run is not None:
        return f"the models of the run {started_words(run)}"
    stock = Settings.defaults()
    return "the stock models" if models == (list(stock.embedder), [list(d) for d in stock.detectors]) else "the models in use before"


def run_name(started: datetime) -> str:
    """The folder name of a run ``started`` then: in UTC, so that names sort as the runs were started (the newest
    run is the last by name). Named in local time, a run started in the hour that repeats when the clocks go back
    sorted before one started in the first pass of that hour, and a laptop flown west sorted the runs it started
    on landing before those of the day before: the window showed an earlier run as the last one, and Resume
    offered an older run."""
    return f"{RUN_PREFIX}{started.astimezone(UTC):{RUN_STAMP}}"


def newest_first(folder: Path) -> list[Path]:
    """The app's runs in ``folder``, newest first: by their names (``run_name``), those named after now last. A run
    named after now was started while the clock was ahead (set back since: a battery's reset, a fix by hand), and
    every run started since is named before it: the window showed it as the last run, and Resume offered it."""
    now = datetime.now(UTC)
    return sorted(folder.glob(f"{RUN_PREFIX}*"), key=lambda run: ((_started(run) or now) <= now, run.name),
                  reverse=True)


def _started(run: Path) -> datetime | None:
    """When ``run`` was started, from its folder's name; None for a folder renamed by hand, or named before the
    calendar's start in local time (its local time raised OverflowError, and no run could be listed)."""
    stamp = run.name.removeprefix(RUN_PREFIX)
    try:
        return datetime.strptime(stamp, RUN_STAMP).replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.strptime(stamp, LOCAL_STAMP).astimezone()  # named before runs were named in UTC
    except (ValueError, OverflowError, OSError):  # OSError: Windows' local time of a date before 1970
        return None


def started_words(run: Path) -> str:
    """When a run was started, from its folder's name, in local time: "started 7 Dec at 15:37"; its name where that
    time is past the calendar (named at year 9999's end, east of UTC)."""
    started = _started(run)
    try:
        started = started and started.astimezone()
    except OverflowError:
        started = None
    if started is None:
        return f"in {run.name}"
    return f"started {day_month(started)} at {started:%H:%M}"


def stopped_words(run: Path) -> str:
    """What Resume continues, in words. The window opened on a run that a quit app or a crash had left showed a
    Resume button alone, beside the settings' defaults (20 epochs, 3 views): it said neither which run it was, how
    far it had got, nor that Resume keeps that run's own settings whatever the fields say."""
    from training.run import JOB, Job, backbones_of

    when = started_words(run)
    try:
        job = Job.load(run / JOB)
        networks = len(backbones_of(job.backbone))
    except DecorLensError:  # a job written by another version: Resume says what is wrong with it
        return f"A run {when} stopped before the end: Resume continues it, Start begins a new one."
    done = sum(_epochs_done(history, job.epochs) for history in (run / "embedder").glob("**/history.json"))
    if _matching_exported(run, job):
        return (f"A run {when} stopped while finding objects, after matching's training ({counted(done, 'epoch')}): "
                f"{RESUME_FINDS_AGAIN}; Start begins a new one with the fields' settings.")
    kept = [counted(job.views, "view")] if job.views else []
    kept += ["two networks"] if networks > 1 else []
    return (f"A run {when} stopped after {counted(done, 'epoch')} of at most {networks * job.epochs}: Resume continues "
            f"it as it was set ({', '.join([counted(job.epochs, 'epoch'), *kept])}), whatever the fields say; Start "
            "begins a new one with them.")


def finding_objects_reached(run: Path) -> bool:
    """Whether a run of both models had finished matching and gone on to finding objects: ``training.run`` exports
    matching's model into the run's models (``<run>/models/<name>.onnx``, one network's or two combined) before the
    detector begins. Resume then does RESUME_FINDS_AGAIN, not continue from the last finished epoch."""
    from training.run import JOB, Job

    try:
        return _matching_exported(run, Job.load(run / JOB))
    except DecorLensError:
        return False


def _matching_exported(run: Path, job: Job) -> bool:
    from training.run import BOTH

    return job.kind == BOTH and (run / "models" / f"{job.name}.onnx").is_file()


def _epochs_done(history: Path, most: int) -> int:
    """The epochs a network's ``history.json`` records as finished (its epoch 0 is the model it started from), from 0
    to the job's ``most``: one edited by hand had the window say "stopped after 1000000 epochs of at most 2"."""
    from training.run import read_run_json

    try:
        done = max((int(row.get("epoch", 0)) for row in read_run_json(history)), default=0)
    except (OSError, ValueError, TypeError, AttributeError, OverflowError):  # OverflowError: int(inf)
        return 0
    return min(max(done, 0), most)


def prepare(pipeline: Pipeline, folder: Path | None, kind: str, epochs: int, views: int,
            two_networks: bool = False) -> Path:
    """A new run folder with the training data and ``job.json``; returns the job file. ``two_networks``
    fine-tunes MobileNetV2 and EfficientNet-Lite0 and combines them: better matches, twice the time."""
    from training.app_data import collect, write_detector_folder, write_pairs_folder
    from training.run import ONE_NETWORK, TWO_NETWORKS, Job

    check_folder(folder)
    run = runs_dir(pipeline) / run_name(datetime.now(UTC))
    stamp = run.name.removeprefix(RUN_PREFIX)
    data = collect(pipeline.data_dir, _skus(pipeline))
    products = [(p.sku, p.category, p.image_path) for p in pipeline.catalog.products()]
    pairs = write_pairs_folder(data, products, run / "data", folder)
    detector = write_detector_folder(data, run / "yolo") if kind != "embedder" else None
    settings = pipeline.settings
    job = Job(data_dir=str(pipeline.data_dir), run=str(run), kind=kind, dataset=str(pairs),
              detector_data=str(detector or ""), name=f"my-photos-{stamp}",
              epochs=epochs, views=views, backbone=TWO_NETWORKS if two_networks else ONE_NETWORK,
              **_models_in_use(settings))
    return job.save()


def resume(run: Path) -> Path:
    """``run``'s job again, to continue from its checkpoint: refused, in one line, where ``job.json`` names another run
    or data folder, data outside the run or a model name with folders in it (edited by hand, or copied from another
    run): training wrote its checkpoints, the YOLO labels' cache and its models there."""
    from training.run import BOTH, DETECTOR, EMBEDDER, JOB, Job

    job = Job.load(run / JOB)
    folders = [(job.run, run), (job.data_dir, run.parent.parent)]
    inside = [job.dataset, job.detector_data]
    if not (all(_same(Path(named), real) for named, real in folders)
            and all(_inside(Path(path), run) for path in inside if path)
            and isinstance(job.name, str) and job.name and Path(job.name).name == job.name
            and job.kind in (EMBEDDER, DETECTOR, BOTH)):
        raise DecorLensError(f"cannot resume {run}: its {JOB} names other folders than its own or a model name with "
                             "folders in it; Start begins a new run")
    job.resume = True
    return job.save()


def _same(path: Path, folder: Path) -> bool:
    try:
        return path.resolve() == folder.resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def discard(run: Path) -> None:
    """A cancelled run leaves nothing: its folder (data, checkpoints, partial model) goes."""
    shutil.rmtree(run, ignore_errors=True)


def install_job(pipeline: Pipeline, run: Path, int8: bool) -> Path:
    """The job that makes ``run``'s models ready to use (``training.install``), for the training process:
    an int8 copy and a pair's levels are seconds of Python work that would hold the UI thread."""
    from training.run import INSTALL, INSTALL_JOB, RESULT, Job, read_run_json

    try:  # read again: the file shown may have been changed since
        wrong = result_wrong(read_run_json(run / RESULT), run)
    except (OSError, ValueError):
        wrong = "it cannot be read"
    if wrong:
        raise DecorLensError(f"cannot use {run / RESULT}: {wrong}")
    job = Job(data_dir=str(pipeline.data_dir), run=str(run), kind=INSTALL, int8=int8, **_models_in_use(pipeline.settings))
    return job.save(INSTALL_JOB)


def _models_in_use(settings: Settings) -> dict[str, Any]:
    """The app's models, for a job: they can differ from the data dir's saved choice (``--embedder`` and
    ``--detector`` at start), and the job's before / after and install start from the ones the user sees."""
    return {"models_dir": str(settings.models_dir or ""), "device": settings.device,
            "embedder": list(settings.embedder), "detectors": [list(d) for d in settings.detectors]}


def activate(pipeline: Pipeline, embedder: list[str], detectors: list[list[str]], progress, cancelled) -> Pipeline:
    """The catalog embedded for models in the models folders, then those saved as the active choice (as ``decorlens
    models activate``). Saved first, a model gone (or refused) left config.yaml naming it, and a window closed while
    the catalog was embedded left the models it had not switched to saved for the next start."""
    if why := models_wrong(pipeline, embedder, detectors):
        raise DecorLensError(f"cannot make these models active: {why}")
    settings = pipeline.settings.with_(embedder=tuple(embedder), detectors=tuple(tuple(d) for d in detectors))
    active = Pipeline(settings, pipeline.log)
    active.prepare_matcher(progress=progress, cancelled=cancelled)
    save_choice(pipeline.data_dir, "embedder", embedder)
    save_choice(pipeline.data_dir, "detectors", detectors)
    return active
