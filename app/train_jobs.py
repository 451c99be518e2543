"""Worker-side steps of the Train window: count what it will learn from, prepare a run, activate models.

Each function runs in a ``Runner`` thread (file and SQLite work, never on the UI thread) and imports
``training`` when called, so the app starts without it. None of them imports torch: training itself,
and making a finished run's models ready to use, run in a process of their own (``app.train_process``).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.corrections_file import FOLDER
from engine.errors import DecorLensError
from engine.paths import TRAINING_RUNS
from engine.pipeline import Pipeline
from engine.scene_memory import photo_count
from engine.settings import Settings, save_choice
from engine.words import counted

if TYPE_CHECKING:  # the app starts without training's modules
    from training.run import Job

RUNS = TRAINING_RUNS
RUN_PREFIX = "app-"
RUN_STAMP = "%Y%m%d-%H%M%S"  # a run folder's name after RUN_PREFIX: when it was started
MIN_PAIRS = 30  # below this, fine-tuning mostly memorises: docs/training.md trains on hundreds
MIN_PHOTOS = 10  # pairs spread over fewer photos leave nothing to hold back for the before/after
MIN_BOXES = 50  # the detector learns a category from tens of boxes, not a handful
DATASET_FILES = "products.csv, pairs.csv and scenes/"
REVIEW = "Catalog ▸ Review Uncertain Tags…"  # where the tags to confirm are listed, least sure first
# What Resume does with a run of both models stopped while it found objects: matching's model is exported again from
# its finished checkpoint, and finding objects trains from the start (the detector keeps no checkpoint)
RESUME_FINDS_AGAIN = "Resume keeps matching's training and trains finding objects again from the start"


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
    summary.last = last_run(pipeline)
    return summary


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
    runs = sorted(runs_dir(pipeline).glob(f"{RUN_PREFIX}*"), reverse=True)
    return next((r for r in runs if (r / "job.json").is_file() and not (r / "result.json").is_file()
                 and any((r / "embedder").glob("**/last.pt"))), None)  # one network's, or either of two


def last_run(pipeline: Pipeline) -> LastRun | None:
    """The newest finished run, in use or not. Its before / after and Use lived only as long as the window that ran
    it, and Undo as long as the one that chose Use: opened again (the app quit meanwhile), the window showed
    neither, and had no way back to the stock models or an earlier run's."""
    from training.run import RESULT

    runs = sorted(runs_dir(pipeline).glob(f"{RUN_PREFIX}*"), reverse=True)
    for newest in runs:
        try:
            result = json.loads((newest / RESULT).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unfinished
            continue
        if not isinstance(result, dict):  # written by hand or by another version
            continue
        last = LastRun(newest, started_words(newest), result)
        for run in runs:
            if before := _before_use(pipeline, run):
                last.used, last.used_when, last.before = run, started_words(run), before
                last.before_words = _whose(runs, before)
                break
        return last
    return None


def _before_use(pipeline: Pipeline, run: Path) -> tuple[list[str], list[list[str]]] | None:
    """The models in use before ``run``'s Use made its own active, where those are still in use; else None."""
    from training.run import INSTALL_JOB, Job

    settings = pipeline.settings
    if _installed(run) != (list(settings.embedder), [list(d) for d in settings.detectors]):
        return None
    try:
        before = Job.load(run / INSTALL_JOB)
    except DecorLensError:  # written by another version
        return None
    return None if before.embedder is None or before.detectors is None else (before.embedder, before.detectors)


def _installed(run: Path) -> tuple[list[str], list[list[str]]] | None:
    """The models ``run``'s Use made active (its ``installed.json``); None where it was never used."""
    from training.run import INSTALLED

    try:
        installed = json.loads((run / INSTALLED).read_text(encoding="utf-8"))
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


def started_words(run: Path) -> str:
    """When a run was started, from its folder's name: "started 7 Dec at 15:37"."""
    try:
        started = datetime.strptime(run.name.removeprefix(RUN_PREFIX), RUN_STAMP)
    except ValueError:  # a folder renamed by hand
        return f"in {run.name}"
    return f"started {started.day} {started:%b} at {started:%H:%M}"


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
    done = sum(_epochs_done(history) for history in (run / "embedder").glob("**/history.json"))
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


def _epochs_done(history: Path) -> int:
    """The epochs a network's ``history.json`` records as finished (its epoch 0 is the model it started from)."""
    try:
        return max((int(row.get("epoch", 0)) for row in json.loads(history.read_text(encoding="utf-8"))), default=0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def prepare(pipeline: Pipeline, folder: Path | None, kind: str, epochs: int, views: int,
            two_networks: bool = False) -> Path:
    """A new run folder with the training data and ``job.json``; returns the job file. ``two_networks``
    fine-tunes MobileNetV2 and EfficientNet-Lite0 and combines them: better matches, twice the time."""
    from training.app_data import collect, write_detector_folder, write_pairs_folder
    from training.run import ONE_NETWORK, TWO_NETWORKS, Job

    check_folder(folder)
    stamp = datetime.now().strftime(RUN_STAMP)
    run = runs_dir(pipeline) / f"{RUN_PREFIX}{stamp}"
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
    from training.run import Job

    job = Job.load(run / "job.json")
    job.resume = True
    return job.save()


def discard(run: Path) -> None:
    """A cancelled run leaves nothing: its folder (data, checkpoints, partial model) goes."""
    shutil.rmtree(run, ignore_errors=True)


def install_job(pipeline: Pipeline, run: Path, int8: bool) -> Path:
    """The job that makes ``run``'s models ready to use (``training.install``), for the training process:
    an int8 copy and a pair's levels are seconds of Python work that would hold the UI thread."""
    from training.run import INSTALL, INSTALL_JOB, Job

    job = Job(data_dir=str(pipeline.data_dir), run=str(run), kind=INSTALL, int8=int8, **_models_in_use(pipeline.settings))
    return job.save(INSTALL_JOB)


def _models_in_use(settings: Settings) -> dict[str, Any]:
    """The app's models, for a job: they can differ from the data dir's saved choice (``--embedder`` and
    ``--detector`` at start), and the job's before / after and install start from the ones the user sees."""
    return {"models_dir": str(settings.models_dir or ""), "device": settings.device,
            "embedder": list(settings.embedder), "detectors": [list(d) for d in settings.detectors]}


def activate(pipeline: Pipeline, embedder: list[str], detectors: list[list[str]], progress, cancelled) -> Pipeline:
    """Models saved as the active choice (as ``decorlens models activate``) and the catalog embedded for them."""
    save_choice(pipeline.data_dir, "embedder", embedder)
    save_choice(pipeline.data_dir, "detectors", detectors)
    settings = pipeline.settings.with_(embedder=tuple(embedder), detectors=tuple(tuple(d) for d in detectors))
    active = Pipeline(settings, pipeline.log)
    active.prepare_matcher(progress=progress, cancelled=cancelled)
    return active
