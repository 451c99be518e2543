"""The packaged app's first page (an empty catalog) offers the applications menu entry on Linux, once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine import desktop_entry

pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(not desktop_entry.supported(), reason="desktop entries are for Linux desktops")]


@pytest.mark.parametrize("packaged", [True, False])
def test_the_empty_catalogs_page_offers_the_menu_entry_of_the_packaged_app(main_window, fresh_pipeline, monkeypatch,
                                                                          tmp_path: Path, packaged: bool):
    """Staff unpacking the app's tarball had no menu entry and would not look for it in Help: the page they see first
    offers it; clicked, it is written and the offer goes. A Python install, started from its shell, is not offered
    it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setattr(sys, "frozen", packaged, raising=False)  # as PyInstaller sets it
    win = main_window(fresh_pipeline)
    assert win.photo_stack.currentWidget() is win.welcome
    assert win.welcome.menu_button.isVisibleTo(win) is packaged
    if packaged:
        win.welcome.menu_button.click()
        assert desktop_entry.entry_path().is_file() and desktop_entry.installed_here()
        assert not win.welcome.menu_button.isVisibleTo(win)
