"""A fifth hostile-input review: model packs, settings and category maps, corrections, vector files, backups.

Each test fails without the fix it names; real files in tmp_path, no mocks.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine import corrections, modelpack
from engine.backups import back_up_file, backups_dir, list_backups, take_backup
from engine.catalog import SCHEMA, SCHEMA_VERSION, Catalog
from engine.catalog_map import MapFileError, read_map
from engine.categories import CategoryMap
from engine.corrections import EditableScene, UnreadableEdits
from engine.corrections_file import FOLDER
from engine.detect import Detector
from engine.errors import CatalogError, DecorLensError, ModelError
from engine.models import find_model
from engine.results import SceneObject, SceneResult
from engine.settings import Settings
from engine.vectors_import import (
    CATEGORY,
    EMBEDDER,
    EMBEDDER_SHA256,
    ERROR,
    IMAGE_SHA256,
    SKU,
    VECTOR,
    EmbedderId,
    check_embedder,
    schema,
    vector_files,
)


def _alias_bomb(levels: int = 6) -> str:
    """YAML lines defining ``*l<levels>``: a list that is 9**levels strings once expanded, a few hundred bytes
    as written (PyYAML builds it by reference, so reading it is cheap; writing it out is not)."""
    lines = ["bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("setting", [
    "query: *l6", "query: {paddings: *l6}", "query: {rerank: *l6}", "query: {types: *l6}",
    "query: {flip: *l6}", "people: *l6", "compact_at: *l6",
])
def test_a_settings_value_of_yaml_aliases_is_not_expanded_into_the_message(tmp_path: Path, setting: str):
    """config.yaml's errors wrote the wrong value with repr (people: str) in full: a 9-level alias bomb of a few
    hundred bytes made a 2 GB message in 45 s, one level more ran out of memory. Here 6 levels (3 MB written out)."""
    (tmp_path / "config.yaml").write_text(_alias_bomb() + setting + "\n")
    with pytest.raises(DecorLensError, match="settings file .*config.yaml holds a value of the wrong kind") as err:
        Settings.for_data_dir(tmp_path)
    assert len(str(err.value)) < 600, len(str(err.value))


def test_a_query_setting_named_in_digits_is_named_as_unknown(tmp_path: Path):
    """``query: {1: x}`` (a key YAML reads as a number) said "sequence item 0: expected str instance, int found"."""
    (tmp_path / "config.yaml").write_text("query: {1: x, 2: y}\n")
    with pytest.raises(DecorLensError, match=r"\(unknown query setting\(s\) 1, 2\)"):
        Settings.for_data_dir(tmp_path)


def _npy(dtype: str, shape: tuple[int, ...], data: bytes = b"") -> bytes:
    """A .npy member: its header as numpy writes it, then ``data`` (which may be less than the header says)."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False, "shape": shape})
    return out.getvalue() + data


def test_a_map_file_whose_array_header_declares_petabytes_is_refused_before_numpy_allocates(tmp_path: Path):
    """A catalog map comes in bundles; numpy allocates what an .npy header declares before it reads a byte, so a
    300-byte member saying shape (10**15,) ended read_map in "unexpected MemoryError" instead of a MapFileError."""
    meta = io.BytesIO()
    np.save(meta, np.array(json.dumps({"key": "k", "embedder": "e", "revision": 1})))
    path = tmp_path / "map.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ids.npy", _npy("<i8", (10**15,)))
        zf.writestr("xy.npy", _npy("<f4", (1, 2), np.zeros((1, 2), "<f4").tobytes()))
        zf.writestr("meta.npy", meta.getvalue())
    with pytest.raises(MapFileError, match="declares more data than its member holds"):
        read_map(path)


def test_a_photos_edits_set_aside_twice_keep_both_files(tmp_path: Path):
    """An unreadable corrections file is kept as ``….unreadable.json``; the next unreadable one of the same photo
    was renamed over it, and the edits the first held were lost."""
    saved = tmp_path / FOLDER / f"room-{'ab' * 8}.json"
    saved.parent.mkdir()
    for text in ('{"first": ', '{"second": '):
        saved.write_text(text)
        with pytest.raises(UnreadableEdits, match="kept as room-"):
            corrections.load(saved, tmp_path / "room.jpg")
    kept = sorted(p.read_text() for p in saved.parent.iterdir())
    assert kept == ['{"first": ', '{"second": '], kept
    assert corrections.find_saved(tmp_path, "ab" * 32) is None  # neither is taken for the photo's edits


def test_a_backup_whose_vectors_are_a_view_is_refused_before_it_is_read(tmp_path: Path):
    """A backup given by path is anyone's SQLite file. One whose ``vectors`` was a view of a recursive query was read
    by the restore's checks and copy for ever, filling the temp disk; the catalog schema has no view, trigger or
    virtual table, so one is refused in a line (here a view of three rows, which the restore took without the fix)."""
    backup = tmp_path / "catalog-from-a-colleague.sqlite"
    with contextlib.closing(sqlite3.connect(backup)) as db, db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        db.execute("DROP TABLE vectors")
        db.execute("CREATE VIEW vectors (product_id, embedder, image_hash, revision, vector) AS "
                   "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 3) "
                   "SELECT x, 'e', 'h', 0, zeroblob(8) FROM n")
    catalog = Catalog(tmp_path / "data" / "catalog.sqlite")
    try:
        with pytest.raises(CatalogError, match="holds the view 'vectors', which DecorLens never writes"):
            catalog.restore_from(backup)
    finally:
        catalog.close()


@pytest.mark.parametrize(("name", "read", "what"), [
    ("config.yaml", Settings.for_data_dir, "settings file"),
    ("categories.yaml", CategoryMap.load, "category map"),
])
def test_a_users_settings_or_category_map_that_is_no_file_is_named_not_replaced_by_the_defaults(
        tmp_path: Path, name: str, read, what: str):
    """A config.yaml or categories.yaml linked to a share that is not mounted (or a folder of that name) was taken
    as absent: the embedder or categories the user chose were silently the shipped ones."""
    (tmp_path / name).symlink_to(tmp_path / "share-not-mounted" / name)
    with pytest.raises(DecorLensError, match=f"{what} .*{name} is unreadable"):
        read(tmp_path)
    (tmp_path / name).unlink()
    (tmp_path / name).mkdir()
    with pytest.raises(DecorLensError, match=f"{what} .*{name} is unreadable .*folder"):
        read(tmp_path)


def test_a_planted_part_hard_link_is_never_written_through(tmp_path: Path):
    """A ``NAME.part`` that is a hard link to a file elsewhere (the symlink case was fixed before): the stock card
    was copied into it, truncating that file, and the rename that installs the card took the file away."""
    victim = tmp_path / "notes.txt"
    victim.write_bytes(b"important data")
    entry = next(f for f in modelpack.read_pack().files if f.role == "card")
    target = tmp_path / "models"
    target.mkdir()
    os.link(victim, target / f"{entry.file}.part")
    source = tmp_path / "pack"  # the card comes from resources/cards: the source is never read
    source.mkdir()
    report = modelpack.install(source, target, pack=modelpack.Pack("one card", "1", (entry,)))
    assert report.installed == [entry.file]
    assert victim.read_bytes() == b"important data"


def test_a_vector_folder_1100_deep_is_listed_without_a_traceback(tmp_path: Path):
    """``rglob`` died of "unexpected RecursionError" 1,000 folders deep (the photo walk was fixed before; the
    vector folder of ``catalog import --vectors`` was not)."""
    folder = bottom = tmp_path / "vectors"
    folder.mkdir()
    try:
        for _ in range(1100):
            bottom = bottom / "a"
            bottom.mkdir()
        (bottom / "part-0.parquet").touch()
        (bottom / ".hidden.parquet").touch()
        (folder / "elsewhere").symlink_to(tmp_path, target_is_directory=True)  # never entered
        assert vector_files(folder) == [bottom / "part-0.parquet"]
    finally:
        _remove_deep(folder)


def _remove_deep(folder: Path) -> None:
    """``folder`` and everything below it, by descriptor and without recursion: pytest's clean-up of old tmp_paths
    (``shutil.rmtree``) recurses, and a tree 1,100 deep made every later pytest run end in RecursionError."""
    fds, names = [os.open(folder, os.O_RDONLY | os.O_DIRECTORY)], []
    while fds:
        below = None
        for entry in os.scandir(fds[-1]):
            if entry.is_dir(follow_symlinks=False):
                below = entry.name
                break
            os.unlink(entry.name, dir_fd=fds[-1])
        if below is not None:
            fds.append(os.open(below, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
            names.append(below)
            continue
        os.close(fds.pop())
        if names:
            os.rmdir(names.pop(), dir_fd=fds[-1])
    folder.rmdir()


def test_backups_named_after_a_later_time_never_push_out_the_one_just_taken(tmp_path: Path):
    """Five backups named after 2099 (taken while the clock was ahead, or copied from a machine whose was) sorted
    newest, so the pruning after each new backup deleted the new one at once: take_backup returned a path that was
    gone, and the removal it was taken for went ahead with no backup."""
    catalog = tmp_path / "catalog.sqlite"
    folder = backups_dir(catalog)
    folder.mkdir()
    for day in range(1, 6):
        (folder / f"catalog-2099010{day}T000000000000Z-remove.sqlite").touch()
    with contextlib.closing(sqlite3.connect(":memory:")) as source:
        taken = take_backup(source, catalog, "remove")
    assert taken.is_file()
    assert taken in [b.path for b in list_backups(catalog)]


def test_copies_of_the_category_map_named_after_a_later_time_or_by_hand_never_push_out_the_new_one(tmp_path: Path):
    """The category map's copy a bundle import takes was pruned by name as the catalog's backups were: five copies
    named after 2099 deleted the new one at once, and a file of one's own named ``categories-….yaml`` in the backups
    folder counted as a copy (and was deleted as the oldest, where its name sorted so)."""
    catalog, source = tmp_path / "catalog.sqlite", tmp_path / "categories.yaml"
    source.write_text("categories: {lamp: {}}\n")
    folder = backups_dir(catalog)
    folder.mkdir()
    for day in range(1, 6):
        (folder / f"categories-2099010{day}T000000000000Z-bundle-import.yaml").touch()
    mine = folder / "categories-0-my-own.yaml"
    mine.touch()
    kept = back_up_file(source, catalog, "bundle-import")
    assert kept.read_text() == source.read_text()
    assert mine.is_file()


def test_a_saved_tag_numbered_where_the_next_would_overflow_qt_is_set_aside(tmp_path: Path):
    """``whole`` allows a tag number up to 2**31 - 1; the next box drawn is numbered one more, which Qt's int signals
    (tagAdded) cannot carry: an OverflowError inside the signal instead of the file's one line."""
    obj = SceneObject("chair", "chair", 0.9, (10, 10, 60, 90), (35, 50), [], "detector")
    data = EditableScene(SceneResult(str(tmp_path / "room.jpg"), 200, 100, "CPU", {}, [obj]), "cd" * 32).to_json()
    data["objects"][0]["number"] = 2**31 - 1
    saved = corrections.save(data, tmp_path)
    with pytest.raises(UnreadableEdits, match=r"number must be at most 2\*\*30"):
        corrections.load(saved, tmp_path / "room.jpg")


def test_a_vector_file_of_thousands_of_embedder_names_is_refused_in_a_short_line(tmp_path: Path):
    """The refusal of a vector file made by another embedder wrote every name its embedder column holds: 4,000 names
    of 2,000 characters (a 44 KB file, as they compress) made an 8 MB line."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = 4000
    names = [f"{i:04d}" + "x" * 2000 for i in range(rows)]
    columns = {SKU: [str(i) for i in range(rows)], CATEGORY: ["lamp"] * rows, IMAGE_SHA256: ["a" * 64] * rows,
               EMBEDDER: names, EMBEDDER_SHA256: ["b" * 64] * rows, VECTOR: [None] * rows, ERROR: [""] * rows}
    wanted = EmbedderId("mine", "c" * 64)
    path = tmp_path / "vectors.parquet"
    pq.write_table(pa.table(columns, schema=schema(4, wanted)), path, compression="zstd")
    with pytest.raises(CatalogError, match="vectors made by 0000x+ / 0001x+ / 0002x+ and 3,997 more") as err:
        check_embedder(path, wanted)
    assert len(str(err.value)) < 1000, len(str(err.value))


def test_the_edits_of_a_photo_named_in_250_bytes_are_saved_and_found(tmp_path: Path):
    """A photo's corrections file is named ``<its stem>-<key>.json``: a stem of 250 bytes (a name its folder holds)
    gave a name past the 255 bytes a file name may have, and every edit of the photo failed "File name too long"."""
    photo = tmp_path / f"{'é' * 123}ab.jpg"  # 248 bytes of stem in UTF-8
    obj = SceneObject("chair", "chair", 0.9, (10, 10, 60, 90), (35, 50), [], "detector")
    data = EditableScene(SceneResult(str(photo), 200, 100, "CPU", {}, [obj]), "cd" * 32).to_json()
    saved = corrections.save(data, tmp_path)
    assert saved.name.startswith("é" * 75) and saved.name.endswith(f"-{'cd' * 8}.json")
    assert corrections.find_saved(tmp_path, "cd" * 32) == saved
    assert [t.number for t in corrections.load(saved, photo).tags] == [1]


def test_a_category_map_without_a_section_for_a_detectors_class_set_is_named(tmp_path: Path, shared_models: Path):
    """A user's categories.yaml without ``detectors: coco:`` (kept from before, or cut down by hand) left the COCO
    detector mapping no class to a category: it found nothing in any photo, silently, "no decor found"."""
    (tmp_path / "categories.yaml").write_text("categories: {lamp: {}}\ndetectors: {oiv7: {Lamp: lamp}}\n")
    model = find_model("yolo11n-ovint8-dq.onnx", shared_models)
    with pytest.raises(ModelError, match="categories.yaml: no detectors section for class set 'coco', so a detector "
                                         "would tag nothing"):
        Detector(model, CategoryMap.load(tmp_path), "cpu")
