"""The model pack: installed from a folder or over HTTP (a server on 127.0.0.1 serving ../shared/models),
every file checked against the shipped manifest, resumed where a download stopped, never replacing a
good model with a bad or partial one."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from decorlens.main import main
from engine import modelpack
from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import find_first
from engine.paths import resources_dir
from engine.settings import Settings

PACK = modelpack.read_pack()
SMALL = "yolov8n-oiv7-int8.onnx"  # the smallest model, for the tests that break one file


class RangeHandler(SimpleHTTPRequestHandler):
    """http.server's file handler plus open-ended byte ranges (``bytes=N-``), as release hosts serve them."""

    def send_head(self):
        self.server.requests.append((self.path.lstrip("/"), self.headers.get("Range")))
        wanted = self.headers.get("Range")
        if not wanted or not getattr(self.server, "ranges", True):
            return super().send_head()
        path = Path(self.translate_path(self.path))
        start, size = int(wanted.removeprefix("bytes=").rstrip("-")), path.stat().st_size
        if start >= size:
            self.send_error(416)
            return None
        fh = open(path, "rb")  # noqa: SIM115 - http.server closes what send_head returns
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        return fh

    def log_message(self, *_args) -> None:
        pass

    def send_first_half(self) -> bytes:
        """Promises the whole of the file asked for and sends its first half (a download broken off, or held up,
        midway); the file's bytes, for a handler that sends the rest later."""
        data = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        return data


class DroppingHandler(RangeHandler):
    """Promises the whole of SMALL, then hangs up halfway: a connection lost mid-download."""

    def send_head(self):
        if not self.path.endswith(SMALL):
            return super().send_head()
        self.send_first_half()
        self.close_connection = True
        return None


@contextmanager
def serve(folder: Path, handler=RangeHandler, ranges: bool = True) -> Iterator[tuple[ThreadingHTTPServer, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    server.requests, server.ranges = [], ranges
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def pack_source(tmp_path: Path, shared_models: Path, broken: dict[str, bytes] | None = None) -> Path:
    """A pack folder: links to the shared models, with ``broken`` files replaced by the given bytes."""
    folder = tmp_path / "source"
    folder.mkdir()
    for entry in PACK.files:
        if entry.role != "card":
            (folder / entry.file).symlink_to(shared_models / entry.file)
    for name, data in (broken or {}).items():
        (folder / name).unlink()
        (folder / name).write_bytes(data)
    return folder


def assert_installed(folder: Path) -> None:
    """Every file of the pack is there, right; an optional one only if the source had it (tests/test_people.py)."""
    for entry in PACK.files:
        if entry.optional and not (folder / entry.file).exists():
            continue
        assert sha256_of(folder / entry.file) == entry.sha256, entry.file
    assert not list(folder.glob("*.part"))


def test_the_manifest_matches_the_defaults_the_cards_and_the_shared_models(shared_models: Path):
    names = {f.file for f in PACK.files}
    defaults = Settings.defaults()
    for choices in (*defaults.detectors, defaults.embedder):
        assert names & set(choices), f"no default of {choices} in the pack"
    for entry in PACK.files:
        if entry.role == "card":
            stock = resources_dir() / "cards" / entry.file
            assert (stock.stat().st_size, sha256_of(stock)) == (entry.size, entry.sha256)
        else:
            card = json.loads((resources_dir() / "cards" / entry.file.replace(".onnx", ".card.json")).read_text())
            assert card["sha256"] == entry.sha256 and card["kind"] == entry.role
            real = shared_models / entry.file
            if entry.optional and not real.exists():
                continue  # the pose model: exported by the project, not in ../shared/models
            assert (real.stat().st_size, sha256_of(real)) == (entry.size, entry.sha256)
    raw = yaml.safe_load(modelpack.manifest_path().read_text())
    assert [f["file"] for f in raw["files"]] == [f.file for f in PACK.files]


def test_install_from_a_folder_makes_the_defaults_findable(tmp_path: Path, shared_models: Path, monkeypatch):
    monkeypatch.delenv("DECORLENS_MODELS_DIR", raising=False)
    target = tmp_path / "data" / "models"
    seen: list[tuple[int, int]] = []
    report = modelpack.install(shared_models, target, progress=lambda d, t: seen.append((d, t)))
    assert sorted(report.installed + report.skipped) == sorted(f.file for f in PACK.files) and not report.kept
    assert all(f.optional for f in PACK.files if f.file in report.skipped)
    assert_installed(target)
    assert seen[-1] == (PACK.size, PACK.size) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    defaults = Settings.defaults()
    for choices in (*defaults.detectors, defaults.embedder):
        assert find_first(choices, None, tmp_path / "data").path.parent == target
    again = modelpack.install(shared_models, target)
    assert not again.installed and len(again.kept) == len(PACK.files) - len(report.skipped)


def test_install_over_http_from_a_local_server(tmp_path: Path, shared_models: Path):
    with serve(shared_models) as (server, url):
        modelpack.install(url, tmp_path / "models")
    assert_installed(tmp_path / "models")
    fetched = {path for path, _ in server.requests}
    assert fetched == {f.file for f in PACK.files if f.role != "card"}  # cards come from resources


def test_a_corrupt_file_is_refused_and_the_model_there_kept(tmp_path: Path, shared_models: Path):
    good = (shared_models / SMALL).read_bytes()
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2] ^= 0xFF
    source = pack_source(tmp_path, shared_models, {SMALL: bytes(corrupt)})
    target = tmp_path / "models"
    target.mkdir()
    (target / SMALL).write_bytes(b"the model the user had before")
    with serve(source) as (_server, url), pytest.raises(ModelError, match=f"{SMALL} .*not the pack's file"):
        modelpack.install(url, target)
    assert (target / SMALL).read_bytes() == b"the model the user had before"
    assert not list(target.glob("*.part"))
    shutil.copyfile(shared_models / SMALL, source / SMALL)
    modelpack.install(source, target)
    assert_installed(target)


def test_an_oversized_file_is_cut_off_at_the_manifest_size(tmp_path: Path, shared_models: Path):
    padded = (shared_models / SMALL).read_bytes() + b"\0" * 4096
    source = pack_source(tmp_path, shared_models, {SMALL: padded})
    target = tmp_path / "models"
    with serve(source) as (_server, url), pytest.raises(ModelError, match=f"{SMALL} .*larger than the pack"):
        modelpack.install(url, target)
    assert not (target / SMALL).exists() and not list(target.glob("*.part"))


def test_a_partial_download_resumes_with_a_range_request(tmp_path: Path, shared_models: Path):
    target = tmp_path / "models"
    with serve(shared_models, DroppingHandler) as (_server, url), pytest.raises(ModelError, match="resume"):
        modelpack.install(url, target)
    part = target / f"{SMALL}.part"
    have = part.stat().st_size
    assert 0 < have < (shared_models / SMALL).stat().st_size and not (target / SMALL).exists()
    with serve(shared_models) as (server, url):
        modelpack.install(url, target)
    assert (SMALL, f"bytes={have}-") in server.requests
    assert_installed(target)


def test_a_server_without_ranges_sends_the_whole_file_again(tmp_path: Path, shared_models: Path):
    target = tmp_path / "models"
    target.mkdir()
    (target / f"{SMALL}.part").write_bytes((shared_models / SMALL).read_bytes()[:1000])
    with serve(shared_models, ranges=False) as (server, url):
        modelpack.install(url, target)
    assert (SMALL, "bytes=1000-") in server.requests
    assert_installed(target)


def test_a_bad_partial_download_is_thrown_away_not_installed(tmp_path: Path, shared_models: Path):
    target = tmp_path / "models"
    target.mkdir()
    (target / f"{SMALL}.part").write_bytes(b"not the start of the model" * 100)
    with serve(shared_models) as (_server, url), pytest.raises(ModelError, match="not the pack's file"):
        modelpack.install(url, target)
    assert not (target / SMALL).exists() and not (target / f"{SMALL}.part").exists()
    with serve(shared_models) as (_server, url):
        modelpack.install(url, target)
    assert_installed(target)


def test_a_second_install_into_the_same_folder_is_refused_and_a_killed_one_blocks_nothing(
    tmp_path: Path, shared_models: Path
):
    """Two installs at once wrote the same .part (each refused the other's bytes as not the pack's file, or
    appended into a model the other had just installed). The first holds the folder; killed, it lets go."""
    folder = tmp_path / "models"
    server = socket.create_server(("127.0.0.1", 0))  # accepts the connection, never answers
    port = server.getsockname()[1]
    install = "import sys, pathlib, engine.modelpack as m; m.install(sys.argv[1], pathlib.Path(sys.argv[2]))"
    child = subprocess.Popen([sys.executable, "-c", install, f"http://127.0.0.1:{port}/", str(folder)],
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        server.settimeout(120)
        connection, _ = server.accept()  # the child is inside its install, waiting for the first file
        with pytest.raises(ModelError, match="another DecorLens is installing the model pack into"):
            modelpack.install(shared_models, folder)
        assert not list(folder.glob("*.onnx*"))
    finally:
        child.kill()
        child.wait()
        server.close()
    connection.close()
    assert modelpack.install(shared_models, folder).installed
    assert_installed(folder)


def test_fetch_without_network_says_what_to_do_in_one_line(tmp_path: Path, capsys):
    with socket.socket() as probe:  # a port nobody listens on: connection refused, as offline
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["--data-dir", str(tmp_path), "models", "fetch", "--from", f"http://127.0.0.1:{port}/pack"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and len(err) <= 200
    assert f"127.0.0.1:{port}" in err and "decorlens models fetch --from DIR" in err
    assert [p.name for p in (tmp_path / "models").glob("*")] == [modelpack.LOCK_FILE]


def test_fetch_from_a_missing_folder_names_it(tmp_path: Path, capsys):
    code = main(["--data-dir", str(tmp_path), "models", "fetch", "--from", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and str(tmp_path / "nowhere") in err


def test_fetch_installs_into_the_data_dir_and_models_list_finds_it(tmp_path: Path, shared_models: Path,
                                                                   capsys, monkeypatch):
    monkeypatch.delenv("DECORLENS_MODELS_DIR", raising=False)
    assert main(["-q", "--data-dir", str(tmp_path), "models", "fetch", "--from", str(shared_models)]) == 0
    assert_installed(tmp_path / "models")
    assert main(["--data-dir", str(tmp_path), "models", "list"]) == 0
    assert "MISSING" not in capsys.readouterr().out


def test_missing_models_name_the_pack_in_one_short_line(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("DECORLENS_MODELS_DIR", raising=False)
    assert main(["--data-dir", str(tmp_path), "models", "list"]) != 0
    missing = [line for line in capsys.readouterr().out.splitlines()[1:] if "MISSING" in line]
    assert len(missing) == 3  # two detectors and the embedder; the optional pose model is reported as off
    for line in missing:
        message = line.split("MISSING", 1)[1].strip()
        assert "decorlens models fetch" in message
        assert len(message.replace(str(tmp_path), "~/.local/share/DecorLens")) <= 200


def test_export_looks_for_a_bare_file_name_where_models_are_found(tmp_path: Path, shared_models: Path, capsys):
    code = main(["--data-dir", str(tmp_path), "models", "export", "nothere-dq.pt"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and len(err) <= 200
    assert f"nothere-dq.pt not found in {shared_models}" in err


def test_a_planted_part_symlink_is_never_written_through(tmp_path: Path, shared_models: Path):
    """A ``NAME.part`` that is a link to a file outside the folder: the install wrote the model into that file
    (it followed the link) and then blamed the good source. The link goes; the file it points at is untouched."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"important data")
    target = tmp_path / "models"
    target.mkdir()
    (target / f"{SMALL}.part").symlink_to(victim)
    card = next(f.file for f in PACK.files if f.role == "card")
    (target / f"{card}.part").symlink_to(victim)
    modelpack.install(shared_models, target)
    assert victim.read_bytes() == b"important data"
    assert_installed(target)


def test_a_part_that_is_a_folder_is_named_as_the_problem(tmp_path: Path, shared_models: Path):
    target = tmp_path / "models"
    (target / f"{SMALL}.part").mkdir(parents=True)
    with pytest.raises(ModelError) as caught:
        modelpack.install(shared_models, target)
    message = str(caught.value)
    assert "\n" not in message and f"{target / SMALL}.part" in message and "folder" in message
    assert str(shared_models) not in message


def test_a_source_that_is_no_pack_folder_says_what_a_pack_is(tmp_path: Path, shared_models: Path, capsys):
    """An archive, a file:// URL or another scheme was "model pack folder ... does not exist". The line names
    the source by its end at least: a long path loses its leading folders before the reason is cut."""
    archive = tmp_path / "evil.zip"
    archive.write_bytes(b"PK\x03\x04 not unpacked")
    wrong = {str(archive): "is a file, not a folder (unpack an archive first)",
             f"file://{shared_models}": "give the folder", "ftp://localhost/pack": "only http(s) URLs"}
    for source, why in wrong.items():
        assert main(["--data-dir", str(tmp_path / "data"), "models", "fetch", "--from", source]) != 0
        err = capsys.readouterr().err.strip()
        named = source.rsplit("/", 1)[-1]
        assert "\n" not in err and named in err and why in err and "does not exist" not in err, err
        assert "a pack is a folder or an http(s) URL of one" in err


# -- hostile servers (found by an audit: each kept `models fetch` running for ever, or ended in a traceback) --

WAIT = 30.0  # upper bound on a server's wait for the test; never reached when things work


@contextmanager
def serve_raw(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A server on 127.0.0.1 that reads a request and calls ``answer`` with the connection, whatever it sends;
    its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # to see ``stop``
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(WAIT)
            with connection:
                connection.recv(65536)
                try:
                    answer(connection)
                except OSError:
                    pass  # the client gave up, as it should

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(WAIT)
        listener.close()


def _closed_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_dribbling_server_is_given_up_at_the_deadline_and_what_came_is_kept(tmp_path: Path, monkeypatch):
    """A byte at a time with the whole Content-Length promised never trips the per-read timeout, and a 1 MiB read
    waited for the whole MiB: the fetch ran for ever showing no progress. Now each byte shows as it comes, and
    the file is given up at its deadline (here made 0.2 s) with what came kept for the next run to resume."""
    monkeypatch.setattr(modelpack, "GRACE_S", 0.2)
    monkeypatch.setattr(modelpack, "MIN_RATE", 10**12)
    first = PACK.files[0]
    gone = threading.Event()

    def dribble(connection: socket.socket) -> None:
        connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {first.size}\r\n\r\n".encode())
        for _ in range(int(WAIT / 0.05)):  # for ever, as far as the fetch can tell
            if gone.wait(0.05):
                return
            connection.sendall(b"\0")

    seen: list[int] = []
    target = tmp_path / "models"
    with serve_raw(dribble) as url:
        try:
            with pytest.raises(ModelError) as slow:
                modelpack.install(url, target, progress=lambda done, _total: seen.append(done))
        finally:
            gone.set()
    message = str(slow.value)
    assert message.startswith(f"{first.file} came too slowly: ") and "run the same command again to resume" in message
    kept = (target / f"{first.file}.part").stat().st_size
    assert 0 < kept < first.size and kept in seen and seen == sorted(seen)


def test_a_server_dribbling_its_headers_is_given_up_at_the_deadline(tmp_path: Path, monkeypatch):
    """The file's deadline held for the body only: a status line and headers sent a byte at a time, each
    within the per-read timeout, kept the fetch waiting for ever before its first byte."""
    monkeypatch.setattr(modelpack, "GRACE_S", 0.2)
    monkeypatch.setattr(modelpack, "MIN_RATE", 10**12)
    gone = threading.Event()

    def dribble(connection: socket.socket) -> None:
        for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: "):  # never a whole header
            if gone.wait(0.05):
                return
            connection.sendall(bytes([byte]))

    with serve_raw(dribble) as url:
        try:
            with pytest.raises(ModelError) as slow:
                modelpack.install(url, tmp_path / "models")
        finally:
            gone.set()
    assert str(slow.value).startswith(f"{PACK.files[0].file} came too slowly: 0 of ")


@pytest.mark.parametrize(("answer", "why"), [
    (b"garbage\r\n\r\n", "BadStatusLine: garbage"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", "LineTooLong: got more than 65536 bytes"),
    (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(101)) + b"\r\n",
     "HTTPException: got more than 100 headers"),
])
def test_a_server_that_does_not_speak_http_is_one_line_naming_the_url(tmp_path: Path, capsys, answer: bytes,
                                                                      why: str):
    """These ended in "unexpected BadStatusLine" (or LineTooLong, HTTPException), exit 1 and a traceback log."""
    with serve_raw(lambda connection: connection.sendall(answer)) as url:
        code = main(["--data-dir", str(tmp_path), "models", "fetch", "--from", url])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "unexpected" not in err, err
    assert err.startswith(f"decorlens: error: could not download {url}{PACK.files[0].file}: the answer is not "
                          f"valid HTTP ({why}")
    assert not (tmp_path / "decorlens-error.log").exists()


def test_a_redirect_to_ftp_is_refused_naming_where_it_led(tmp_path: Path, capsys):
    """urlopen followed it: an FTP connection to the redirect's host, and when that failed the line blamed the
    pack's server ("could not reach <the server> (Connection refused)")."""
    ftp = f"ftp://127.0.0.1:{_closed_port()}/pack/model.onnx"

    def redirect(connection: socket.socket) -> None:
        connection.sendall(f"HTTP/1.1 302 Found\r\nLocation: {ftp}\r\nContent-Length: 0\r\n\r\n".encode())

    with serve_raw(redirect) as url:
        code = main(["--data-dir", str(tmp_path), "models", "fetch", "--from", url])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err == (f"decorlens: error: could not download {url}{PACK.files[0].file}: HTTP 302 redirect to {ftp} "
                   "refused, only http(s) is followed")


def test_a_redirect_to_a_host_that_does_not_answer_names_that_host(tmp_path: Path):
    elsewhere = f"127.0.0.1:{_closed_port()}"

    def redirect(connection: socket.socket) -> None:
        connection.sendall(f"HTTP/1.1 302 Found\r\nLocation: http://{elsewhere}/m.onnx\r\n"
                           "Content-Length: 0\r\n\r\n".encode())

    with serve_raw(redirect) as url, pytest.raises(modelpack.SourceUnreachable) as unreachable:
        modelpack.install(url, tmp_path / "models")
    assert str(unreachable.value).startswith(f"could not reach {elsewhere} (")


@pytest.mark.parametrize(("make", "kind"), [
    (lambda path: path.symlink_to("/dev/zero"), "a device, not a regular file"),
    (lambda path: os.mkfifo(path), "a FIFO (named pipe), not a regular file"),
])
def test_a_pack_file_that_is_no_regular_file_is_named_as_such(tmp_path: Path, shared_models: Path, make, kind: str):
    """A link to /dev/zero or a FIFO in the pack folder was "not in the model pack folder"."""
    source = pack_source(tmp_path, shared_models)
    (source / SMALL).unlink()
    make(source / SMALL)
    with pytest.raises(ModelError) as refused:
        modelpack.install(source, tmp_path / "models")
    assert str(refused.value) == f"model pack file {source / SMALL}: {kind}; copy the whole pack folder again"
