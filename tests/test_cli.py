"""The command line as a user meets it: JSON contract, readable output, one-line errors, batch tagging."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import needs_ultralytics
from PIL import Image

from decorlens.errors import USER_ERROR
from decorlens.main import build_parser, main
from engine.errors import Cancelled
from engine.pipeline import Pipeline

try:
    import resource
except ImportError:  # Windows
    resource = None

SOFA_SCENE = "take-a-comfy-seat-on-the-sofa"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data_dir(pipeline: Pipeline) -> str:
    """The session data dir, with the IKEA catalog already imported by the `pipeline` fixture."""
    return str(pipeline.data_dir)


def test_search_json_contract(data_dir: str, scene_path, capsys: pytest.CaptureFixture[str]):
    assert main(["--data-dir", data_dir, "search", str(scene_path(SOFA_SCENE)), "--json", "--top-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"image", "width", "height", "device", "timings_ms", "objects"}
    assert set(out["timings_ms"]) >= {"decode", "detect", "embed", "search"}
    assert out["objects"]
    for obj in out["objects"]:
        assert set(obj) >= {"category", "label", "score", "box", "tag", "matches"}
        assert len(obj["box"]) == 4 and len(obj["tag"]) == 2 and len(obj["matches"]) == 3
        for match in obj["matches"]:
            assert set(match) >= {"product_id", "sku", "name", "category", "score", "match"}
            assert match["match"] in ("exact", "similar")


def test_search_box_json_holds_one_region(data_dir: str, scene_path, capsys: pytest.CaptureFixture[str]):
    args = ["--data-dir", data_dir, "search", str(scene_path(SOFA_SCENE)), "--box", "300,400,900,700", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["objects"]) == 1 and out["objects"][0]["box"] == [300, 400, 900, 700]


def test_search_prints_readable_report(data_dir: str, scene_path, capsys: pytest.CaptureFixture[str]):
    assert main(["--data-dir", data_dir, "search", str(scene_path(SOFA_SCENE))]) == 0
    text = capsys.readouterr().out
    assert "sofa" in text and "tag at" in text and "detect" in text
    tags = len(re.findall(r"^\[\d+\] ", text, re.MULTILINE))  # a block per tag
    assert f"  {tags} tags  on " in text.splitlines()[0]  # the app's word: it said "7 objects"


def test_search_box_report_names_what_it_searched(data_dir: str, scene_path, capsys: pytest.CaptureFixture[str]):
    """A --box region without --category read '[1]  (region 1.00)': a blank where the category goes."""
    assert main(["--data-dir", data_dir, "search", str(scene_path(SOFA_SCENE)), "--box", "300,400,900,700"]) == 0
    assert "\n[1] any category (region 1.00) tag at" in capsys.readouterr().out
    assert main(["--data-dir", data_dir, "search", str(scene_path(SOFA_SCENE)), "--box", "300,400,900,700",
                 "--category", "sofa"]) == 0
    assert "\n[1] Sofa (region 1.00) tag at" in capsys.readouterr().out


def _half_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()[:-60]


@pytest.mark.parametrize(("content", "message"), [(b"", "empty file"), (_half_png(), "truncated"),
                                                    (b"plain text", "not an image")])
def test_bad_image_is_one_line_and_nonzero(data_dir: str, tmp_path: Path, content: bytes, message: str,
                                           capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    assert main(["--data-dir", data_dir, "search", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("decorlens: error:") and message in err and "\n" not in err


def test_missing_model_names_file_and_where(tmp_path: Path, scene_path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DECORLENS_MODELS_DIR", str(tmp_path / "no-models"))
    assert main(["--data-dir", str(tmp_path / "d"), "search", str(scene_path(SOFA_SCENE))]) == 2
    err = capsys.readouterr().err
    # long temp paths are shortened to their ends to keep the line within 200 characters
    assert "yolo11n" in err and "/no-models" in err and "decorlens models" in err and len(err.strip()) <= 200


def test_bad_box_is_a_usage_error(data_dir: str, scene_path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", data_dir, "search", str(scene_path(SOFA_SCENE)), "--box", "1,2,3"])
    assert info.value.code == 2 and "x1,y1,x2,y2" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "eval"])
@pytest.mark.parametrize(("value", "message"), [("high", "neither a number nor 'card'"), ("1.5", "between 0 and 1")])
def test_bad_confidence_is_a_usage_error(tmp_path: Path, command: str, value: str, message: str,
                                         capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(tmp_path), command, "--data", str(tmp_path), "--conf", value])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_models_fetch_offline_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # nothing listens: no network, as here
    assert main(["--data-dir", str(tmp_path), "models", "fetch"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "decorlens models fetch --from" in err


def test_tag_batch_continues_past_bad_files(data_dir: str, scene_path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]):
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    shutil.copy(scene_path(SOFA_SCENE), scenes / "sofa.jpg")
    shutil.copy(scene_path("bed-that-folds"), scenes / "bed.jpg")
    (scenes / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    out = tmp_path / "out"
    assert main(["-q", "--data-dir", data_dir, "tag", str(scenes), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "tagged 2 of 3 photos (" in captured.out and "broken.jpg" in captured.err
    assert sorted(p.name for p in out.glob("*.json")) == ["bed.json", "sofa.json"]
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["scene"].rsplit("/", 1)[-1] for r in rows} == {"sofa.jpg", "bed.jpg", "broken.jpg"}
    assert [r["scene"].rsplit("/", 1)[-1] for r in rows if r["failed"]] == ["broken.jpg"]  # its row says why
    assert all(r["sku"] for r in rows if r["rank"])


def test_a_folder_or_fifo_under_a_photos_output_fails_that_photo_alone(
        data_dir: str, scene_path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A folder (or FIFO) where one photo's JSON goes stopped the whole batch with one line, as a full disk does,
    though every other photo's outputs could be written: that photo fails saying why, the rest are tagged."""
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for name, scene in (("a", SOFA_SCENE), ("b", "bed-that-folds"), ("c", SOFA_SCENE)):
        shutil.copy(scene_path(scene), scenes / f"{name}.jpg")
    out = tmp_path / "out"
    (out / "a.json").mkdir(parents=True)
    os.mkfifo(out / "c.json")  # opened to be written, it would wait for a reader for ever
    assert main(["-q", "--data-dir", data_dir, "tag", str(scenes), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "tagged 1 of 3 photos (" in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2, lines
    refusal = ", not a file to write over; move it, or choose another output folder"
    for line, photo, why in zip(lines, ("a", "c"), ("is a folder", "a FIFO (named pipe)"), strict=True):
        assert re.fullmatch(rf"failed: \S*/{photo}\.jpg: \S*/{photo}\.json: {re.escape(why + refusal)}", line)
    assert (out / "b.json").is_file() and (out / "a.json").is_dir() and (out / "c.json").is_fifo()
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    failed = {r["scene"].rsplit("/", 1)[-1]: r["failed"] for r in rows if r["failed"]}
    assert set(failed) == {"a.jpg", "c.jpg"} and failed["a.jpg"].endswith(f"a.json: is a folder{refusal}")
    assert any(r["scene"].endswith("b.jpg") and r["sku"] for r in rows)


def _room_for(size: int) -> Callable[[], None]:
    """What lets the child write files of at most ``size`` bytes, as a disk with that much room left would: a
    longer write fails (EFBIG, not a signal)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.skipif(resource is None, reason="no resource limits on this system")
def test_tag_stops_at_an_output_it_cannot_write_and_says_what_the_summary_holds(
        pipeline: Pipeline, scene_path, tmp_path: Path):
    """A full disk ended the batch with the OS's line, and no summary.csv for the photos already tagged: each later
    photo would have failed alike. Here the disk has room for an untagged photo's JSON and the summary, not for a
    room's JSON of many tags (a real write error, run by `decorlens` in a process of its own)."""
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    Image.new("RGB", (640, 480), (230, 222, 208)).save(scenes / "a.jpg")  # a bare wall: a small JSON, no tags
    for name, scene in (("b", "bed-that-folds"), ("c", SOFA_SCENE)):
        shutil.copy(scene_path(scene), scenes / f"{name}.jpg")
    out = tmp_path / "out"
    pipeline.prepare_matcher()  # the catalog embedded here: the child could not write its vectors
    done = subprocess.run([sys.executable, "-m", "decorlens", "-q", "--data-dir", str(pipeline.data_dir), "tag",
                           str(scenes), "--out", str(out)], check=False, capture_output=True, text=True, cwd=ROOT,
                          timeout=300, preexec_fn=_room_for(8192))
    assert done.returncode == 2 and done.stdout == "", done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "stopped after tagging 1 of 3 photos, listed in" in line and "/out/summary.csv: " in line
    assert "b.json" in line and "File too large" in line, line
    assert sorted(p.name for p in out.glob("*.json")) == ["a.json"]  # b's cut short was removed
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        assert {r["scene"].rsplit("/", 1)[-1] for r in csv.DictReader(fh)} == {"a.jpg"}


class _SignalDuringTheFirstPhoto(Pipeline):
    """The pipeline a person presses Ctrl-C at (or a scheduler ends) while it tags the first photo: a real
    signal, in-process."""

    sent = signal.SIGINT

    def search_scene(self, *args, **kwargs):
        result = super().search_scene(*args, **kwargs)
        # Python's own handler would stop the test run, not the batch: fail instead.
        assert signal.getsignal(self.sent) not in (signal.default_int_handler, signal.SIG_DFL), "tag lets it kill"
        signal.raise_signal(self.sent)
        return result


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_a_tag_batch_between_photos_and_keeps_their_summary(pipeline: Pipeline, scene_path,
                                                                         tmp_path: Path, sent: signal.Signals):
    """Ctrl-C killed ``tag`` inside a photo: the photos done kept their JSON, but no summary.csv listed them.
    SIGTERM (a scheduler, ``kill``) ended it the same way, silently."""
    from decorlens import tag

    photos = [str(scene_path(name)) for name in (SOFA_SCENE, "bed-that-folds", "a-cosy-space-for-coffee")]
    out = tmp_path / "out"
    args = argparse.Namespace(inputs=photos, out=out, top_k=None, html=False, title=None, quiet=True)
    stopping = type("Stopping", (_SignalDuringTheFirstPhoto,), {"sent": sent})
    before = signal.getsignal(sent)
    with pytest.raises(Cancelled, match=r"after 1 of 3 photos; theirs are in .*summary\.csv"):
        tag.run(args, stopping(pipeline.settings))
    assert signal.getsignal(sent) is before  # Ctrl-C (or SIGTERM) ends the process again afterwards
    assert len(list(out.glob("*.json"))) == 1
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["scene"] for r in rows} == {photos[0]}


class _SigtermWhileEmbeddingTheCatalog(Pipeline):
    """A pipeline a scheduler ends (SIGTERM, in-process) while it embeds the catalog for another embedder."""

    def prepare_matcher(self, matcher="embedder", progress=None, cancelled=lambda: False):
        sent = []

        def ended_at_first_chunk(done: int, total: int) -> None:
            if not sent:  # once: a second SIGTERM aborts at once, as it should
                sent.append(signal.raise_signal(signal.SIGTERM))
            if progress:
                progress(done, total)
        return super().prepare_matcher(matcher, ended_at_first_chunk, cancelled)


def test_sigterm_while_tag_embeds_the_catalog_stops_it_with_the_catalog_as_it_was(
    tmp_path: Path, ikea: Path, exported_models: Path, scene_path
):
    """`tag` after another embedder was chosen embedded the whole catalog inside its first photo's search:
    no progress, and Ctrl-C or SIGTERM waited for all of it."""
    from decorlens import tag
    from engine.catalog import Catalog
    from engine.importer import CHUNK
    from engine.settings import Settings

    shutil.copytree(exported_models, tmp_path / "data" / "models")
    folder = tmp_path / "products" / "lamp"
    folder.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:CHUNK + 8]:  # two chunks to embed
        shutil.copy(image, folder / image.name)
    data = tmp_path / "data"
    assert main(["-q", "--data-dir", str(data), "catalog", "import", str(tmp_path / "products")]) == 0
    v1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
    settings = Settings.for_data_dir(data).with_(embedder=(v1,))
    args = argparse.Namespace(inputs=[str(scene_path(SOFA_SCENE))], out=tmp_path / "out", top_k=None, html=False,
                              title=None, quiet=True)
    with pytest.raises(Cancelled, match="re-embedding cancelled; the catalog is unchanged"):
        tag.run(args, _SigtermWhileEmbeddingTheCatalog(settings))
    with Catalog(data / "catalog.sqlite") as catalog:
        assert not any(key.startswith("mobilenet_v1") for key in catalog.embedders())
    assert not (tmp_path / "out").exists()


def test_catalog_stats_and_list(data_dir: str, capsys: pytest.CaptureFixture[str]):
    assert main(["--data-dir", data_dir, "catalog", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["products"] == 1955 and stats["categories"]["lamp"] == 149
    assert main(["--data-dir", data_dir, "catalog", "list", "--category", "sofa", "--limit", "3"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_rebuild_index_names_the_embedder_as_settings_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """It said "index rebuilt for mobilenet_v2-imagenet-<sha>", the key alone, where the app says "MobileNetV2 …"."""
    assert main(["--data-dir", str(tmp_path), "catalog", "rebuild-index"]) == 0
    said = capsys.readouterr().out.strip()
    assert said.startswith("index rebuilt for MobileNetV2 1.0/224 (ImageNet), vectors mobilenet_v2-imagenet-"), said


def test_activate_embedder_sticks_and_reembeds(tmp_path: Path, ikea: Path, exported_models: Path,
                                               capsys: pytest.CaptureFixture[str]):
    """`models activate` switches every later search to another embedder and re-embeds the catalog."""
    shutil.copytree(exported_models, tmp_path / "data" / "models")
    folder = tmp_path / "products" / "lamp"
    folder.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, folder / image.name)
    data = str(tmp_path / "data")
    v1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
    assert main(["-q", "--data-dir", data, "catalog", "import", str(tmp_path / "products")]) == 0
    assert main(["-q", "--data-dir", data, "models", "activate", v1]) == 0
    assert v1 in (tmp_path / "data" / "config.yaml").read_text()
    capsys.readouterr()
    assert main(["--data-dir", data, "catalog", "stats", "--json"]) == 0
    vectors = json.loads(capsys.readouterr().out)["vectors"]
    assert sorted(vectors.values()) == [3, 3] and any(k.startswith("mobilenet_v1") for k in vectors)
    assert main(["--data-dir", data, "models", "list"]) == 0
    assert v1 in capsys.readouterr().out
    assert main(["--data-dir", data, "--embedder", "mobilenet_v2_1.0_224_quant.float.onnx", "models", "list"]) == 0
    assert "mobilenet_v2_1.0_224_quant.float.onnx" in capsys.readouterr().out


def test_activate_detectors_sets_the_detector_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Detectors named to `models activate` replace the configured set; `--detector` picks them for one run."""
    oiv7 = "yolov8n-oiv7-int8.onnx"
    assert main(["--data-dir", str(tmp_path), "models", "activate", oiv7]) == 0
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["detectors"] == [[oiv7]]
    # named as Settings names it, with the file it runs
    said = capsys.readouterr().out
    assert said.startswith("detection now runs YOLOv8n (Open Images V7 601 classes) from /"), said
    assert f"{oiv7}; saved in " in said
    assert main(["--data-dir", str(tmp_path), "models", "list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("detector")]
    assert len(listed) == 1 and oiv7 in listed[0]
    assert main(["--data-dir", str(tmp_path), "--detector", oiv7, "--detector", oiv7, "models", "list"]) == 0
    assert sum(line.strip().startswith("detector") for line in capsys.readouterr().out.splitlines()) == 2
    assert main(["-q", "--data-dir", str(tmp_path), "models", "activate", "mobilenet_v2_1.0_224_quant.float.onnx"]) == 0
    assert capsys.readouterr().out.startswith("searches now use MobileNetV2 1.0/224 (ImageNet) from /")


def test_models_list_names_the_training_install_before_the_pose_export_it_needs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """On a plain install (no [train] extra) the pose row said "`decorlens models export …pt`", which then failed
    for want of ultralytics: the install it needs comes first. With the extra, the export alone."""
    def pose_row() -> str:
        assert main(["--data-dir", str(tmp_path), "models", "list"]) == 0
        return next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("pose"))

    assert pose_row().endswith("not installed; `decorlens models export yolov8n-pose-ovint8-dq.pt`")
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # as where the extra was never installed
    assert pose_row().endswith(
        "not installed; `scripts/install --train`, then `decorlens models export yolov8n-pose-ovint8-dq.pt`")


def test_models_list_json_says_what_is_found_missing_and_active(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]):
    """`catalog stats`, `list` and `show` had --json, `models list` none: a script setting up a shop had to parse
    the columns to learn whether the embedder was there and which installed models it could activate."""
    v1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path), "--embedder", v1, "models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    roles = [row["role"] for row in listed["models"]]
    assert roles == ["detector", "detector", "embedder", "pose"] and listed["people"] == "auto"
    embedder = listed["models"][2]
    assert embedder["found"] and embedder["path"].endswith(v1) and embedder["dimension"] == 1024, embedder
    # a pack model by the pack's words, any other by its card's name, as the app names them
    assert [row["label"] for row in listed["models"]] == [
        "YOLO11n (COCO 80 classes)", "YOLOv8n (Open Images V7 601 classes)", "mobilenet_v1-imagenet", None]
    assert listed["models"][0]["name"] == "yolo11n-ovint8-dq"
    labels = {Path(m["path"]).name: m["label"] for m in listed["installed"]}
    assert labels["mobilenet_v2_1.0_224_quant.float.onnx"] == "MobileNetV2 1.0/224 (ImageNet)", labels
    assert listed["models"][3]["found"] is False and listed["models"][3]["required"] is False
    active = {Path(m["path"]).name for m in listed["installed"] if m["active"]}
    assert v1 in active and "mobilenet_v2_1.0_224_quant.float.onnx" not in active, listed["installed"]
    assert all(Path(m["path"]).is_file() for m in listed["installed"])
    assert main(["--data-dir", str(tmp_path), "models", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any(row.split()[1:3] == ["MobileNetV2", "1.0/224"] and row.endswith(".float.onnx") for row in rows), rows
    assert main(["--data-dir", str(tmp_path), "--embedder", "gone.onnx", "models", "list", "--json"]) == 1
    missing = json.loads(capsys.readouterr().out)["models"][2]
    assert (missing["found"], missing["required"], missing["path"]) == (False, True, None)
    assert "gone.onnx not found in " in missing["problem"], missing


def test_activating_two_embedders_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    v1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
    assert main(["--data-dir", str(tmp_path), "models", "activate", v1, "mobilenet_v2_1.0_224_quant.float.onnx"]) == 2
    assert "one embedder at a time" in capsys.readouterr().err


def test_without_a_data_dir_the_cli_writes_into_the_tests_home_not_the_users(test_home: Path):
    """No --data-dir, no DECORLENS_DATA_DIR: the platformdirs folder, which the session moved into its own home."""
    users_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    env = {k: v for k, v in os.environ.items() if k != "DECORLENS_DATA_DIR"}
    done = subprocess.run([sys.executable, "-m", "decorlens", "catalog", "stats"], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    catalog = test_home / ".local" / "share" / "DecorLens" / "catalog.sqlite"
    assert str(catalog) in done.stdout and catalog.is_file()
    assert not test_home.is_relative_to(users_home)


def test_ultralytics_keeps_its_settings_in_the_tests_home(test_home: Path):
    """ultralytics writes ~/.config/Ultralytics when imported; the session points it elsewhere."""
    needs_ultralytics()
    code = "from ultralytics.utils import USER_CONFIG_DIR; print(USER_CONFIG_DIR)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.splitlines()[-1]).is_relative_to(test_home)  # after 'Creating new … Settings'


def test_an_import_that_refuses_every_row_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,category,image\nA1,chair,missing.jpg\nA2,sofa,also-missing.jpg\n")
    assert main(["--data-dir", str(tmp_path / "data"), "catalog", "import", str(feed)]) == USER_ERROR
    captured = capsys.readouterr()
    assert "2 skipped" in captured.out and "added" not in captured.out  # counts of none are left out
    assert "skipped A1" in captured.err and "missing.jpg" in captured.err
    # it ends in the one error line a failed command ends in, not in a bug's exit code after notes alone
    assert captured.err.splitlines()[-1] == ("decorlens: error: nothing imported from feed.csv: 2 skipped (the reasons "
                                             "are above)")


@pytest.mark.parametrize("source", ["folder", "feed.csv"])
def test_an_import_of_nothing_fails_saying_what_a_source_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                source: str):
    """An empty folder, or a feed of a header alone: "0 added" and exit 0 read as a success."""
    path = tmp_path / source
    path.mkdir() if source == "folder" else path.write_text("sku,category,image\n")
    assert main(["--data-dir", str(tmp_path / "data"), "catalog", "import", str(path)]) == USER_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err == [(f"decorlens: error: nothing imported from {source}: it holds no products (a folder needs a "
                    "subfolder of photos per category; a feed, a row per product)")]


def _lamp_shop(tmp_path: Path, ikea: Path, count: int = 3) -> str:
    """A data dir whose catalog holds a few IKEA lamps (the models come from DECORLENS_MODELS_DIR)."""
    folder = tmp_path / "products" / "lamp"
    folder.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:count]:
        shutil.copy(image, folder / image.name)
    data = str(tmp_path / "data")
    assert main(["-q", "--data-dir", data, "catalog", "import", str(tmp_path / "products")]) == 0
    return data


def test_bundle_export_and_import_say_what_they_did_once(tmp_path: Path, ikea: Path,
                                                         capsys: pytest.CaptureFixture[str]):
    """The summary went to stdout and, logged by the engine, to stderr too: a terminal showed it twice."""
    data = _lamp_shop(tmp_path, ikea)
    capsys.readouterr()
    bundle = str(tmp_path / "shop.dlcat")
    assert main(["--data-dir", data, "bundle", "export", bundle]) == 0
    out, err = capsys.readouterr()
    assert "3 products" in out and "3 products" not in err
    assert main(["--data-dir", str(tmp_path / "till"), "bundle", "import", bundle]) == 0
    out, err = capsys.readouterr()
    assert "imported 3 products" in out and "imported 3 products" not in err


def test_tagging_against_an_empty_catalog_is_one_line(scene_path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]):
    """Not a 'failed: … the catalog is empty' line per photo and a summary of nothing: one error, no output."""
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for name in (SOFA_SCENE, "bed-that-folds"):
        shutil.copy(scene_path(name), scenes / f"{name}.jpg")
    out = tmp_path / "out"
    assert main(["--data-dir", str(tmp_path / "data"), "tag", str(scenes), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("decorlens: error:") and "is empty" in err and "\n" not in err
    assert not out.exists()


def test_activate_interrupted_while_re_embedding_keeps_the_embedder(tmp_path: Path, ikea: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]):
    """Ctrl-C during `models activate`'s re-embedding: the old embedder stays the one searches use (the
    new one was saved first, so the next search re-embedded the whole catalog unasked)."""
    data = _lamp_shop(tmp_path, ikea)
    v1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "prepare_matcher", interrupted)
    capsys.readouterr()
    assert main(["--data-dir", data, "models", "activate", v1, "yolov8n-oiv7-int8.onnx"]) == 130
    assert "interrupted" in capsys.readouterr().err
    config = tmp_path / "data" / "config.yaml"
    assert not config.exists() or v1 not in config.read_text()
    assert not config.exists() or "yolov8n-oiv7" not in config.read_text()


def test_self_check_without_models_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]):
    """On a fresh machine self-check said which files were missing and where it looked, not how to get them."""
    monkeypatch.setenv("DECORLENS_MODELS_DIR", str(tmp_path / "no-models"))
    assert main(["--data-dir", str(tmp_path / "data"), "self-check"]) == 1
    out = capsys.readouterr().out
    assert "FAILED at models" in out and "`decorlens models fetch`" in out


def test_catalog_list_says_when_it_shows_only_part(data_dir: str, capsys: pytest.CaptureFixture[str]):
    """`catalog list` stopped at 50 of 1955 products, or printed nothing for a search that matched none, in silence
    (an unknown category is refused: test_cli_walk)."""
    assert main(["--data-dir", data_dir, "catalog", "list", "--category", "sofa", "--limit", "3"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3 and "only the first 3 products shown" in err and "--limit N" in err
    assert main(["--data-dir", data_dir, "catalog", "list", "--category", "sofa", "--limit", "35"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 35 and err == ""  # all 35 sofas: nothing left out, nothing to say
    assert main(["--data-dir", data_dir, "catalog", "list", "--search", "no such name"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no products match" in err


def test_counts_are_grouped_by_thousands_as_the_app_writes_them(data_dir: str, capsys: pytest.CaptureFixture[str]):
    """`catalog stats` said "1955 products", which reads as a year; the app says "1,955". JSON keeps numbers."""
    assert main(["--data-dir", data_dir, "catalog", "stats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1,955 products in ") and " categories (" in lines[0]
    assert any(", vectors " in line and line.endswith(": 1,955") for line in lines)
    assert main(["--data-dir", data_dir, "catalog", "list", "--limit", "1000"]) == 0
    assert "only the first 1,000 products shown" in capsys.readouterr().err
    assert main(["--data-dir", data_dir, "catalog", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["products"] == 1955


def test_catalog_remove_names_the_skus_it_did_not_find(tmp_path: Path, ikea: Path,
                                                       capsys: pytest.CaptureFixture[str]):
    """'removed 1 of 3 products' left the user to guess which SKUs were typos."""
    data = _lamp_shop(tmp_path, ikea)
    sku = min((ikea / "products" / "lamp").glob("*.jpg")).stem
    capsys.readouterr()
    assert main(["--data-dir", data, "catalog", "remove", sku, "no-such-sku", "bad\nsku"]) == 1
    out, err = capsys.readouterr()
    assert "removed 1 of 3 products" in out
    assert err.strip().splitlines() == ["not in the catalog: no-such-sku bad\\u000asku"]


@pytest.mark.parametrize("threshold", ["-1", "0", "2", "nan"])
def test_duplicates_threshold_must_be_a_cosine(threshold: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]):
    """-1 made the whole catalog one group of 'duplicates', and --keep would then remove all but one."""
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(tmp_path), "catalog", "duplicates", "--threshold", threshold])
    assert info.value.code == 2 and "not a cosine above 0 and at most 1" in capsys.readouterr().err


def test_the_help_says_what_each_exit_code_means(capsys: pytest.CaptureFixture[str]):
    """Scripts check the exit code: the codes the commands return are listed where a user looks first."""
    from decorlens.errors import INTERRUPTED, PARTLY_DONE

    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (f"Exit codes: 0 done; {PARTLY_DONE} done in part (what failed is named above) or an unexpected error; "
            f"{USER_ERROR} nothing done, for the reason the error line gives; {INTERRUPTED} interrupted.") in help_text


def _parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """Every command's and verb's parser, with the words that reach it: (), ("tag",), ("catalog", "import") …"""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*words, name))


def test_every_help_says_what_the_command_does_and_what_to_give(capsys: pytest.CaptureFixture[str]):
    """`decorlens --help` listed the commands under a bare "COMMAND" in "positional arguments", after the options;
    `tag --help` asked for "inputs", `catalog remove --help` for "skus" with no word on them, and `search --help`
    said nothing of what search does. Every --help now opens with a sentence on what the command does, names each
    thing to give in capitals with a line on it, and lists commands (verbs) first, under a heading with a line."""
    for words, parser in _parsers(build_parser()):
        with pytest.raises(SystemExit):
            main([*words, "--help"])
        text = capsys.readouterr().out
        flat = " ".join(text.split())
        described = " ".join((parser.description or "").split())
        assert described[:1].isupper() and described.endswith(".") and described in flat, words
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                heading = "commands:" if not words else "verbs:"
                assert text.index(f"\n{heading}\n  {action.metavar}  ") < text.index("\noptions:\n"), words
                assert action.help and "--help` says more" in action.help
            elif not action.option_strings:  # a positional: what to give, in capitals
                assert action.metavar and action.metavar.isupper() and action.help, (words, action.dest)
            else:  # an option: a line on it, in the style of argparse's own (no full stop)
                assert action.help and not action.help.endswith("."), (words, action.option_strings)
    with pytest.raises(SystemExit):
        main(["tag", "--help"])
    assert "PHOTO_OR_FOLDER [PHOTO_OR_FOLDER ...]" in capsys.readouterr().out
