"""Retake first-start.png: the window a new user sees, the model pack installed and the catalog empty.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_first_start.py

The pack is installed from ../shared/models into a new data dir, as `scripts/install` does.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from take_screenshots import save, settle, wait

from app import theme
from app.main import application
from app.main_window import MainWindow
from app.settings import AppSettings
from engine import modelpack
from engine.pipeline import Pipeline
from engine.settings import Settings


def main() -> None:
    home = Path(tempfile.mkdtemp())
    modelpack.install(ROOT.parent / "shared/models", home / "data" / "models")
    app = application()
    theme.apply(app, "light")
    settings = AppSettings(QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(Pipeline(Settings.defaults().with_(data_dir=home / "data")), settings)
    window.resize(1360, 860)
    window.show()
    wait(app, lambda: window.engine_info is not None)
    settle(app, 1.5)
    save(window, "first-start.png")
    window.close()


if __name__ == "__main__":
    main()
