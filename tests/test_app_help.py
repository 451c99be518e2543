"""Help ▸ User Guide and Help ▸ Check Installation…: what retail staff, who have only the packaged app, can read
and check from inside it (About linked docs/app.md as a file a store PC had no program to open; the self-check was a
command line they never see)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QAction, QGuiApplication, QTextDocument
from PySide6.QtWidgets import QApplication, QLabel

from app.dialogs import guide
from app.dialogs.about import GUIDE_LINK
from app.dialogs.guide import GuideWindow, _pictures
from app.dialogs.install_check import InstallCheckWindow
from engine.models import model_label
from engine.selfcheck import SelfCheckReport
from engine.words import counted

WAIT_MS = 120_000


def _follow_abouts_guide_link(qtbot, window, about: QAction) -> None:
    """Help ▸ About, then its guide link followed as a click on it does (the box's label says which link)."""

    def click_link() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, click_link)
            return
        box.findChild(QLabel, "qt_msgbox_label").linkActivated.emit(GUIDE_LINK)
        QTimer.singleShot(2000, box, box.reject)  # where the link did not close it (nothing once it is gone)

    QTimer.singleShot(0, click_link)
    about.trigger()


def test_help_shows_the_guide_and_checks_the_installation(qtbot, window, monkeypatch, tmp_path: Path):
    actions = {action.text(): action for action in window.findChildren(QAction)}

    # a guide the installation lacks: one line, no empty window
    monkeypatch.setattr(guide, "GUIDE", tmp_path / "app.md")
    actions["&User Guide"].trigger()
    assert window.findChild(GuideWindow) is None
    missing = tmp_path / "app.md"
    assert window.message.text.text() == f"The user guide is not part of this installation ({missing} is missing)."
    monkeypatch.undo()

    # About's link opens the guide in the app, its text and pictures from docs/app.md
    _follow_abouts_guide_link(qtbot, window, actions["&About DecorLens"])
    shown = window.findChild(GuideWindow)
    assert shown is not None and shown.isVisible()
    browser = shown.browser
    first_paragraph = guide.GUIDE.read_text(encoding="utf-8").split("\n\n")[1].replace("\n", " ")
    assert first_paragraph in browser.toPlainText()
    pictures = [browser.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(picture.name()))
                for _, _, picture in _pictures(browser.document())]
    assert pictures and all(p is not None and not p.isNull() for p in pictures)  # each screenshot it shows
    qtbot.waitUntil(lambda: max(p.width() for _, _, p in _pictures(browser.document())) < browser.viewport().width())
    # a link to a section of the guide goes there; its words are found
    browser.setSource(browser.source().resolved(QUrl("#correct-it-this-becomes-training-data")))
    qtbot.waitUntil(lambda: browser.verticalScrollBar().value() > 0)
    assert browser.cursorForPosition(browser.viewport().rect().topLeft()).block().text() \
        .startswith("Correct it (this becomes training data)")
    shown.find_box.setText("Restore a Backup")
    assert shown.find() and browser.textCursor().selectedText() == "Restore a Backup"
    shown.close()

    # the self-check on the window's models, step by step, to its verdict; the details name the models
    actions["&Check Installation…"].trigger()
    check = window.findChild(InstallCheckWindow)
    assert check is not None and check.isVisible()
    qtbot.waitUntil(lambda: not check.running(), timeout=WAIT_MS)
    assert check.verdict.text().startswith("✓ This installation works: every check passed"), check.verdict.text()
    report: SelfCheckReport = check.checked.report
    assert check.steps.rowCount() == len(report.steps) == 8
    check.copy.click()
    copied = QGuiApplication.clipboard().text()
    labels = [model_label(d.model) for d in window.pipeline.detector.detectors]
    labels.append(model_label(window.pipeline.embedder.model))
    assert all(f": {label} (" in copied for label in labels), copied
    assert f"Catalog: {counted(window.pipeline.catalog.count(), 'product')}" in copied
    assert f"Data folder: {window.pipeline.data_dir}" in copied
    assert all(f" {step.name:<10} {step.detail}" in copied for step in report.steps)

    # Check Again, then Cancel: it stops at the end of the step it is in
    check.again.click()
    assert check.running() and check.again.text() == "Cancel"
    check.again.click()
    qtbot.waitUntil(lambda: not check.running(), timeout=WAIT_MS)
    assert check.verdict.text().startswith("Check cancelled after"), check.verdict.text()
    assert check.steps.rowCount() < 8 and not check.copy.isEnabled()
    check.close()
