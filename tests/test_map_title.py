"""The Map tab's title comes from one place: the engine's map (``CatalogMap.title``, the embedder's model_label).

The app titled it a second time with its own one-line form of the label, so the map it held no longer said what
the engine had made. A card named with two spaces, as a person may type it, tells the two apart: the map keeps
the card's name as the engine labels it; the status line shows it as one clean line. Three real products, so the
map is laid out without t-SNE and the test stays cheap.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from ikea_feed import write_feed

from engine.models import model_label, read_card, write_card

SOURCE = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
NAME = "Room  look"  # two spaces: the app's one-line form is "Room look"


def test_the_map_keeps_the_engines_title_and_the_status_shows_it_on_one_line(
    qtbot, tmp_path: Path, shared_models: Path, ikea_products, ikea: Path, qapp
) -> None:
    from app.labels import shown
    from app.thumbnails import Thumbnails
    from app.widgets.map_view import MapView
    from app.workers import Runner
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    model = shutil.copy(shared_models / SOURCE, data / "models" / "room-look.onnx")
    write_card(Path(model), replace(read_card(shared_models / SOURCE), name=NAME))
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data, embedder=("room-look.onnx",)))
    pipeline.import_catalog(write_feed(ikea, ikea_products[:3], tmp_path / "feed.csv"))
    engine, loader = Runner(1, qapp), Runner(1, qapp)
    view = MapView(pipeline, engine, Thumbnails(loader))
    qtbot.addWidget(view)
    view.show()
    try:
        qtbot.waitUntil(lambda: view.result is not None, timeout=120_000)
        assert model_label(pipeline.embedder.model) == NAME  # not a pack file: labelled by its card
        assert view.result.title == NAME, view.result.title  # as the engine made it, not titled again
        assert f"3 products by {shown(NAME)} (" in view.status.text() and NAME not in view.status.text()
    finally:
        for runner in (engine, loader):
            runner.shutdown()
        pipeline.close()
