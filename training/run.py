"""One training entry point for the CLI and the app, with one progress protocol.

Progress is ``progress(stage, done, total, message)``: ``stage`` names the step ("anchors",
"validation scenes", "composites", "views (…)", "train", "validate", "detector", "export",
"evaluate": the before / after on held-back photos; "install": the chosen run's models made ready to
use, its message naming the step, ``training.install.INT8``, ``CATALOG`` or ``LEVELS``), ``done`` of ``total`` is how far it is,
``message`` says it in words ("epoch 2 · loss=0.4312", "epoch 2: val recall@1 0.400 @5 0.700").
Cancellation is a callable checked between steps (``threading.Event().is_set`` will do). ``decorlens train`` draws tqdm bars from it; the app's Train
window runs ``python -m training.run JOB.json`` in a worker *process* (training would starve the UI
of a thread) and reads the same events as JSON lines on stdout, each prefixed with ``@decorlens``
so stray library output cannot be mistaken for one. Writing ``cancel`` to its stdin, or closing it
(the app went away), stops it between steps; the run folder's checkpoint then lets ``resume``
continue.

A job writes everything into its run folder, the models included (``<run>/models``): nothing the
engine uses changes until the app copies a model out and activates it.
"""

from __future__ import annotations

import json
import os
import reprlib
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import Cancelled, DecorLensError, ModelError
from engine.files import TooLarge, read_json_bounded, write_atomic
from engine.settings import Settings

if TYPE_CHECKING:  # torch comes with these: the app reads this module's protocol without loading it
    from engine.pipeline import Pipeline
    from training import detector as det
    from training.loop import TrainConfig, TrainEvent, TrainResult

Progress = Callable[[str, int, int, str], None]
IsCancelled = Callable[[], bool]
PREFIX = "@decorlens "
RESULT = "result.json"
JOB = "job.json"
EMBEDDER, DETECTOR, BOTH = "embedder", "detector", "both"
INSTALL = "install"  # a finished run's models made ready to use (training.install), after the user chose Use
INSTALL_JOB = "install.json"  # its job: the models in use before Use, which Undo goes back to
INSTALLED = "installed.json"  # the models Use made active: whether they still are, once the app is opened again
ONE_NETWORK = "mobilenet_v2"  # training.recipes.DEFAULT_BACKBONE, named without loading torch (tested equal)
PAIR = "+"  # joins two backbones that are both fine-tuned, then run as one embedder (training.combine)
TWO_NETWORKS = PAIR.join((ONE_NETWORK, "efficientnet-lite0"))
NETWORK = "network"  # progress step: the next of several networks starts (done: networks finished, total: all)
RUN_FILE_MAX_BYTES = 16 * 2**20  # a run's JSON holds numbers, names and a few examples: kilobytes


class RunFileUnreadable(ValueError):
    """A run file too large or nested too deep to be one DecorLens wrote; its message says which, in a few words."""


def read_run_json(path: Path) -> Any:
    """The JSON of a run's file (job, result, install, history), which a user, a sync tool or another copy of the app
    may have replaced. Read as ``engine.files.read_json_bounded`` reads such files: a FIFO is refused at once (it held
    the Train window's worker for ever) and a file of gigabytes is not read whole. Raises OSError (not there, not a
    regular file) or ValueError (not JSON; ``RunFileUnreadable`` where too large or nested past Python's limit, which
    raised RecursionError out of the window's opening)."""
    try:
        return read_json_bounded(path, RUN_FILE_MAX_BYTES)
    except TooLarge as exc:
        raise RunFileUnreadable("larger than a run's file") from exc
    except RecursionError as exc:
        raise RunFileUnreadable("nested too deep") from exc


def backbones_of(value: str) -> list[str]:
    """The backbone, or the two different ones a ``PAIR`` joins, that a job or ``decorlens train`` fine-tunes."""
    backbones = value.split(PAIR)
    if len(backbones) > 2 or not all(backbones) or len(set(backbones)) < len(backbones):
        raise ModelError(f"--backbone is one backbone, or two different ones joined by '{PAIR}' (e.g. {TWO_NETWORKS})")
    return backbones


def train_embedder(
    config: TrainConfig, pipeline, progress: Progress, cancelled: IsCancelled = lambda: False
) -> TrainResult:
    """``training.loop.train`` reporting through the shared protocol."""
    from training.loop import train

    return train(config, pipeline, _embedder_events(progress), cancelled)


def _embedder_events(progress: Progress) -> Callable[[TrainEvent], None]:
    def report(event: TrainEvent) -> None:
        if event.stage == "validate":
            m = event.metrics or {}
            message = f"epoch {event.epoch}: val recall@1 {m['recall@1']:.3f} @5 {m['recall@5']:.3f}"
        elif event.stage == "train":
            message = f"epoch {event.epoch}" + (f" · loss={event.loss:.4f}" if event.loss is not None else "")
        else:
            message = ""
        progress(event.stage, event.done, event.total, message)

    return report


def train_detector(
    config: det.DetectorConfig, data_yaml: Path, pipeline, progress: Progress, cancelled: IsCancelled = lambda: False
) -> det.DetectorResult:
    """``training.detector.train_from_yolo`` reporting through the shared protocol."""
    from training.detector import train_from_yolo

    def report(stage: str, done: int, total: int, metrics: dict | None) -> None:
        if metrics is not None:
            progress("validate", done, total, f"epoch {done}/{total}: val mAP50 {metrics.get('metrics/mAP50(B)', 0):.3f}")
        else:
            progress("detector", done, total, stage)

    return train_from_yolo(config, data_yaml, pipeline, report, cancelled)


# -- the app's job: a JSON file in the run folder, run in a process of its own ----------------------


@dataclass
class Job:
    """What the Train window asks for; saved as ``<run>/job.json`` so a crashed run can resume."""

    data_dir: str
    run: str  # run folder
    kind: str = EMBEDDER  # embedder, detector, both, or install (the run's result, made ready to use)
    dataset: str = ""  # pairs folder (training.app_data.write_pairs_folder)
    detector_data: str = ""  # YOLO data.yaml (training.app_data.write_detector_folder)
    name: str = "my-photos"
    models_dir: str = ""
    device: str = "cpu"
    epochs: int = 20
    backbone: str = ONE_NETWORK  # or two joined by "+", e.g. TWO_NETWORKS
    detector_epochs: int | None = None  # None: the detector's default for the device (training.detector)
    batch_size: int = 32
    views: int | None = None  # cached augmented views per photo (None: the loop's default, 3 on CPU)
    composites: int = 1  # synthetic anchors per catalog product, as `decorlens train` (0: scene crops only)
    seed: int = 0
    limit_scenes: int | None = None
    resume: bool = False
    compare: bool = True  # the before / after on held-back photos when training ends (the Train window's)
    int8: bool = False  # install: use the embedder's int8 copy
    embedder: list[str] | None = None  # the models the app runs (None: the data dir's saved choice)
    detectors: list[list[str]] | None = None

    def save(self, name: str = JOB) -> Path:
        path = Path(self.run) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Job:
        """The job saved in ``path``, each value of its kind and range: a job.json edited by hand (epochs "many", views
        a list) raised ValueError or TypeError far from it, and the Train window, reading what Resume would continue,
        said only that nothing could be counted."""
        try:
            job = cls(**read_run_json(Path(path)))
        except (OSError, ValueError, TypeError) as exc:
            raise DecorLensError(f"training job {path} is unreadable ({exc})") from exc
        if wrong := job._wrong():
            raise DecorLensError(f"training job {path} is unreadable ({wrong})")
        return job

    def _wrong(self) -> str | None:
        """The first value not of its field's kind and range, in words; None where all are."""
        for name, value in asdict(self).items():
            if not _JOB_VALUES[name](value):
                return f"{name}: {reprlib.repr(value)}"
        return None


def model_names(value: Any) -> bool:
    """Whether ``value`` is a list of model file names, alternatives to one another: a job's embedder, each of its
    detectors (``app.train_jobs.models_wrong`` asks it of the models Undo and Use make active too)."""
    return isinstance(value, list) and bool(value) and all(isinstance(n, str) and n for n in value)


def _at_least(least: int, optional: bool = False) -> Callable[[Any], bool]:
    return lambda v: (optional and v is None) or (type(v) is int and v >= least)


def _text(value: Any) -> bool:
    return isinstance(value, str)


_JOB_VALUES: dict[str, Callable[[Any], bool]] = {  # each Job field's kind and range
    "data_dir": _text, "run": _text, "kind": lambda v: v in (EMBEDDER, DETECTOR, BOTH, INSTALL), "dataset": _text,
    "detector_data": _text, "name": _text, "models_dir": _text, "device": _text, "epochs": _at_least(1),
    "backbone": lambda v: isinstance(v, str) and 0 < len(v.split(PAIR)) <= 2 and all(v.split(PAIR)),
    "detector_epochs": _at_least(1, optional=True), "batch_size": _at_least(1), "views": _at_least(1, optional=True),
    "composites": _at_least(0), "seed": lambda v: type(v) is int, "limit_scenes": _at_least(1, optional=True),
    "resume": lambda v: isinstance(v, bool), "compare": lambda v: isinstance(v, bool),
    "int8": lambda v: isinstance(v, bool), "embedder": lambda v: v is None or model_names(v),
    "detectors": lambda v: v is None or (isinstance(v, list) and all(model_names(d) for d in v)),
}


def job_settings(job: Job) -> Settings:
    """The data dir's settings with the app's models: the ones it ran when the user started the job."""
    return Settings.for_data_dir(job.data_dir).with_(
        models_dir=Path(job.models_dir) if job.models_dir else None, device=job.device,
        embedder=tuple(job.embedder) if job.embedder is not None else None,
        detectors=tuple(tuple(d) for d in job.detectors) if job.detectors is not None else None)


def run_job(job: Job, progress: Progress, cancelled: IsCancelled = lambda: False) -> dict[str, Any]:
    """Train what ``job`` asks; write the models and ``result.json`` into the run folder; return the result."""
    from engine.pipeline import Pipeline

    pipeline = Pipeline(job_settings(job))
    run, result = Path(job.run), {}
    if job.kind == INSTALL:
        return _install_job(job, pipeline, run, progress, cancelled)
    _refuse_pack_names(job, pipeline)
    if job.kind in (EMBEDDER, BOTH):
        from training.install import int8_offered

        result[EMBEDDER] = _embedder_job(job, pipeline, run, progress, cancelled) | {"int8_offered": int8_offered(pipeline)}
    if job.kind in (DETECTOR, BOTH):
        result[DETECTOR] = _detector_job(job, pipeline, run, progress, cancelled)
    if job.compare and job.dataset:
        result["before_after"] = _before_after(job, pipeline, run, result, progress, cancelled)
    write_atomic(run / RESULT, json.dumps(result, indent=1))
    return result


def _refuse_pack_names(job: Job, pipeline: Pipeline) -> None:
    """The rule `decorlens train` keeps, for a job: no model it makes takes a pack model's name, before any
    training. The Train window names its runs ``my-photos-<time>``, never a pack name; a job file written by hand
    or by another version is checked all the same, since Use copies its models into the data dir's models."""
    from engine.modelpack import refuse_pack_name

    names = [job.name]
    if job.kind in (EMBEDDER, BOTH) and len(backbones_of(job.backbone)) == 2:
        names += [f"{job.name}.{backbone}" for backbone in backbones_of(job.backbone)]
    if job.kind in (DETECTOR, BOTH):
        names.append(f"{job.name}-detector")
    refuse_pack_name(names, pipeline.data_dir / "models", option="the name ")


def _install_job(job: Job, pipeline, run: Path, progress: Progress, cancelled: IsCancelled) -> dict[str, Any]:
    """The models of the run's ``result.json`` copied, prepared and embedded for (``training.install``)."""
    from training.install import install

    result = read_run_json(run / RESULT)
    installed = install(pipeline, result, lambda step, done, total: progress(INSTALL, done, total, step), cancelled,
                        job.int8)
    write_atomic(run / INSTALLED, json.dumps(installed, indent=1))
    return installed


def _embedder_job(job: Job, pipeline, run: Path, progress: Progress, cancelled: IsCancelled) -> dict[str, Any]:
    backbones = backbones_of(job.backbone)
    if len(backbones) == 1:
        return _train_member(job, pipeline, job.backbone, job.name, run / "embedder", progress, cancelled)
    members = []
    for n, backbone in enumerate(backbones, 1):
        # a progress view starts its stages and time estimate again for each network
        progress(NETWORK, n - 1, len(backbones), f"network {n} of {len(backbones)}")
        members.append(_train_member(job, pipeline, backbone, f"{job.name}.{backbone}", run / "embedder" / backbone,
                                     _numbered(progress, n, len(backbones)), cancelled))
    return _combined(job, run, members)


def _train_member(job: Job, pipeline, backbone: str, name: str, out: Path, progress: Progress,
                  cancelled: IsCancelled) -> dict[str, Any]:
    from training.loop import TrainConfig, export_trained

    config = TrainConfig(data=Path(job.dataset), out=out, epochs=job.epochs, batch_size=job.batch_size,
                         views=job.views, composites=job.composites, seed=job.seed, limit_scenes=job.limit_scenes,
                         resume=job.resume, device=job.device, backbone=backbone)
    trained = train_embedder(config, pipeline, progress, cancelled)
    progress("export", 0, 1, "writing the model")
    path = export_trained(trained, Path(job.run) / "models", name)
    progress("export", 1, 1, "")
    before, after = trained.baseline, trained.best
    return {
        "model": str(path), "backbone": backbone, "best_epoch": trained.best_epoch, "epochs": len(trained.history) - 1,
        "held_back_pairs": int(trained.data.get("val_detectable_pairs", trained.data.get("val_queries", 0))),
        "pretrained": {"top1": before["recall@1"], "top5": before["recall@5"]},
        "fine_tuned": {"top1": after["recall@1"], "top5": after["recall@5"]},
        "seconds": trained.timings["total"],
    }


def _combined(job: Job, run: Path, members: list[dict[str, Any]]) -> dict[str, Any]:
    """The members as one embedder. Its levels need the catalog embedded with it, which is done when the
    model is used (the ``install`` job), so the result says what to calibrate on."""
    from engine.models import find_model
    from training.combine import combine_embedders

    path = combine_embedders(*(find_model(m["model"]) for m in members), run / "models", job.name)
    return {"model": str(path), "members": members, "calibrate": {"dataset": job.dataset, "seed": job.seed},
            "seconds": sum(m["seconds"] for m in members)}


def _numbered(progress: Progress, n: int, of: int) -> Progress:
    """Each member's steps report as usual, their words saying which network is training."""
    def report(stage: str, done: int, total: int, message: str) -> None:
        progress(stage, done, total, f"network {n} of {of}" + (f": {message}" if message else ""))

    return report


def _detector_job(job: Job, pipeline, run: Path, progress: Progress, cancelled: IsCancelled) -> dict[str, Any]:
    from training import detector as det

    if not job.detector_data:
        raise DecorLensError("no corrected boxes to train the detector on: tag and correct some photos first")
    config = det.DetectorConfig(data=Path(job.detector_data).parent, out=run / "detector", name=f"{job.name}-detector",
                                epochs=job.detector_epochs, device=job.device)
    trained = train_detector(config, Path(job.detector_data), pipeline, progress, cancelled)
    path = det.export_trained(trained, config, run / "models", conf=0.03)
    return {"model": str(path), "classes": trained.classes,
            "map50": trained.metrics.get("metrics/mAP50(B)", float("nan")), "seconds": trained.timings.get("train", 0)}


def _before_after(job: Job, pipeline, run: Path, result: dict[str, Any], progress: Progress,
                  cancelled: IsCancelled) -> dict[str, Any]:
    """The new models against the old on the run's held-back photos (``training.before_after``)."""
    from training.before_after import compare

    embedder, detector = result.get(EMBEDDER), result.get(DETECTOR)
    return compare(pipeline, Path(job.dataset), run, job.seed, Path(embedder["model"]) if embedder else None,
                   Path(detector["model"]) if detector else None, detector["classes"] if detector else [],
                   progress, cancelled)


def main(argv: list[str] | None = None) -> int:
    """``python -m training.run JOB.json``: run a job, reporting in ``@decorlens {json}`` lines on stdout."""
    args = sys.argv[1:] if argv is None else argv
    if hasattr(os, "nice"):
        os.nice(10)  # background work: the app's UI thread (and everything else) gets the cores first
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    try:
        result = run_job(Job.load(Path(args[0])), _emit_progress, stop.is_set)
    except Cancelled as exc:
        _emit(type="cancelled", message=str(exc))
        return 3
    except (DecorLensError, OSError) as exc:
        _emit(type="error", message=str(exc))
        return 2
    _emit(type="done", result=result)
    return 0


def _watch_stdin(stop: threading.Event) -> None:
    """``cancel`` on stdin, or stdin closed (the app quit or crashed), stops the job between steps."""
    for line in sys.stdin:
        if line.strip() == "cancel":
            break
    stop.set()


def _emit_progress(stage: str, done: int, total: int, message: str) -> None:
    _emit(type="progress", stage=stage, done=done, total=total, message=message)


def _emit(**event: Any) -> None:
    print(PREFIX + json.dumps(event), flush=True)


if __name__ == "__main__":
    sys.exit(main())
