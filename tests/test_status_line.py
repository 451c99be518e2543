"""The status bar's words about the engine (app.widgets.status_line)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.engine_info import EngineInfo
from app.widgets.status_line import StatusLine

pytestmark = pytest.mark.gui


def test_models_missing_says_no_device_and_names_no_models(qtbot):
    """After Settings chose a damaged model or an empty folder, "Models missing" stood beside "Running on CPU"."""
    line = StatusLine()
    qtbot.addWidget(line)
    line.show_engine(EngineInfo("CPU", "YOLO11n", "MobileNetV2", "yolo11n.onnx\nmobilenet_v2.onnx"))
    assert line.device.text() == "Running on CPU"
    line.show_loading()
    line.show_missing()
    assert line.models.text() == "Models missing"
    assert (line.device.text(), line.device.toolTip()) == ("", "")
