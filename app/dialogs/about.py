"""Help ▸ About: what this is, its version and licence, the models it runs and theirs, where the docs are.

A store that deploys DecorLens must be able to tell which licences it ships: the app is AGPL-3.0,
the YOLO detectors are Ultralytics' (AGPL-3.0) and the MobileNet/EfficientNet embedders Google's
(Apache-2.0). Model cards carry no licence field, so it is read from where the weights come from.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from app.links import open_outside
from engine import __version__
from engine.errors import DecorLensError
from engine.models import ResolvedModel, available_models
from engine.paths import resources_dir

LICENCE = "AGPL-3.0-or-later"
# Beside resources/: the repo's docs/app.md, or the copy build.spec puts in the packaged app (its _internal/docs),
# whose About said "docs/app.md and README.md in the DecorLens source", a source the store's staff never get.
DOCS = resources_dir().parent / "docs" / "app.md"
GUIDE_LINK = "decorlens:guide"  # About's link to the guide, opened in the app (app.dialogs.guide)
GUIDE_CHOSEN = 100  # what the box's exec returns when that link was followed
# Words in a model's name or source → the licence of its weights.
MODEL_LICENCES = (
    (("ultralytics", "yolo"), "AGPL-3.0 (Ultralytics)"),
    (("mobilenet", "effnet", "efficientnet"), "Apache-2.0 (Google)"),
)


def model_licence(model: ResolvedModel) -> str:
    text = f"{model.card.name} {model.card.source} {model.path.name}".lower()
    return next((lic for words, lic in MODEL_LICENCES if any(w in text for w in words)), "see its model card")


def about_html(models: list[ResolvedModel], data_dir: Path | None = None) -> str:
    """The About text; model names and files come from cards on disk, so they are escaped. It names the data
    folder, linked: what support asks for first (the catalog, its settings and backups are there)."""
    rows = "".join(
        f"<tr><td>{html.escape(m.card.name)}&nbsp;&nbsp;</td><td>{html.escape(m.card.kind)}&nbsp;&nbsp;</td>"
        f"<td>{html.escape(model_licence(m))}</td></tr>"
        for m in models
    )
    docs = (
        f'<a href="{GUIDE_LINK}">the user guide</a> (also Help ▸ User Guide)'
        if DOCS.exists()
        else "docs/app.md and README.md in the DecorLens source"
    )
    return (
        f"<h3>DecorLens {html.escape(__version__)}</h3>"
        "<p>Shop the look, offline: finds the furniture and decor in a room photo and the matching "
        "products in your catalog. No photo leaves this computer.</p>"
        f"<p>Licence: <b>{LICENCE}</b>.</p>"
        f"<p><b>Models</b></p><table>{rows or '<tr><td>none found</td></tr>'}</table>"
        f"<p>Documentation: {docs}.</p>"
        + (f"<p>This computer's catalog, settings and backups: {_folder_link(data_dir)}.</p>"
           if data_dir is not None else "")
    )


def _folder_link(folder: Path) -> str:
    return f'<a href="{QUrl.fromLocalFile(str(folder)).toString()}">{html.escape(str(folder))}</a>'


def show_about(parent: QWidget, models_dir: str | Path | None, data_dir: Path,
               open_guide: Callable[[], None]) -> None:
    """The box; its guide link opens ``open_guide``'s window once the box is closed (a .md file's link found no
    program to open it on a store PC), any other link the system's way."""
    try:
        models = available_models(models_dir, data_dir)
    except DecorLensError:
        models = []
    box = QMessageBox(parent)
    box.setWindowTitle("About DecorLens")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_html(models, data_dir))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    text = box.findChild(QLabel, "qt_msgbox_label")
    text.setOpenExternalLinks(False)
    text.linkActivated.connect(lambda link: box.done(GUIDE_CHOSEN) if link == GUIDE_LINK
                               else open_outside(QUrl(link), box))
    if box.exec() == GUIDE_CHOSEN:
        open_guide()
