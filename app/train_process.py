"""A training job in a worker process, its ``@decorlens`` JSON lines turned into Qt signals.

Training runs in a process, not a thread: a thread would share the interpreter lock (and the two CPU
cores) with the UI, and a crash in torch would take the app with it. ``python -m training.run JOB``
reports progress in the protocol of ``training.run``; Cancel is ``cancel`` on its stdin, so the
job stops between steps and exits by itself, and a kill follows only when it does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from engine.words import counted

PREFIX = "@decorlens "  # training.run.PREFIX: the app does not import training for it
KILL_AFTER_MS = 30_000  # a job that has not stopped this long after being asked is killed
TAIL = 20  # stderr lines kept to explain a crash


class TrainProcess(QObject):
    progress = Signal(str, int, int, str)  # stage, done, total, message
    finished = Signal(str, object)  # "done" (result dict), "cancelled", "error" or "crashed" (message)

    def __init__(self, parent: QObject | None = None, doing: str = "Training"):
        """``doing`` names the job in its messages ("Training", "Making the new model ready")."""
        super().__init__(parent)
        self.process: QProcess | None = None
        self.doing = doing
        self._outcome: tuple[str, object] | None = None
        self._stderr: list[str] = []
        self._killed = False  # it did not stop when asked, and was killed
        self._kill = QTimer(self, singleShot=True, interval=KILL_AFTER_MS)
        self._kill.timeout.connect(self._force)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    @property
    def stopping(self) -> bool:
        """Asked to stop (``stop``), and not yet ended."""
        return self.running and self._kill.isActive()

    def start(self, job: Path) -> None:
        self._outcome, self._stderr, self._killed = None, [], False
        process = self.process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "training.run", str(job)])
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._ended)
        process.errorOccurred.connect(self._failed_to_start)
        process.start()

    def stop(self) -> None:
        """Ask the job to stop between steps (its checkpoint stays); kill it if it does not."""
        if self.running:
            self.process.write(b"cancel\n")
            self._kill.start()

    def _force(self) -> None:
        if self.running:
            self._killed = True
            self.process.kill()

    def _read_stdout(self) -> None:
        while self.process.canReadLine():
            line = bytes(self.process.readLine()).decode("utf-8", "replace").rstrip("\n")
            event = _parse(line)
            if event is None:
                continue
            if event.get("type") == "progress":
                self.progress.emit(str(event["stage"]), int(event["done"]), int(event["total"]),
                                   str(event.get("message", "")))
            elif event.get("type") in ("done", "cancelled", "error"):
                self._outcome = (event["type"], event.get("result", event.get("message", "")))

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        self._stderr = (self._stderr + [line for line in text.splitlines() if line.strip()])[-TAIL:]

    def _ended(self, _code: int, _status) -> None:
        self._kill.stop()
        self._read_stdout()
        kind, value = self._outcome or ("crashed", self._crash_message())
        self.finished.emit(kind, value)

    def _failed_to_start(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.finished.emit("crashed", f"Training could not start: {sys.executable}: "
                                          f"{self.process.errorString()}")

    def _crash_message(self) -> str:
        """The error's last line, or that it was killed, not having stopped when asked: that said "Training stopped
        unexpectedly: no message", as if it had crashed. What is left of the run (Resume or Start) the window says,
        once it knows: a checkpoint or a model is written whole or not at all (``engine.files.write_atomic``)."""
        if self._killed:
            seconds = counted(max(1, round(self._kill.interval() / 1000)), "second")
            return f"{self.doing} had not stopped {seconds} after being asked to, so it was ended."
        last = self._stderr[-1] if self._stderr else "no message"
        return f"{self.doing} stopped unexpectedly: {last}"


def _parse(line: str) -> dict | None:
    if not line.startswith(PREFIX):
        return None
    try:
        event = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
