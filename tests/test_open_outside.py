"""Where no program opens a file, folder or link (no browser or file manager set up, no xdg-open), the app says so
and shows the address to copy; six places ignored ``QDesktopServices.openUrl``'s False and did nothing.

PATH is emptied, so xdg-open is missing under X11 too (the offscreen platform has no launcher at all).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QMessageBox, QWidget

from app.dialogs.guide import GuideBrowser
from app.links import TITLE, open_outside
from app.widgets.results_panel import ProductLink

APP = Path(__file__).resolve().parents[1] / "app"


@pytest.fixture
def no_launcher(monkeypatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _said(parent: QWidget) -> tuple[str, str]:
    """The one message over ``parent``: its line and the address it shows; closed after reading."""
    boxes = [box for box in parent.findChildren(QMessageBox) if box.windowTitle() == TITLE]
    assert len(boxes) == 1, "nothing was said"
    box = boxes[0]
    said = box.text(), box.informativeText()
    assert box.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    copy = next(button for button in box.buttons() if button.text().startswith("Copy"))
    copy.click()
    assert QGuiApplication.clipboard().text() == said[1]
    box.deleteLater()
    box.setParent(None)
    return said


def test_what_no_program_opened_is_said_with_its_address(qtbot, tmp_path: Path, no_launcher):
    host = QWidget()
    qtbot.addWidget(host)
    guide = GuideBrowser(host)
    guide.setSource(QUrl("https://www.ikea.com/se/en/"))  # a web link in the guide
    line, address = _said(host)
    assert line == "No web browser on this computer opened this link: copy its address below into a browser."
    assert address == "https://www.ikea.com/se/en/"
    picture = tmp_path / "room.png"
    QImage(8, 8, QImage.Format.Format_RGB32).save(str(picture))
    guide.setSource(QUrl.fromLocalFile(str(picture)))  # a screenshot the guide links rather than shows
    line, address = _said(host)
    assert line.startswith("No program on this computer opened this file") and address == str(picture)

    product = ProductLink("https://shop.example/p/sofa-1")
    product.setParent(host)
    qtbot.keyClick(product, Qt.Key.Key_Return)
    assert _said(host)[1] == "https://shop.example/p/sofa-1"

    assert open_outside(QUrl.fromLocalFile(str(tmp_path)), host) is False  # Open results folder, Show in folder
    line, address = _said(host)
    assert line.startswith("No file manager on this computer opened this folder") and address == str(tmp_path)


def test_every_opening_goes_through_open_outside():
    """No other module hands a URL to the system itself, where a False would be dropped."""
    direct = re.compile(r"QDesktopServices\.openUrl|setOpenExternalLinks\(True\)")
    found = [str(path.relative_to(APP)) for path in APP.rglob("*.py")
             if path.name != "links.py" and direct.search(path.read_text(encoding="utf-8"))]
    assert found == []
