"""Retake catalog-map.png (the Map tab), map-compare.png (the Map tab comparing two embedders) and
catalog-map-page.png (`decorlens catalog map --html`, two embedders).

The data dir must hold the IKEA catalog, embedded for both embedders of the page:

    decorlens --data-dir DIR catalog import ../shared/datasets/ikea_interior/products.csv
    decorlens --data-dir DIR catalog map --embedder mobilenet_v2_1.0_224_quant.float.onnx \\
        --embedder effnet_lite0_gem.onnx --html /tmp/map.html
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_map.py --data-dir DIR \\
        --html /tmp/map.html
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_map.py --data-dir DIR \\
        --compare effnet_lite0_gem.onnx

The product pictures in them are research data, shown for documentation only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from take_screenshots import save, settle, small_png, wait

from app import theme
from app.main import application
from app.main_window import MAP_TAB, MainWindow
from app.settings import AppSettings
from engine.pipeline import Pipeline
from engine.settings import Settings

OUT = Path(__file__).resolve().parent


def zoom(canvas, at: QPoint, notches: int) -> None:
    """Zoom in as the mouse wheel does, so the map stays zoomed when its view is resized (a plain scale did not)."""
    event = QWheelEvent(QPointF(at), QPointF(canvas.viewport().mapToGlobal(at)), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), event)


def map_tab(data_dir: Path) -> None:
    app = application()
    theme.apply(app, "light")
    store = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Pipeline(Settings.defaults().with_(data_dir=data_dir)), AppSettings(store))
    window.resize(1440, 900)
    window.show()
    window.tabs.setCurrentIndex(MAP_TAB)
    tab = window.map_view
    canvas = tab.canvas
    wait(app, lambda: tab.result is not None, 600)
    wait(app, lambda: not canvas.placing(), 300)
    viewport = canvas.viewport()
    centre = viewport.rect().center()
    QTest.mouseMove(viewport, centre)
    zoom(canvas, centre, 4)  # closer, around the middle of the map, so the pictures can be told apart
    settle(app)
    start = centre + QPoint(-260, -150)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    QTest.mouseMove(viewport, start + QPoint(60, 40))
    QTest.mouseMove(viewport, start + QPoint(120, 90))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(120, 90))
    hover = min(canvas.points.values(),
                key=lambda p: (canvas.mapFromScene(p.pos()) - (centre + QPoint(120, 80))).manhattanLength())
    QTest.mouseMove(viewport, canvas.mapFromScene(hover.pos()))
    settle(app, 1.0)
    save(window, "catalog-map.png")


def compare(data_dir: Path, embedder: str) -> None:
    """The Map tab with ``embedder``'s map beside the active one's: a few products selected on the left
    (selected on the right too), one hovered on the left (its card there, ringed in orange on the right)."""
    from engine.models import find_first

    app = application()
    theme.apply(app, "light")
    store = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data_dir))
    window = MainWindow(pipeline, AppSettings(store))
    window.resize(1560, 940)
    window.show()
    window.tabs.setCurrentIndex(MAP_TAB)
    tab = window.map_view
    wait(app, lambda: tab.result is not None and tab.task is None, 600)
    tab.compare_with(find_first((embedder,), pipeline.settings.models_dir, data_dir))
    wait(app, lambda: tab.compared is not None and tab.task is None, 900)
    canvases = (tab.canvas, tab.compare_canvas)
    wait(app, lambda: not any(c.placing() for c in canvases), 300)
    canvas = tab.canvas
    viewport = canvas.viewport()
    centre = viewport.rect().center()
    start = centre + QPoint(-200, 20)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    QTest.mouseMove(viewport, start + QPoint(60, 50))
    QTest.mouseMove(viewport, start + QPoint(130, 100))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(130, 100))
    hover = min(canvas.points.values(),
                key=lambda p: (canvas.mapFromScene(p.pos()) - (centre + QPoint(60, -120))).manhattanLength())
    QTest.mouseMove(viewport, canvas.mapFromScene(hover.pos()))
    settle(app, 1.0)
    save(window, "map-compare.png")


def page(html: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    try:
        driver.set_window_size(1600, 1000)
        driver.get(html.resolve().as_uri())
        panel = driver.find_elements(By.CSS_SELECTOR, "svg.map")[0]
        point = driver.execute_script(  # a product near the middle of the first map
            "var s = arguments[0].getBoundingClientRect(), best = null, d = 1e9;"
            "arguments[0].querySelectorAll('.p').forEach(function (p) { var r = p.getBoundingClientRect();"
            " var e = Math.abs(r.left - s.left - s.width * 0.55) + Math.abs(r.top - s.top - s.height * 0.45);"
            " if (e < d) { d = e; best = p; } }); return best;", panel)
        driver.execute_script(
            "var r = arguments[0].getBoundingClientRect(); arguments[0].querySelector('rect').dispatchEvent("
            "new MouseEvent('mouseover', {bubbles: true, clientX: r.right, clientY: r.bottom}));", point)
        path = OUT / "catalog-map-page.png"
        driver.save_screenshot(str(path))
        small_png(path)
        print(f"{path} {path.stat().st_size // 1024} KB")
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--html", type=Path, help="a page written by `decorlens catalog map --html`")
    parser.add_argument("--compare", metavar="ONNX", help="only map-compare.png: this embedder beside the active one")
    args = parser.parse_args()
    if args.compare:
        compare(args.data_dir, args.compare)
        return
    map_tab(args.data_dir)
    if args.html:
        page(args.html)


if __name__ == "__main__":
    main()
