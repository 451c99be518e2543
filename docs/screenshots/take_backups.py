"""Retake backups.png: Catalog ▸ Restore a Backup… right after a restore from it, the backup of the catalog as
it was listed at the top (so the restore can be undone) and the window's note saying what was restored.

It restores the second-newest backup of the data dir, so give it a COPY of a data dir with two removals in it:

    cp -a DATA /tmp/backups-shot && decorlens --data-dir /tmp/backups-shot catalog remove 903.200.97
    decorlens --data-dir /tmp/backups-shot catalog remove 502.345.82 500.395.52 902.642.18
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/take_backups.py --data-dir /tmp/backups-shot

(DATA: the whole IKEA catalog imported.) The PNG is reduced to 256 colours to stay small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import arguments, save_small, themed_app, until

from app.dialogs.backups import BackupsWindow
from engine.pipeline import Pipeline
from engine.settings import Settings


def wait(app: QApplication, done) -> None:
    until(app, done, "the backups window", 300.0)


def main() -> None:
    args = arguments(__doc__, "backups.png").parse_args()
    app = themed_app(args.theme)
    window = BackupsWindow(Pipeline(Settings.for_data_dir(args.data_dir)))
    window.resize(760, 400)
    window.show()
    wait(app, lambda: window.listing is not None and not window.io.busy())
    if window.table.rowCount() < 2:
        raise SystemExit(f"{args.data_dir} has {window.table.rowCount()} backups: make two removals first")
    window.confirm_restore = lambda question: print(question) or True
    window.table.selectRow(1)
    window.restore_selected()
    wait(app, lambda: not window.restoring and not window.io.busy())
    save_small(app, window, args.out)
    print(f"{args.out}: {window.table.rowCount()} backups; {window.note.text()}")


if __name__ == "__main__":
    main()
