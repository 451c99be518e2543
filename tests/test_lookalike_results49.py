"""Look-alike SKUs where a merchandiser meets matches: a feed's "АBC-1" (a Cyrillic А) beside the catalog's "ABC-1"
was marked in the Catalog tab and Where used, yet the results panel, the hover card and the shoppable page showed
"ABC-1" for both, and a SKU copied by eye from a match named the other product. A search's matches now know it
(``Match.alike``, ``engine.importer.read_alike``), and each of these shows it marked as the Catalog tab does
(``engine.lookalike.sku_shown``); the page escapes the marked text. Real IKEA lamp photos, real models."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.catalog import Catalog, Product
from engine.corrections import EditableScene
from engine.importer import read_alike
from engine.pipeline import Pipeline
from engine.results import SceneResult
from engine.settings import Settings
from engine.shoppable import write_scene_page

# the catalog's "ABC-1" and a Cyrillic А's; "ABC‑2" (U+2011) and "АBC-2" read as one with no ASCII "ABC-2" stored;
# "Café" reads as nothing else; "<і>X-1" (a Cyrillic і) reads as the hostile "<i>X-1"
SKUS = ("ABC-1", "\u0410BC-1", "ABC\u20112", "\u0410BC-2", "Café", "<i>X-1", "<\u0456>X-1")
MARKED = {"ABC-1": "ABC-1", "\u0410BC-1": "⟨U+0410⟩BC-1", "ABC\u20112": "ABC⟨U+2011⟩2", "\u0410BC-2": "⟨U+0410⟩BC-2",
          "Café": "Café", "<i>X-1": "<i>X-1", "<\u0456>X-1": "<⟨U+0456⟩>X-1"}


def _stored(catalog: Catalog, ikea: Path) -> None:
    photos = sorted((ikea / "products" / "lamp").glob("*.jpg"))
    with catalog.transaction() as revision:
        for sku, photo in zip(SKUS, photos):
            catalog.upsert(Product(sku, "Lamp", "lamp", str(photo)), revision)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, ikea: Path) -> tuple[Pipeline, SceneResult]:
    """A catalog of the look-alike SKUs, and a search of the photo of one of them: every SKU among its matches."""
    data = tmp_path_factory.mktemp("lookalike49")
    shutil.copytree(exported_models, data / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    _stored(pipeline.catalog, ikea)
    photo = pipeline.catalog.get_by_sku("ABC-1").image_path
    result = pipeline.search_region(photo, (0, 0, 10_000, 10_000), "lamp", top_k=len(SKUS))
    assert {m.sku for m in result.objects[0].matches} == set(SKUS)
    return pipeline, result


def test_a_search_says_which_matches_read_as_another_sku(found: tuple[Pipeline, SceneResult]) -> None:
    """The flag travels with the match: the JSON of ``decorlens search --json`` says it, and reads it back."""
    _pipeline, result = found
    matches = result.objects[0].matches
    assert {m.sku for m in matches if m.alike} == {"\u0410BC-1", "ABC\u20112", "\u0410BC-2", "<\u0456>X-1"}
    data = result.to_json()
    assert {m["sku"]: m["alike"] for m in data["objects"][0]["matches"]}["\u0410BC-1"] is True
    again = SceneResult.from_json(data).objects[0].matches
    assert [(m.sku, m.alike) for m in again] == [(m.sku, m.alike) for m in matches]
    saved = EditableScene(result, "0" * 64).to_json()  # a photo's edits, opened again
    kept = EditableScene.from_json(saved, result.image).tags[0].obj.matches
    assert [(m.sku, m.alike) for m in kept] == [(m.sku, m.alike) for m in matches]


def test_the_results_panel_and_the_hover_card_mark_a_sku_that_reads_as_another(
    qtbot, found: tuple[Pipeline, SceneResult], qapp
) -> None:
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QWidget

    from app.thumbnails import Thumbnails
    from app.widgets.hover_card import HoverCard
    from app.widgets.results_panel import MatchRow
    from app.workers import Runner
    from engine.corrections import Tag

    _pipeline, result = found
    thumbnails = Thumbnails(Runner(1, qapp))
    rows = {m.sku: MatchRow(rank, m, False, thumbnails) for rank, m in enumerate(result.objects[0].matches, 1)}
    for row in rows.values():
        qtbot.addWidget(row)
    assert {sku: row.detail.text().split(" · ")[0] for sku, row in rows.items()} == MARKED
    assert "⟨U+0410⟩BC-1 · Lamp" in rows["\u0410BC-1"].accessibleName()  # what a screen reader says
    photo = QWidget()
    qtbot.addWidget(photo)
    photo.resize(900, 700)
    card = HoverCard(thumbnails, photo)
    obj = result.objects[0]
    for match in obj.matches:
        best_first = replace(obj, matches=[match])  # the card shows a tag's best match
        card.show_tag(Tag(1, best_first), "#888888", QPoint(100, 100), QRect(0, 0, 900, 700))
        # rich text of escaped catalog text: "<і>X-1" shows as those characters, marked
        assert card.detail.text().split(" · ")[0] == MARKED[match.sku].replace("<", "&lt;").replace(">", "&gt;")


def test_the_shoppable_page_marks_it_as_the_catalog_holds_it_now(found: tuple[Pipeline, SceneResult],
                                                                  tmp_path: Path) -> None:
    """A page is written from the catalog as it is now: a photo tagged before the look-alike came (its saved
    matches say nothing of it) still shows "⟨U+0410⟩BC-1", escaped text, never markup."""
    pipeline, result = found
    scene = result.to_json()
    objects = []
    for number, match in enumerate(scene["objects"][0]["matches"], 1):
        stale = {key: value for key, value in match.items() if key != "alike"}
        objects.append({**scene["objects"][0], "number": number, "matches": [stale], "tag": [10.0 * number, 50.0]})
    page = write_scene_page(pipeline, {**scene, "objects": objects}, Path(pipeline.catalog.get_by_sku("ABC-1")
                                                                            .image_path), tmp_path, "lookalike")
    html = page.path.read_text(encoding="utf-8")
    assert "Art. no. ⟨U+0410⟩BC-1<" in html and "Art. no. ABC⟨U+2011⟩2<" in html and "Art. no. Café<" in html
    assert "Art. no. ABC-1<" in html and "Art. no. &lt;⟨U+0456⟩&gt;X-1<" in html and "Art. no. &lt;i&gt;X-1<" in html
    assert "<i>" not in html and "<\u0456>" not in html
    assert 'data-sku="\u0410BC-1"' in html  # the page's script finds the card by the SKU itself


def test_the_searchs_look_alikes_follow_the_catalog(fresh_pipeline: Pipeline, ikea: Path) -> None:
    """``Pipeline.alike_among`` (the catalog's set kept per revision, so searches ask the catalog once) names what
    ``read_alike`` names; a SKU alone is no look-alike until its pair comes in."""
    _stored(fresh_pipeline.catalog, ikea)
    assert fresh_pipeline.alike_among(SKUS) == read_alike(fresh_pipeline.catalog, SKUS)
    photo = min((ikea / "products" / "lamp").glob("*.jpg"))
    with fresh_pipeline.catalog.transaction() as revision:
        fresh_pipeline.catalog.upsert(Product("\u0410BC-3", "Lamp", "lamp", str(photo)), revision)
    assert not fresh_pipeline.alike_among(["\u0410BC-3", "ABC-3"])
    with fresh_pipeline.catalog.transaction() as revision:
        fresh_pipeline.catalog.upsert(Product("ABC-3", "Lamp", "lamp", str(photo)), revision)
    assert fresh_pipeline.alike_among(["\u0410BC-3", "ABC-3", "ABC-1"]) == {"\u0410BC-3"}


def test_a_photo_tagged_before_its_look_alike_came_marks_it_once_the_catalog_is_read_again(
    qtbot, fresh_pipeline: Pipeline, ikea: Path, tmp_path: Path, qapp
) -> None:
    """The app's catalog refresh (after an import, on opening saved edits) brings the flag up to date, as it does
    names and prices: "АBC-1" matched alone, then "ABC-1" imported, shows marked; "ABC-1" removed, no longer."""
    from PIL import Image
    from PySide6.QtCore import QSettings

    from app.scene_controller import SceneController
    from app.settings import AppSettings
    from app.workers import Runner
    from engine.results import Match, SceneObject

    catalog, photo = fresh_pipeline.catalog, min((ikea / "products" / "lamp").glob("*.jpg"))
    with catalog.transaction() as revision:
        catalog.upsert(Product("\u0410BC-1", "Lamp", "lamp", str(photo)), revision)
    product = catalog.get_by_sku("\u0410BC-1")
    width, height = Image.open(photo).size
    match = Match(product.id, product.sku, "Lamp", "lamp", 0.9, "exact", str(photo))  # as searched: read as none
    obj = SceneObject("lamp", "lamp", 0.9, (0.0, 0.0, width / 2, height / 2), (width / 4, height / 4), [match])
    controller = SceneController(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                                       QSettings.Format.IniFormat)),
                                 Runner(1, qapp), Runner(1, qapp), Runner(1, qapp))
    controller.scene = EditableScene(SceneResult(str(photo), width, height, "CPU", {}, [obj]), "ab" * 32)
    with catalog.transaction() as revision:
        catalog.upsert(Product("ABC-1", "Lamp", "lamp", str(photo)), revision)
    with qtbot.waitSignal(controller.tagChanged, timeout=60_000):
        controller.refresh_from_catalog()
    assert controller.scene.tag(1).obj.matches[0].alike
    catalog.remove(["ABC-1"])
    with qtbot.waitSignal(controller.tagChanged, timeout=60_000):
        controller.refresh_from_catalog()
    assert not controller.scene.tag(1).obj.matches[0].alike
