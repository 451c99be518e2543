"""Help ▸ About: what this is, its version and licence, the models it runs and theirs, where the docs are.

A store that deploys DecorLens must be able to tell which licences it ships: the app is AGPL-3.0,
the YOLO detectors are Ultralytics' (AGPL-3.0) and the MobileNet/EfficientNet embedders Google's
(Apache-2.0). Model cards carry no licence field, so it is read from where the weights come from.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QMessageBox, QWidget

from engine import __version__
from engine.errors import DecorLensError
from engine.models import ResolvedModel, available_models

LICENCE = "AGPL-3.0-or-later"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "app.md"  # app/dialogs/about.py: two folders up
# Words in a model's name or source → the licence of its weights.
MODEL_LICENCES = (
    (("ultralytics", "yolo"), "AGPL-3.0 (Ultralytics)"),
    (("mobilenet", "effnet", "efficientnet"), "Apache-2.0 (Google)"),
)


def model_licence(model: ResolvedModel) -> str:
    text = f"{model.card.name} {model.card.source} {model.path.name}".lower()
    return next((lic for words, lic in MODEL_LICENCES if any(w in text for w in words)), "see its model card")


def about_html(models: list[ResolvedModel]) -> str:
    """The About text; model names and files come from cards on disk, so they are escaped."""
    rows = "".join(
        f"<tr><td>{html.escape(m.card.name)}&nbsp;&nbsp;</td><td>{html.escape(m.card.kind)}&nbsp;&nbsp;</td>"
        f"<td>{html.escape(model_licence(m))}</td></tr>"
        for m in models
    )
    docs = (
        f'<a href="{QUrl.fromLocalFile(str(DOCS)).toString()}">the app guide</a> (docs/app.md)'
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
    )


def show_about(parent: QWidget, models_dir: str | Path | None, data_dir: Path) -> None:
    try:
        models = available_models(models_dir, data_dir)
    except DecorLensError:
        models = []
    box = QMessageBox(parent)
    box.setWindowTitle("About DecorLens")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_html(models))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    box.exec()
