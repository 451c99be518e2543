"""Retake legend-kitchen-band.jpg: a kitchen photo letterboxed beside the Photos strip, its pins in their
categories' colours and the Tags legend in the band above the photo (no pin selected).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_legend.py --data-dir DIR \\
        --scenes ../shared/datasets/ikea_interior/scenes

The data dir must hold the IKEA catalog. A .jpg keeps the photo's colours; the room photo in it is research
data, shown for documentation only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import arguments, scratch, settle, themed_app, until

from app.main_window import MainWindow
from app.settings import AppSettings
from engine.pipeline import Pipeline
from engine.settings import Settings

KITCHEN = "ikea-a-bright-kitchen-idea-with-custom-character__1364316015597-s4.jpg"
SECOND = "ikea-a-contemporary-kitchen-for-big-chefs-and-little-helpers__1364316013714-s4.jpg"  # listed after it


def main() -> None:
    parser = arguments(__doc__, "legend-kitchen-band.jpg")
    parser.add_argument("--scenes", type=Path, default=ROOT.parent / "shared/datasets/ikea_interior/scenes",
                        help="the folder holding the two kitchens")
    args = parser.parse_args()
    folder = scratch() / "Kitchens"
    folder.mkdir()
    for name in (KITCHEN, SECOND):  # two photos, so the window shows its Photos strip (one photo hides it)
        if not (args.scenes / name).is_file():
            raise SystemExit(f"no {name} in {args.scenes}")
        (folder / name).symlink_to((args.scenes / name).resolve())
    app = themed_app(args.theme)
    ini = folder.parent / "settings.ini"
    window = MainWindow(Pipeline(Settings.for_data_dir(args.data_dir)),
                        AppSettings(QSettings(str(ini), QSettings.Format.IniFormat)))
    window.resize(1280, 800)
    window.show()
    window.open_paths([folder])
    view = window.view

    def ready() -> bool:
        """The kitchen (listed first) tagged, its pins and legend placed."""
        opened = window.controller.path == folder / KITCHEN and window.controller.scene is not None
        return opened and bool(view.pins) and view.legend.isVisible()

    until(app, ready, "the kitchen's pins and legend", 300.0)
    settle(app, 50)
    window.grab().save(str(args.out), quality=85)  # as the other .jpg shots: about 100 KB
    print(f"{args.out} {len(view.pins)} pins, {args.out.stat().st_size // 1024} KB")
    window.close()


if __name__ == "__main__":
    main()
