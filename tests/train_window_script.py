"""The start of a script that opens the Train window in a process of its own (``conftest.run_on_scaled_screen``):
the themed application, ``work`` and ``pictures`` from the command line, the screen in ``found``, ``wait`` and
``settle``, and ``a_result``, a run's result as training writes it. test_app_polish and test_train_window_walk
append what they measure."""

PREAMBLE = r"""
import json, sys, time
from pathlib import Path
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
from app import theme
theme.apply(app, "light")
from app.dialogs.train import TrainWindow
from engine.pipeline import Pipeline
from engine.settings import Settings

work, pictures = Path(sys.argv[1]), sys.argv[2].split("|")
screen = app.primaryScreen()
found = {"dpr": screen.devicePixelRatio(), "screen": screen.availableGeometry().getRect()}

def wait(done):
    deadline = time.monotonic() + 120
    while not done():
        assert time.monotonic() < deadline, "timed out"
        app.processEvents()
        time.sleep(0.005)

def settle():
    for _ in range(5):
        app.processEvents()

def a_result(named, detector):
    # A run's result as training writes it: the numbers and four example rows (pictures of at most 128 px), the
    # products' names or none, the detector's line or none
    examples = []
    for i, picture in enumerate(pictures[:4]):
        files = {}
        for side in ("crop", "right", "before", "after"):
            files[side] = str(work / f"{i}-{side}.jpg")
            QImage(picture).scaled(128, 128).save(files[side])
        examples.append({"category": "sofa", "crop": files["crop"],
                         "right": {"sku": "490.473.41", "name": "SÖDERHAMN" if named else "", "thumb": files["right"]},
                         "before": {"sku": "502.345.82", "name": "KIVIK" if named else "", "thumb": files["before"],
                                    "right": False},
                         "after": {"sku": "490.473.41", "name": "SÖDERHAMN" if named else "", "thumb": files["after"],
                                   "right": True}})
    side = lambda share: {"top1": share, "top5": share + 0.2, "pairs": 120, "coverage": 0.6, "tag_precision": 0.7}
    result = {"embedder": {"backbone": "mobilenet_v2", "best_epoch": 3, "epochs": 20, "int8_offered": True,
                           "pretrained": side(0.3), "fine_tuned": side(0.4)},
              "before_after": {"split": "test", "scenes": 30, "before": side(0.3), "after": side(0.4),
                               "paired": {"top5": {"wins": 12, "losses": 3}}, "examples": examples}}
    if detector:
        result["detector"] = {"classes": ["sofa", "chair", "lamp"], "map50": 0.61}
    return result
"""
