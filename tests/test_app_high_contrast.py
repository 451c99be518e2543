"""A desktop set to high contrast (Windows High Contrast, GNOME's or KDE's) lost it: the app put its own light or dark
palette in its place. With "system" the app now takes a high-contrast variant of its own (words 7:1 or more, the
keyboard's ring, fields' edges and panels' lines 4.5:1 or more). And the dark theme's ring stood 2.70:1 on a hovered
button and 2.57:1 on a pressed toggle, under WCAG's 3:1. Offscreen: measured on the palette applied and the pixels
drawn. Qt answers "no preference" on an X server without a portal for it, so "system" is given the desktop's answer."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, contrast
from PySide6.QtCore import SIGNAL, QPoint
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from app import theme

pytestmark = pytest.mark.gui
AAA_TEXT, HIGH_SHAPE = 7.0, 4.5
R = QPalette.ColorRole
WORDS = (R.WindowText, R.Text, R.ButtonText, R.PlaceholderText, R.ToolTipText, R.Link)
GROUNDS = (R.Window, R.Base, R.Button, R.AlternateBase, R.ToolTipBase)



@pytest.mark.parametrize("dark", [False, True])
def test_system_follows_the_desktops_high_contrast(restore_light, dark):
    """"system" on a high-contrast desktop: every word on every ground of the palette applied 7:1 or more, the ring
    (Highlight) and what it selects, the edges, lines and coloured words as far; "light" and "dark" stay the user's."""
    assert theme.chosen("light", False, True) is theme.LIGHT and theme.chosen("dark", True, True) is theme.DARK
    c = theme.chosen("system", dark, True)
    theme.style(restore_light, c)
    p = restore_light.palette()
    assert theme.colours() is c and theme.is_dark_now() == dark and p.color(R.Window).name() == c.window
    words = [p.color(r) for r in WORDS] + [QColor(x) for x in (c.muted, c.error, c.warning, c.success)]
    grounds = [p.color(r) for r in GROUNDS] + [QColor(c.hover), QColor(c.pressed)]
    low = [(w.name(), g.name()) for w in words for g in grounds if contrast(w, g) < AAA_TEXT]
    assert not low, low
    assert contrast(p.color(R.HighlightedText), p.color(R.Highlight)) >= AAA_TEXT
    shapes = [p.color(R.Highlight)] + [QColor(x) for x in (c.edge, c.line)]
    low = [(s.name(), g.name()) for s in shapes for g in grounds if contrast(s, g) < HIGH_SHAPE]
    assert not low, low
    levels = [(b, t) for b, t in theme.MESSAGE_LEVELS[c].values() if contrast(b, t) < AAA_TEXT]
    assert not levels, levels


def test_system_is_styled_again_when_the_desktop_turns_high_contrast_on_or_off(restore_light):
    """Qt tells of a switch while the app runs (contrastPreferenceChanged), as of light and dark."""
    theme.apply(restore_light, "system")
    hints = QGuiApplication.styleHints()
    signal = SIGNAL("contrastPreferenceChanged(Qt::ContrastPreference)")
    assert hints.accessibility().receivers(signal) >= 1


def ring_and_inside(button: QPushButton) -> tuple[QColor, QColor]:
    """The colour of the button's left edge at mid-height (the ring) and of its fill just inside the ring."""
    image = button.grab().toImage()
    middle = image.height() // 2
    return image.pixelColor(0, middle), image.pixelColor(4, middle)


@pytest.mark.parametrize("look", ["light", "dark", "high light", "high dark"])
def test_the_ring_reads_on_a_hovered_a_pressed_and_a_default_button(qtbot, restore_light, look):
    """The ring is the accent, 3:1 (4.5:1 in high contrast) from the fill of a hovered button, of a toggle that is
    on and, in high contrast, of a default button (framed there, not filled: the accent and the panel around it
    leave no colour for a ring 4.5:1 from both)."""
    if look.startswith("high"):
        c, needed = theme.HIGH[look.endswith("dark")], HIGH_SHAPE
        theme.style(restore_light, c)
    else:
        theme.apply(restore_light, look)
        c, needed = theme.colours(), SHAPE_CONTRAST
    holder = QWidget()
    qtbot.addWidget(holder)
    hovered, toggle, default = QPushButton("Open"), QPushButton("Why this match?", checkable=True), QPushButton("OK")
    toggle.setChecked(True)
    layout = QVBoxLayout(holder)
    for button in (hovered, toggle, default):
        layout.addWidget(button)
    holder.show()
    qtbot.waitExposed(holder)
    holder.activateWindow()
    for under in (toggle, hovered):  # a move onto the spot the last test left the pointer at enters nothing
        qtbot.mouseMove(under, QPoint(6, 6))
    found = {}
    buttons = {"hovered": hovered, "pressed": toggle} | ({"default": default} if c in theme.HIGH else {})
    default.setDefault(True)
    for name, button in buttons.items():
        button.setFocus()
        qtbot.waitUntil(button.hasFocus)
        ring, inside = ring_and_inside(button)
        found[name] = (ring.name(), inside.name(), round(contrast(ring, inside), 2))
    fills = {"hovered": c.hover, "pressed": c.pressed, "default": c.base}
    assert all(inside == fills[name] for name, (_ring, inside, _ratio) in found.items()), found
    assert all(ring == c.accent and ratio >= needed for ring, _inside, ratio in found.values()), (c.accent, found)
