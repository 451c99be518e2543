"""Retake check-installation.png: Help ▸ Check Installation… once every step has passed, the verdict below; with
``--guide-out`` also a picture of Help ▸ User Guide at its first screenshot (not shown in docs/app.md).

Give it a COPY of a data dir (the whole IKEA catalog imported), the models found as the app finds them:

    cp -a DATA /tmp/help-shot
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/take_help.py --data-dir /tmp/help-shot

The PNG is reduced to 256 colours to stay small.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import arguments, catalog_window, save_small, themed_app, until

from app.dialogs.guide import GuideWindow
from app.dialogs.install_check import InstallCheckWindow


def main() -> None:
    parser = arguments(__doc__, "check-installation.png")
    parser.add_argument("--guide-out", type=Path, help="also save the User Guide window here")
    args = parser.parse_args()
    app = themed_app(args.theme)
    win = catalog_window(app, args.data_dir)
    win.check_installation()
    check = win.findChild(InstallCheckWindow)
    check.resize(760, 400)
    until(app, lambda: not check.running(), "the check", 300.0)
    save_small(app, check, args.out)
    print(f"wrote {args.out}: {check.verdict.text()}")
    if args.guide_out:
        win.show_guide()
        guide = win.findChild(GuideWindow)
        guide.resize(900, 700)
        app.processEvents()
        until(app, lambda: not guide.browser._refit.isActive(), "the guide's pictures", 30.0)
        save_small(app, guide, args.guide_out)
        print(f"wrote {args.guide_out}")
    check.close()
    win.close()


if __name__ == "__main__":
    main()
