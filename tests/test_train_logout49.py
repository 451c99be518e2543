"""The Train window at a session's end and on damaged run folders (session 49): logging out while a run trains, a
run that ignores its stop, and run files cut short, edited by hand or naming models outside the models folders."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("torch") is None:  # the window's training needs the [train] extra
    pytest.skip("needs the [train] extra (torch)", allow_module_level=True)
pytest.importorskip("pytestqt")

import PySide6
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtGui import QSessionManager
from PySide6.QtWidgets import QApplication
from test_train_walk48 import TRAINED, WAIT_MS, _finished, _left_by_a_quit_app, _opened_again, _used

from app import train_jobs
from app.dialogs.train import QUIT_KEEPS, TrainWindow
from app.main import SessionEnd, _terminated
from app.train_jobs import FINDS_AGAIN, RUNS
from engine.errors import DecorLensError
from engine.models import find_first
from engine.settings import CONFIG_FILE, Settings
from training.run import INSTALL_JOB, RESULT, Job

pytestmark = [pytest.mark.train, pytest.mark.gui]
STAMP = "20261207-154152"  # the run used
NEWER = "20261207-155329"  # a run finished after it


def _hanging_run(window: TrainWindow, tmp_path: Path) -> None:
    """A real training process that cannot stop between steps: stopped (SIGSTOP) as it starts, it reads no stop, as
    a step that never checks for one would (only a kill ends it). A job that is a pipe no one writes did this until
    run files were read as regular files only (``training.run.read_run_json``)."""
    job = Job(data_dir=str(tmp_path), run=str(tmp_path / "run"), epochs=1, views=1).save()
    window._running("Training in a process of its own", "embedder")
    window.process.start(job)
    assert window.process.process.waitForStarted(WAIT_MS)
    os.kill(window.process.process.processId(), signal.SIGSTOP)


def _commit_data(app: QApplication) -> None:
    """``QGuiApplication.commitDataRequest`` emitted as Qt's platform code does, from C++ with the app's own session
    manager: emitted from Python, PySide 6.11 hands the slot a broken QSessionManager and crashes."""
    manager = app.findChild(QSessionManager)
    gui = ctypes.CDLL(str(Path(PySide6.__file__).parent / "Qt" / "lib" / "libQt6Gui.so.6"))
    emit = gui._ZN15QGuiApplication17commitDataRequestER15QSessionManager
    emit.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    emit(shiboken6.getCppPointer(app)[0], shiboken6.getCppPointer(manager)[0])


def _no_question() -> QTimer:
    """Fails the test on any question asked while it runs (a modal box no one at a logout answers)."""
    def watch() -> None:
        box = QApplication.activeModalWidget()
        if box is not None:
            box.close()
            pytest.fail(f"asked: {box.text()}")

    timer = QTimer(interval=50)
    timer.timeout.connect(watch)
    timer.start()
    return timer


@pytest.mark.skipif(sys.platform != "linux", reason="SIGSTOP for a run deaf to its stop, Qt's library by its Linux name")
def test_the_session_ending_the_app_stops_a_run_between_steps_unasked(qtbot, fresh_pipeline, main_window, tmp_path):
    """SIGTERM (the session, or a service manager, ending the app) asked the quit question no one was there to answer.
    The run stops between steps unasked, said, and the app ends once it has. A session save that lets no app ask
    (offscreen's, as KDE's Save Session with no logout) leaves the run going. A run that ignores its stop is killed
    30 s on, which was said as a crash with "no message": it says so now, over what is left of the run."""
    win = main_window(fresh_pipeline)
    SessionEnd(win)
    win.show_training()
    window = win.train_window
    _hanging_run(window, tmp_path)
    watch = _no_question()
    try:
        _commit_data(QApplication.instance())
        assert not window.process.stopping and window.status.text() == "Training in a process of its own"
        window.process._kill.setInterval(300)  # the run ignores its stop: killed 30 s on, here 0.3
        _terminated(win)
        assert window.process.stopping and win.isVisible()  # until the run has stopped
        assert window.status.text().startswith("Quitting once training has stopped: ")
        qtbot.waitUntil(lambda: not win.isVisible(), timeout=WAIT_MS)
    finally:
        watch.stop()
        if window.process.running:
            window.process.process.kill()
            window.process.process.waitForFinished()
    assert window.status.text() == "Training had not stopped 1 second after being asked to, so it was ended."


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="SIGSTOP for a run deaf to its stop: POSIX")
def test_logging_out_asks_where_the_session_lets_the_app(qtbot, fresh_pipeline, tmp_path):
    """Where the session manager lets the app ask (X11's logout, Windows'), the question of quitting in a logout's
    words: Keep Training has the logout cancelled, Log Out and Stop It stops the run between steps, said."""
    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    _hanging_run(window, tmp_path)
    asked: list[str] = []
    try:
        for button, logs_out in (("Keep Training", False), ("Log Out and Stop It", True)):
            def click(button: str = button) -> None:
                box = QApplication.activeModalWidget()
                asked.append(box.text())
                next(b for b in box.buttons() if b.text() == button).click()

            QTimer.singleShot(0, click)
            assert window.session_ending(ask=True) is logs_out
            assert window.process.stopping is logs_out
        assert asked == [f"A training is running. Log out and stop it: {QUIT_KEEPS}"] * 2
        assert window.status.text() == f"Logging out: stopping the training between steps: {QUIT_KEEPS}"
        assert window.session_ending(ask=True)  # stopping already: not asked again
    finally:
        window.process.process.kill()
        window.process.process.waitForFinished()


def test_resume_says_what_it_does_in_the_words_of_every_line(qtbot, fresh_pipeline):
    """The Resume button's status spelled its own words ("matching's training is kept, finding objects begins again
    from the start…") beside RESUME_FINDS_AGAIN's; one source now for each thing Resume does."""
    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.summary_data = train_jobs.Summary(resumable=fresh_pipeline.data_dir, resumable_finds_again=True)
    window.resume()
    assert window.status.text() == f"Resuming: it {FINDS_AGAIN}…"
    qtbot.waitUntil(lambda: not window.io.busy(), timeout=WAIT_MS)  # the job it could not read: said, nothing run


def _files(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted((data / RUNS).rglob("*")) if p.is_file()}


def _result(run: Path) -> dict:
    return json.loads((run / RESULT).read_text())


def _damaged(qtbot, data: Path, said: str) -> TrainWindow:
    """The window opened on ``data``: it opens, says ``said`` in one line, and changes no run file."""
    files = _files(data)
    window = _opened_again(qtbot, data)
    assert f"A training run's file cannot be used and is left as it is: {said}, in the data folder's {RUNS} folder." \
        in window.warning.text().splitlines()
    assert _files(data) == files
    return window


def _example_picture(run: Path, picture: Path) -> None:
    """An example whose picture is a pipe: reading it, the window's one worker waited for ever, and with it the counts,
    Use and Undo."""
    os.mkfifo(picture)
    (run / RESULT).write_text(json.dumps(_result(run) | {"before_after": {
        "before": {}, "after": {"pairs": 1}, "scenes": 1, "split": "test", "examples": [{
            "category": "lamp", "crop": str(picture), "before": {"sku": None, "thumb": None},
            "after": {"sku": None, "thumb": None}, "right": {"sku": "1", "thumb": None}}]}}))


@pytest.mark.parametrize(("edit", "said"), [
    (lambda run: (run / RESULT).write_text('{"embedder": {"model": '), "not JSON"),
    (lambda run: (run / RESULT).write_text(json.dumps(_result(run) | {"before_after": {
        "before": {"top5": 0.5}, "after": {"top5": 57, "pairs": 9}, "scenes": 3, "split": "test"}})),
     "its before / after is not measures of held-back photos"),
    (lambda run: (run / RESULT).write_text(json.dumps(_result(run) | {"embedder": _result(run)["embedder"] | {
        "best_epoch": "many"}})), "its epochs are not counts of epochs"),
    (lambda run: (run / RESULT).write_text(json.dumps({"detector": {"model": "/etc/hostname", "classes": []}})),
     "its model /etc/hostname is not in the run's models folder"),
    (lambda run: _example_picture(run, run / "pipe"), "its examples are not products and pictures"),
])
def test_a_damaged_result_is_said_and_the_last_good_run_shown(qtbot, fresh_pipeline, edit, said):
    """A result.json cut short was passed over without a word; one edited by hand ended the window's opening in a
    traceback (half its before / after shown), and one naming a file outside its run had Use copy that file into
    the models and make it active. The newest good run is shown; the damaged one is said and left as it is."""
    good, _network = _finished(fresh_pipeline.data_dir, STAMP, TRAINED)
    damaged, _network = _finished(fresh_pipeline.data_dir, NEWER, "my-photos-20261207-155329.onnx")
    edit(damaged)
    window = _damaged(qtbot, fresh_pipeline.data_dir, f"app-{NEWER}/{RESULT}: {said}")
    assert window.result_run == good and window.results_box.isVisible()


def _install_json(run: Path, embedder: list[str]) -> None:
    job = json.loads((run / INSTALL_JOB).read_text())
    (run / INSTALL_JOB).write_text(json.dumps(job | {"embedder": embedder}))


def test_undo_never_goes_back_to_a_model_outside_the_models_folders(qtbot, fresh_pipeline, tmp_path):
    """install.json, edited to name a model file elsewhere (a real one), had Undo save and open it as it stood; one
    naming a model since deleted saved a choice the app could not start with. Undo is off and says why; activating
    such models is refused, and config.yaml keeps the models in use."""
    stock = fresh_pipeline.settings
    run, _network = _finished(stock.data_dir, STAMP, TRAINED)
    _used(run, stock, TRAINED)
    elsewhere = tmp_path / "elsewhere" / stock.embedder[0]
    elsewhere.parent.mkdir()
    found = find_first(stock.embedder, stock.models_dir, stock.data_dir).path
    shutil.copy(found, elsewhere)
    config = (stock.data_dir / CONFIG_FILE).read_bytes()
    undo_off = f"Undo is off: {RUNS}/{run.name}/{INSTALL_JOB} in the data folder, the models in use before its Use,"
    for embedder, why in (([str(elsewhere)], f"the model {elsewhere} is not in the models folders"),
                          (["deleted.onnx"], "the model deleted.onnx is no longer in the models folders")):
        _install_json(run, embedder)
        window = _undo_off(qtbot, stock.data_dir, f"{undo_off} is of no use: {why}.")
        with pytest.raises(DecorLensError, match=f"cannot make these models active: {why}"):
            train_jobs.activate(window.pipeline, embedder, [list(d) for d in stock.detectors], None, lambda: False)
        assert (stock.data_dir / CONFIG_FILE).read_bytes() == config
        window.close()
    (run / INSTALL_JOB).write_text('{"kind": "ins')
    _undo_off(qtbot, stock.data_dir, f"{undo_off} cannot be read.")
    assert Settings.for_data_dir(stock.data_dir).embedder == (TRAINED,)


def _undo_off(qtbot, data: Path, said: str) -> TrainWindow:
    """The window opened on ``data``, the run used its newest: in use, said, with Undo off and why, no file changed."""
    files = _files(data)
    window = _opened_again(qtbot, data)
    assert window.status.text() == ("In use: the models of the run started 7 Dec at 15:41, chosen with Use this "
                                    f"model. {said}")
    assert not window.undo_button.isEnabled() and not window.use_button.isEnabled()
    assert _files(data) == files
    return window


@pytest.mark.parametrize("edit", [
    {"run": "elsewhere"}, {"data_dir": "/"}, {"dataset": "/etc"}, {"name": "../../../escaped"}, {"kind": "install"}])
def test_resume_refuses_a_job_that_names_folders_not_its_own(qtbot, fresh_pipeline, tmp_path, edit):
    """A job.json edited by hand (or copied from another run) had Resume train into the folder it named: checkpoints,
    the YOLO labels' cache and the models (its name with folders in it) written outside the run. Refused in one
    line, the run left as it is for Start."""
    data = fresh_pipeline.data_dir
    run = _left_by_a_quit_app(data, epochs=2, done=1)
    job = json.loads((run / "job.json").read_text()) | {"dataset": str(run / "data")}
    (run / "job.json").write_text(json.dumps(job | {k: str(tmp_path / v) if k == "run" else v for k, v in edit.items()}))
    files = _files(data)
    window = _opened_again(qtbot, data)
    window.resume()
    qtbot.waitUntil(lambda: not window._busy, timeout=WAIT_MS)
    assert window.status.text() == (f"cannot resume {run}: its job.json names other folders than its own or a model "
                                    "name with folders in it; Start begins a new run")
    assert _files(data) == files and not (tmp_path / "elsewhere").exists() and not window.process.running


def test_use_reads_the_result_again_and_refuses_one_changed_since(qtbot, fresh_pipeline):
    """Use copied the model that result.json named when it ran, whatever it had been when the window showed it."""
    run, _network = _finished(fresh_pipeline.data_dir, NEWER, "my-photos-20261207-155329.onnx")
    window = _opened_again(qtbot, fresh_pipeline.data_dir)
    assert window.result_run == run
    (run / RESULT).write_text(json.dumps({"embedder": _result(run)["embedder"] | {"model": "/etc/hostname"}}))
    window.use_button.click()
    qtbot.waitUntil(lambda: not window._busy, timeout=WAIT_MS)
    assert window.status.text() == (f"cannot use {run / RESULT}: its model /etc/hostname is not in the run's models "
                                    "folder")
    assert window.use_button.isEnabled() and not window.installer.running and not (run / INSTALL_JOB).exists()


@pytest.mark.parametrize("edit", [{"epochs": "many"}, {"views": [1]}, {"backbone": 5}, {"epochs": -3}])
def test_a_job_with_values_of_the_wrong_kind_is_said_not_counted_as_a_folder(qtbot, fresh_pipeline, edit):
    """A job.json edited by hand (epochs "many", views a list) raised ValueError or TypeError as the window read what
    Resume would continue, and the window said "Nothing counted: the folder below cannot be used" of an empty field
    (or, epochs -3, "stopped after 0 epochs of at most -3"). It opens, says the run stopped, and Resume says what
    is wrong, in one line each."""
    run = _left_by_a_quit_app(fresh_pipeline.data_dir, epochs=2, done=1)
    (run / "job.json").write_text(json.dumps(json.loads((run / "job.json").read_text()) | edit))
    window = _opened_again(qtbot, fresh_pipeline.data_dir)
    assert window.step.text() == ("A run started 7 Dec at 15:37 stopped before the end: Resume continues it, Start "
                                  "begins a new one.")
    window.resume()
    qtbot.waitUntil(lambda: not window._busy, timeout=WAIT_MS)
    name, value = next(iter(edit.items()))
    assert window.status.text() == f"training job {run / 'job.json'} is unreadable ({name}: {value!r})"
    assert not window.process.running


def test_every_field_of_a_job_is_checked_when_loaded():
    """A field added to Job without its check would pass unchecked: Job.load raises KeyError instead, and this fails."""
    from dataclasses import fields

    from training.run import _JOB_VALUES, Job

    assert {f.name for f in fields(Job)} == set(_JOB_VALUES)


@pytest.mark.parametrize(("epochs", "said"), [(10**6, "2 epochs"), (-5, "0 epochs"), (1e999, "0 epochs")])
def test_a_history_edited_by_hand_counts_no_more_epochs_than_the_job_has(qtbot, fresh_pipeline, epochs, said):
    """history.json's epochs were said as they stood: "stopped after 1000000 epochs of at most 2"."""
    run = _left_by_a_quit_app(fresh_pipeline.data_dir, epochs=2, done=1)
    (run / "embedder" / "history.json").write_text(json.dumps([{"epoch": 0}, {"epoch": epochs}]))
    window = _opened_again(qtbot, fresh_pipeline.data_dir)
    assert window.step.text().startswith(f"A run started 7 Dec at 15:37 stopped after {said} of at most 2: ")
