"""Shots of the Train window (issue 20): a folder that is not a dataset, training running, the before/after with
*Use this model*, and after Use.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_train_shots.py --out docs/screenshots
    ... take_train_shots.py --out docs/screenshots --two-networks   # train-two-networks-{running,result}.png

A throwaway data dir gets a small slice of the shared IKEA data as its catalog and two of its photos
tagged and corrected with the app's own code; the slice is also the window's dataset folder (after a folder
of room photos alone, which is not one: train-not-a-dataset.png). Training is real (a few epochs, one view
per photo, so it takes a minute on a CPU, not the twenty of a full run).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from ikea_slice import write_slice

from app import theme
from app.dialogs.train import TrainWindow
from app.main import application
from engine import corrections
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.data import PairDataset

SHARED = ROOT.parent / "shared"


def wait(app, condition, seconds: float = 1200) -> bool:
    end = time.time() + seconds
    while not condition() and time.time() < end:
        app.processEvents()
        time.sleep(0.02)
    return condition()


def corrected_photos(pipeline: Pipeline, photos: list[Path]) -> None:
    """Tag photos and correct them as a merchandiser would: confirm the best matches, remove a tag."""
    for image in photos:
        scene = corrections.EditableScene(pipeline.search_scene(image), corrections.image_digest(image))
        for tag in scene.tags[:4]:
            if tag.obj.matches:
                scene.confirm(tag.number, tag.obj.matches[0])
        if len(scene.tags) > 5:
            scene.remove(scene.tags[5].number)
        corrections.save(scene.to_json(), pipeline.data_dir)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--two-networks", action="store_true", help="tick Two networks; shoot the second one training")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="train-shots-"))
    shutil.copytree(SHARED / "models", work / "data" / "models",
                    ignore=lambda _d, names: [n for n in names if not n.startswith("yolo11n-ovint8-dq.")])
    dataset = write_slice(SHARED / "datasets" / "ikea_interior", work / "slice", train=4, val=2)
    pipeline = Pipeline(Settings.defaults().with_(data_dir=work / "data", models_dir=SHARED / "models"))
    pipeline.import_catalog(dataset / "products.csv")
    corrected_photos(pipeline, sorted(PairDataset.load(dataset).scenes.values())[:2])
    app = application()
    theme.apply(app, "light")
    window = TrainWindow(pipeline)
    window.what.setCurrentIndex(0)
    window.epochs.setValue(3)
    window.views.setValue(1)
    window.two_networks.setChecked(args.two_networks)
    prefix = "train-two-networks" if args.two_networks else "train"
    window.show()
    if not args.two_networks:  # a folder of room photos alone, chosen as the dataset folder
        photos = work / "room-photos"
        photos.mkdir()
        for scene in sorted(PairDataset.load(dataset).scenes.values())[:3]:
            shutil.copy(scene, photos / scene.name)
        window.folder.setText(str(photos))
        window.refresh()
        if not wait(app, lambda: "not a dataset folder" in window.warning.text(), 60):
            raise SystemExit(f"the window took the photos for a dataset: {window.warning.text()}")
        wait(app, lambda: False, 0.5)
        window.grab().save(str(args.out / "train-not-a-dataset.png"))
    window.folder.setText(str(dataset))
    window.refresh()
    if not wait(app, window.start_button.isEnabled):
        raise SystemExit(f"the window never offered Start: {window.warning.text()}")
    window.start()
    if args.two_networks:
        wait(app, lambda: "network 2 of 2" in window.elapsed.text())
    wait(app, lambda: window.bars["Training"][1].value() >= 50)
    wait(app, lambda: "left" in window.elapsed.text(), 3)
    window.grab().save(str(args.out / f"{prefix}-running.png"))
    if not wait(app, window.results_box.isVisible):
        raise SystemExit(f"training did not finish: {window.status.text()}")
    wait(app, lambda: window.before_after.examples.count() > 0, 60)  # thumbnails are read in a worker
    wait(app, lambda: not window.warning.isVisibleTo(window), 30)  # the data is counted again after a run
    wait(app, lambda: False, 0.5)  # and the window lays itself out again
    window.grab().save(str(args.out / f"{prefix}-result.png"))
    if not args.two_networks:
        window.use()  # the models are readied in the training process, then activated
        if not wait(app, window.undo_button.isEnabled, 600):
            raise SystemExit(f"Use did not finish: {window.status.text()}")
        app.processEvents()
        window.grab().save(str(args.out / "train-used.png"))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
