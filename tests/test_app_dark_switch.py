"""Colours that did not follow the theme, found walking the app in the dark theme and switching theme with windows
open (Settings' Look, or the desktop under "Same as the system"): the setup page's error box was pale pink in
both themes, and its failed-install line, the User Guide's links and its note kept the colours of the theme they
were first shown in (1.8:1 to 2.5:1 after a switch). Each is measured as drawn (pixels of the grab) or as the
document holds it, in both orders of switching. Offscreen (pytest-qt), no models, no waiting on workers."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SWITCHES, TEXT_CONTRAST, colours_drawn, contrast, settle
from PySide6.QtGui import QColor

from app import theme
from app.dialogs.guide import GUIDE, GuideWindow
from app.widgets.setup_page import SetupPage
from app.workers import Runner

pytestmark = pytest.mark.gui





@pytest.mark.parametrize(("first", "then"), SWITCHES)
def test_the_setup_pages_errors_take_the_themes_colours(qtbot, tmp_path, restore_light, first, then, qapp):
    """The box of what was looked for: the message bar's error colours of each theme (it was #7a271a on #fdf2f0 in
    both, a pale patch in the middle of the dark page); a failed install's line in the error colour of the theme
    in use, also after a switch."""
    theme.apply(restore_light, first)
    page = SetupPage(Runner(1, qapp), lambda: tmp_path / "models")
    qtbot.addWidget(page)
    page.show_error("model yolo11n.onnx not found in /nowhere")
    page._failed("The model pack is not in /nowhere")
    page.resize(900, 600)
    page.show()
    qtbot.waitExposed(page)
    theme.apply(restore_light, then)
    settle(qtbot)
    c = theme.colours()
    background, words = theme.MESSAGE_LEVELS[c]["error"]
    box = page.error
    assert box.grab().toImage().pixelColor(4, box.height() // 2).name() == background  # inside its padding
    assert contrast(words, background) >= TEXT_CONTRAST
    stale = (theme.DARK if c is theme.LIGHT else theme.LIGHT).error
    drawn = colours_drawn(page.status)
    assert QColor(c.error).name() in drawn and QColor(stale).name() not in drawn, (c.error, stale)
    assert contrast(c.error, c.window) >= TEXT_CONTRAST
    assert page.status.text() == "The model pack is not in /nowhere"


@pytest.mark.parametrize(("first", "then"), SWITCHES)
def test_the_guides_links_and_note_follow_a_switch_of_theme(qtbot, restore_light, first, then):
    """Qt's Markdown reader writes the link colour of the moment into each link, and the note's muted colour was set
    once: opened in one theme and read in the other, the links were 2.3:1 (dark's on the light page) or 2.5:1 and
    the note 2.4:1 or 3.0:1."""
    theme.apply(restore_light, first)
    window = GuideWindow(GUIDE)
    qtbot.addWidget(window)
    window.note.setText("“rug pins” is not in the guide.")
    window.show()
    qtbot.waitExposed(window)
    theme.apply(restore_light, then)
    settle(qtbot)
    c = theme.colours()
    links, block = set(), window.browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            chars = it.fragment().charFormat()
            if chars.isAnchor() and chars.anchorHref():
                links.add(chars.foreground().color().name())
            it += 1
        block = block.next()
    assert links == {QColor(c.link).name()}
    assert contrast(c.link, c.base) >= TEXT_CONTRAST
    assert QColor(c.muted).name() in colours_drawn(window.note)
    assert contrast(c.muted, c.window) >= TEXT_CONTRAST
