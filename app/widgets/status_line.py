"""The status bar in plain words: where the models run, how big the catalog is, how long a search took."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from app.engine_info import EngineInfo
from app.labels import rich_tooltip
from engine.words import counted


class StatusLine(QStatusBar):
    """Model file names stay out of sight (in the device's tooltip): a merchandiser reads "Running on CPU"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.busy = QProgressBar(maximumWidth=120, textVisible=False)
        self.busy.setAccessibleName("Working")  # a screen reader said "progress bar" alone
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.models = QLabel("Loading models…")  # shown while loading or missing
        self.device = QLabel()
        self.products = QLabel()
        self.timing = QLabel()
        self.tags = QLabel()  # how many of a photo's tags are shown, when Settings leave some out
        for widget in (self.busy, self.models, self.tags, self.device, self.products, self.timing):
            self.addPermanentWidget(widget)

    def show_loading(self) -> None:
        self.models.setText("Loading models…")
        self.models.show()

    def show_missing(self, why: str = "Models missing") -> None:
        """No models loaded: nothing runs anywhere. "Running on CPU" stayed beside "Models missing" from the models
        before (a damaged file or an empty folder chosen in Settings), its tooltip naming models no longer in use.
        ``why``: "No graphics card" where the models are there but set to run on one this computer lacks."""
        self.models.setText(why)
        self.device.clear()
        self.device.setToolTip("")

    def show_engine(self, info: EngineInfo) -> None:
        """Ready: say where the models run; which ones they are (as the app names them, then their cards and files)
        goes in the tooltip."""
        models = f"Models: {info.detectors} · {info.embedder}\n{info.names}"
        self.models.hide()
        self.device.setText(f"Running on {info.device}")
        self.device.setToolTip(rich_tooltip(models))

    def show_products(self, count: int) -> None:
        self.products.setText(f"Catalog: {counted(count, 'product')}")  # a shop's first import read "1 products"

    def show_tag_count(self, shown: int, found: int) -> None:
        """ "10 of 34 tags shown" while Settings ▸ Tags on a photo leaves some out; nothing otherwise."""
        self.tags.setText(f"{shown} of {found} tags shown" if shown < found else "")
        self.tags.setToolTip("The surest ones: Settings ▸ Tags on a photo shows more" if shown < found else "")

    def show_timings(self, timings: dict) -> None:
        """The last search's total, its stages in the tooltip."""
        stages = [(k, v) for k, v in timings.items() if k in ("detect", "embed", "search") and v > 0]
        parts = ", ".join(f"{k} {_duration(v)}" for k, v in stages)
        self.timing.setText(f"Last search took {_duration(sum(timings.values()))}")
        self.timing.setToolTip(f"Finding the objects and matching them: {parts}")


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
