"""Embedding on Ray (``scale.embed``) and importing the vectors (``engine.vectors_import``), on real data.

A slice of the shared IKEA products is embedded by the Ray Data pipeline on a local Ray, imported into
a fresh data dir with ``catalog import --vectors``, and compared with the same feed imported the
desktop way: the same vectors and the same search results for crops of real scenes.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="needs the [scale] extra: ray[data]")
pytest.importorskip("ray.data", reason="needs the [scale] extra: ray[data]")
pytest.importorskip("pyarrow", reason="needs the [scale] extra: pyarrow")

import ray
from test_layers import ROOT, _imported_packages  # tests/ is on sys.path

from engine.catalog import Catalog
from engine.errors import CatalogError, ModelError
from engine.files import sha256_of
from engine.imageio import load_image
from engine.importer import read_source
from engine.models import find_first
from engine.pipeline import Pipeline
from engine.settings import Settings
from engine.vectors_import import embedded_skus, import_vectors, pyarrow_modules
from scale.embed import _node_model_copy, embed_feed

SCENES = 3
PRODUCTS = 40
FIRST_RUN = 30  # products embedded by the first run; the second resumes with the rest
BROKEN = "broken-1"
STOCK_EMBEDDERS = ("effnet_lite0_gem.onnx", "mobilenet_v2_1.0_224_quant.float.onnx")  # both in the model pack


def _write_feed(path: Path, products: list[dict[str, str]], ikea: Path, broken: Path | None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "title", "product_type", "image_link"])  # Google Merchant column names
        for p in products:
            out.writerow([p["product_id"], p["name"], p["category"], str(ikea / p["image"])])
        if broken:
            out.writerow([BROKEN, "Broken", "lamp", str(broken)])
    return path


@pytest.fixture(scope="module")
def scenes(ikea_pairs: list[dict[str, str]]) -> list[str]:
    return sorted({p["scene_id"] for p in ikea_pairs})[:SCENES]


@pytest.fixture(scope="module")
def products(ikea_products, ikea_pairs, scenes) -> list[dict[str, str]]:
    """The products of a few scenes, topped up with catalogue distractors to ``PRODUCTS``."""
    in_scenes = {p["product_id"] for p in ikea_pairs if p["scene_id"] in scenes}
    chosen = [p for p in ikea_products if p["product_id"] in in_scenes]
    chosen += [p for p in ikea_products if p["product_id"] not in in_scenes][: PRODUCTS - len(chosen)]
    return chosen[:PRODUCTS]


@pytest.fixture(scope="module")
def feed(tmp_path_factory, ikea: Path, products) -> Path:
    folder = tmp_path_factory.mktemp("feed")
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all")
    return _write_feed(folder / "feed.csv", products, ikea, broken)


@pytest.fixture(scope="module")
def embedder_model(shared_models):
    return find_first(Settings.defaults().embedder, shared_models, None)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (two runs share it): 2 CPUs, no dashboard."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def vectors(tmp_path_factory, ikea: Path, products, feed: Path, embedder_model, local_ray) -> tuple[Path, list]:
    """A first run over part of the feed, then a resumed run over all of it; returns (folder, reports)."""
    out = tmp_path_factory.mktemp("vectors")
    part = _write_feed(feed.parent / "part.csv", products[:FIRST_RUN], ikea, None)
    first = embed_feed(part, out, embedder_model, workers=1, batch_size=8, device="cpu", quiet=True)
    second = embed_feed(feed, out, embedder_model, workers=1, batch_size=8, device="cpu", quiet=True)
    return out, [first, second]


def _pipeline(data_dir: Path, embedder: str | None = None) -> Pipeline:
    settings = Settings.defaults().with_(data_dir=data_dir)
    return Pipeline(settings.with_(embedder=(embedder,)) if embedder else settings)


def test_the_ray_run_embeds_each_row_once_reports_bad_images_and_resumes(vectors, products):
    out, (first, second) = vectors
    assert (first.embedded, first.failed, first.already) == (FIRST_RUN, 0, 0)
    assert (second.embedded, second.failed, second.already) == (PRODUCTS - FIRST_RUN, 1, FIRST_RUN)
    _, _, pq = pyarrow_modules()
    table = pq.read_table(out)
    skus = table.column("sku").to_pylist()
    assert sorted(skus) == sorted([p["product_id"] for p in products] + [BROKEN])  # nothing embedded twice
    broken = skus.index(BROKEN)
    assert table.column("vector").is_null().to_pylist()[broken]
    assert "broken.jpg" in table.column("error")[broken].as_py()
    assert embedded_skus(out) == {p["product_id"] for p in products}
    assert table.schema.field("vector").type.list_size == 1280


def test_imported_vectors_equal_the_desktop_ones_and_search_the_same(
    tmp_path, vectors, feed, products, scenes, ikea: Path, exported_models
):
    out, _ = vectors
    desktop, cluster = _pipeline(tmp_path / "desktop"), _pipeline(tmp_path / "cluster")
    desktop.import_catalog(feed)
    report = import_vectors(cluster.catalog, read_source(feed), out, cluster.embedder.model, tmp_path / "cache")
    assert (report.added, [sku for sku, _ in report.skipped]) == (PRODUCTS, [BROKEN])
    key = desktop.embedder.key
    ours = {desktop.catalog.get(pid).sku: v for pid, _, v in desktop.catalog.vectors(key)}
    theirs = {cluster.catalog.get(pid).sku: v for pid, _, v in cluster.catalog.vectors(key)}
    assert ours.keys() == theirs.keys() == {p["product_id"] for p in products}
    assert min(float(ours[s] @ theirs[s]) for s in ours) > 0.999

    crops = []
    for scene in scenes:
        pixels = load_image(ikea / "scenes" / f"{scene}.jpg")
        h, w = pixels.shape[:2]
        crops += [pixels[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4], pixels[h // 2 :, : w // 2]]
    expected = desktop.match(crops, [None] * len(crops), top_k=5)
    found = cluster.match(crops, [None] * len(crops), top_k=5)
    assert [[m.sku for m in row] for row in found] == [[m.sku for m in row] for row in expected]
    assert np.allclose([[m.score for m in r] for r in found], [[m.score for m in r] for r in expected], atol=1e-4)


def test_the_actors_of_a_node_share_one_checked_copy_of_the_model(tmp_path, monkeypatch, embedder_model):
    """Each actor used to write the model into a temp folder of its own that nothing removed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the node's temp folder
    data, sha = embedder_model.path.read_bytes(), sha256_of(embedder_model.path)
    fetched = []

    def fetch() -> bytes:
        fetched.append(1)
        return data

    first = _node_model_copy(sha, embedder_model.path.name, fetch)
    again = _node_model_copy(sha, embedder_model.path.name, fetch)
    assert first == again and len(fetched) == 1 and sha256_of(first) == sha
    first.write_bytes(b"not the model")  # a damaged or planted copy is replaced, not used
    assert sha256_of(_node_model_copy(sha, embedder_model.path.name, fetch)) == sha and len(fetched) == 2
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [embedder_model.path.name]


def test_a_model_file_that_is_not_its_cards_is_refused_before_embedding(tmp_path, feed, embedder_model):
    """The bytes sent to the actors are the ones checked against the card, read once: the vectors carry their
    sha256 as the desktop's do, so a file replaced beside its card must not be embedded with."""
    replaced = tmp_path / embedder_model.path.name
    replaced.write_bytes(embedder_model.path.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="does not match its model card") as refused:
        embed_feed(feed, tmp_path / "vectors", replace(embedder_model, path=replaced))
    assert "\n" not in str(refused.value) and not (tmp_path / "vectors").exists()


def test_vectors_of_another_embedder_are_refused_in_one_line(tmp_path, vectors, feed):
    out, _ = vectors
    default = find_first(Settings.defaults().embedder, None, None).path.name
    other = _pipeline(tmp_path, next(m for m in STOCK_EMBEDDERS if m != default))
    with pytest.raises(CatalogError, match="active embedder is") as refused:
        import_vectors(other.catalog, read_source(feed), out, other.embedder.model, tmp_path / "cache")
    assert "\n" not in str(refused.value)
    assert other.catalog.count() == 0


def _vector_file(folder: Path, model, image: Path, vector: list | None, kind=None, error: str = "") -> Path:
    """A hand-made vector file of one row (sku V-1) for ``image``, its vector column of ``kind``."""
    pa, _, pq = pyarrow_modules()
    from engine.vectors_import import EmbedderId, schema

    embedder = EmbedderId.of(model.card)
    fields = schema(model.card.output_dim, embedder)
    if kind is not None:
        fields = fields.set(fields.get_field_index("vector"), pa.field("vector", kind))
    row = {"sku": ["V-1"], "category": ["lamp"], "image_sha256": [sha256_of(image)],
           "embedder": [embedder.name], "embedder_sha256": [embedder.sha256], "vector": [vector],
           "error": [error or None]}
    folder.mkdir()
    pq.write_table(pa.table(row, schema=fields), folder / "part-0.parquet")
    return folder


@pytest.mark.parametrize(("size", "kind", "message"), [
    (7, "fixed", "vectors of 7 values, but"), (1280, "list", "not a fixed-size list of floats"),
    (1280, "string", "not a fixed-size list of floats"),
])
def test_vectors_of_another_size_or_kind_are_refused_and_search_still_works(
    tmp_path, ikea: Path, size: int, kind: str, message: str
):
    """Found by fuzzing: vectors of another size were stored, then hnswlib refused them at every index sync
    (each later search an unexpected RuntimeError); a vector column of another type raised AttributeError."""
    pa, _, _ = pyarrow_modules()
    pipe = _pipeline(tmp_path / "data")
    image = min((ikea / "products" / "lamp").glob("*.jpg"))
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nV-1,lamp,{image}\n", encoding="utf-8")
    vector = [0.5] * size if kind != "string" else "0.5"
    types = {"fixed": pa.list_(pa.float32(), size), "list": pa.list_(pa.float32()), "string": pa.string()}
    folder = _vector_file(tmp_path / "vectors", pipe.embedder.model, image, vector, types[kind])
    with pytest.raises(CatalogError, match=message) as refused:
        import_vectors(pipe.catalog, read_source(feed), folder, pipe.embedder.model, tmp_path / "cache")
    assert "\n" not in str(refused.value) and pipe.catalog.count() == 0
    pipe.index_for(pipe.embedder).sync(pipe.catalog)  # what every search does first


def test_a_vector_holding_nan_is_skipped_and_a_cluster_error_shown_on_one_line(tmp_path, ikea: Path):
    """Found by fuzzing: a NaN vector was stored and listed as a match of every query, scored "nan"."""
    pipe = _pipeline(tmp_path / "data")
    image = min((ikea / "products" / "lamp").glob("*.jpg"))
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nV-1,lamp,{image}\nV-2,lamp,{image}\n", encoding="utf-8")
    dim = pipe.embedder.model.card.output_dim
    nan = _vector_file(tmp_path / "nan", pipe.embedder.model, image, [float("nan")] * dim)
    report = import_vectors(pipe.catalog, read_source(feed), nan, pipe.embedder.model, tmp_path / "cache")
    assert ("V-1", "its vector holds NaN or infinity") in report.skipped and pipe.catalog.count() == 0
    model = pipe.embedder.model
    failed = _vector_file(tmp_path / "failed", model, image, None, error="decode failed\nline 2")
    report = import_vectors(pipe.catalog, read_source(feed), failed, pipe.embedder.model, tmp_path / "cache")
    assert ("V-1", "decode failed line 2") in report.skipped


def test_rows_without_a_sku_or_a_sha256_image_hash_are_skipped_with_their_reason(tmp_path, ikea: Path):
    """Found by fuzzing: a null image_sha256 aborted the whole import with SQLite's "NOT NULL
    constraint failed", "" or "x" was stored as the image hash, and a row without a sku was reported
    as "skipped None"."""
    pa, _, pq = pyarrow_modules()
    from engine.vectors_import import EmbedderId, schema

    pipe = _pipeline(tmp_path / "data")
    model = pipe.embedder.model
    image = min((ikea / "products" / "lamp").glob("*.jpg"))
    skus = ["V-1", "V-2", "V-3", "V-4", "V-5", None]
    feed = tmp_path / "feed.csv"
    lines = "".join(f"{s},lamp,{image}\n" for s in skus[:5])
    feed.write_text("sku,category,image\n" + lines, encoding="utf-8")
    good = sha256_of(image)
    hashes = [good, None, "", "x", good.upper(), good]
    embedder = EmbedderId.of(model.card)
    rows = {"sku": skus, "category": ["lamp"] * 6, "image_sha256": hashes, "embedder": [embedder.name] * 6,
            "embedder_sha256": [embedder.sha256] * 6, "vector": [[0.5] * model.card.output_dim] * 6,
            "error": [None] * 6}
    (tmp_path / "vectors").mkdir()
    table = pa.table(rows, schema=schema(model.card.output_dim, embedder))
    pq.write_table(table, tmp_path / "vectors" / "p.parquet")
    report = import_vectors(pipe.catalog, read_source(feed), tmp_path / "vectors", model, tmp_path / "cache")
    not_hex = "its image_sha256 is not the sha256 of an image (64 lowercase hex digits)"
    assert sorted(report.skipped) == [("(no sku)", "no sku in the vector files"), ("V-2", not_hex),
                                      ("V-3", not_hex), ("V-4", not_hex), ("V-5", not_hex)]
    assert [(p.sku, p.image_hash) for p in pipe.catalog.products()] == [("V-1", good)]


def test_a_folder_without_vector_files_is_one_line(tmp_path, feed):
    with Catalog(tmp_path / "c.sqlite") as catalog, pytest.raises(CatalogError, match="no such vector folder"):
        import_vectors(catalog, read_source(feed), tmp_path / "nowhere", _pipeline(tmp_path).embedder.model,
                       tmp_path / "cache")


def test_the_engine_never_imports_ray_or_the_scale_package():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & {"ray", "scale"})
        for path in sorted((ROOT / "engine").rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_a_parquet_feed_reads_as_the_same_csv_feed_does(tmp_path, feed):
    pa, _, pq = pyarrow_modules()
    with open(feed, newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    columns = {name: [r[name] for r in records] for name in records[0]}
    columns["price"] = [n + 0.5 for n in range(len(records))]  # not a string column: read as text
    pq.write_table(pa.table(columns), tmp_path / "feed.parquet")
    from_parquet = read_source(tmp_path / "feed.parquet")
    assert [(r.sku, r.name, r.category, r.image) for r in from_parquet] == [
        (r.sku, r.name, r.category, r.image) for r in read_source(feed)]
    assert from_parquet[1].price == "1.5"
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(CatalogError, match="not a readable Parquet feed"):
        read_source(tmp_path / "bad.parquet")


def test_the_million_set_is_reproducible_and_its_truth_exact(tmp_path, pipeline):
    """``bench scale``'s large vector set (here 4,000 from the shared products' real embeddings): written
    once and found again on a re-run, its queries' top-10 the exact cosine one, its variants near real
    products as catalog variants are, and its rows read back the same through plain reads."""
    from bench.scale_million import HELD_OUT, MillionSet, read_rows

    real = np.stack([v for _, _, v in pipeline.catalog.vectors(pipeline.embedder.key)])
    data = MillionSet(tmp_path / "set")
    data.make(real, 4000, 0, lambda _m: None)
    stamp = data.vectors_path.stat().st_mtime_ns
    data.make(real, 4000, 0, lambda _m: None)
    assert data.vectors_path.stat().st_mtime_ns == stamp  # the same set is not made twice
    vectors = np.asarray(data.vectors())
    queries, truth = data.queries()
    scores = queries @ vectors.T
    exact = -np.sort(-scores, axis=1)[:, :10]  # compared by score: the shop's copies of a photo tie
    assert np.allclose(np.take_along_axis(scores, truth, 1), exact, atol=1e-5)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    seeds = len(real) - HELD_OUT  # the set starts with the real products not held out as queries
    nearest_real = (vectors[seeds:] @ vectors[:seeds].T).max(1)
    assert 0.7 < np.median(nearest_real) < 0.99  # variants: close to a real product, none a copy
    assert np.array_equal(read_rows(data.vectors_path, 1234, 10), vectors[1234:1244])
