"""Toolbar and menu icons from Phosphor (MIT), drawn from the icon font ``qtawesome`` ships (no files here).

An icon font renders crisply at any size and in any colour, so the same icons serve the light and
the dark theme: they are drawn in the theme's text colour, and redrawn when the theme changes.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qtawesome reaches Qt through QtPy: use PySide6, not PyQt

import qtawesome
from PySide6.QtGui import QIcon

from app import theme

NAMES = {
    "open": "ph.image",
    "folder": "ph.folder-open",
    "batch": "ph.stack",
    "catalog": "ph.storefront",
    "train": "ph.graduation-cap",
    "settings": "ph.gear-six",
    "undo": "ph.arrow-counter-clockwise",
    "redo": "ph.arrow-clockwise",
    "about": "ph.info",
    "export": "ph.export",
}


def icon(key: str) -> QIcon:
    """The icon for ``key`` (a name in ``NAMES``) in the current theme's colours."""
    c = theme.colours()
    return qtawesome.icon(NAMES[key], color=c.text, color_disabled=c.line, color_active=c.accent)
