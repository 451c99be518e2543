"""Catalog ▸ Train on My Photos… says why it is greyed out, in the menu as on the toolbar (session 49): the packaged
app ships without PyTorch, and its greyed menu item said nothing (menus show no tooltips unless asked to)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QMenu, QToolTip

pytestmark = pytest.mark.gui


def test_the_catalog_menu_shows_the_train_items_tooltip_greyed_out_or_not(qtbot, main_window, pipeline):
    window = main_window(pipeline)
    menu = next(m for m in window.menuBar().findChildren(QMenu) if window.train_action in m.actions())
    window.train_action.setEnabled(False)  # as in the packaged app
    menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitExposed(menu)
    spot = menu.actionGeometry(window.train_action).center()
    QToolTip.hideText()
    menu.event(QHelpEvent(QEvent.Type.ToolTip, spot, menu.mapToGlobal(spot)))
    assert QToolTip.isVisible() and QToolTip.text() == window.train_action.toolTip()
    menu.close()
    QToolTip.hideText()
