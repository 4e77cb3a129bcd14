"""Running the detectors over a whole recording again, beside the replay.

``main.py analyze`` runs in a child process (its own core, no contention for the GIL
with acquisition and drawing; a crash there cannot take the monitor with it). Its
``events.csv`` and ``summary.json`` become the timeline's "Found" row.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal

from ui.timeline import Mark

log = logging.getLogger(__name__)
MAIN = Path(__file__).resolve().parents[1] / "main.py"
_PERCENT = re.compile(rb"(\d+(?:\.\d)?)%")


def read_found(folder: Path) -> list[Mark]:
    """Events (and the LSR disappearance) from an ``analyze`` output folder."""
    marks = []
    with open(folder / "events.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            start, stop = float(row["onset_s"]), float(row["offset_s"])
            kind = row["kind"]
            marks.append(Mark(start, stop, kind, f"{kind.replace('_', '-')} {row['channel']}"))
    summary_path = folder / "summary.json"
    if summary_path.exists():
        lsr = json.loads(summary_path.read_text(encoding="utf-8")).get("lsr", {})
        gone = lsr.get("disappeared_at_s")
        if gone is not None:
            marks.append(Mark(gone, gone, "lsr_gone", "LSR disappeared"))
    return sorted(marks, key=lambda m: m.start_s)


class Redetection(QObject):
    """One child ``analyze`` run over a recording. GUI thread only.

    Signals
    -------
    progress(float)
        Percent done.
    finished(list, str)
        The marks found (possibly empty) and a sentence: what was found, or why not.
    """

    progress = Signal(float)
    finished = Signal(list, str)

    def __init__(self, recording: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recording = Path(recording)
        self.folder = Path(tempfile.mkdtemp(prefix="fnm-review-"))
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.readyReadStandardError.connect(self._read_progress)
        self.process.finished.connect(self._done)
        self.process.errorOccurred.connect(self._failed)
        self._stderr = b""
        self._reported = False

    def start(self) -> None:
        args = [str(MAIN), "analyze", str(self.recording), "--out", str(self.folder)]
        self.process.start(sys.executable, args)

    def stop(self) -> None:
        """End the child process (the window is closing) and remove its folder."""
        self._reported = True  # killed on purpose: not a failure to report
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(2000)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _read_progress(self) -> None:
        chunk = bytes(self.process.readAllStandardError().data())
        self._stderr = (self._stderr + chunk)[-4000:]
        found = _PERCENT.findall(chunk)
        if found:
            self.progress.emit(float(found[-1]))

    def _done(self, code: int, status: QProcess.ExitStatus) -> None:
        if self._reported:
            return
        self._reported = True
        if status != QProcess.ExitStatus.NormalExit or code != 0:
            last = self._stderr.decode("utf-8", "replace").strip().splitlines()
            why = last[-1].removeprefix("error: ") if last else f"exit code {code}"
            log.warning("re-detection of %s failed: %s", self.recording, why)
            self.finished.emit([], f"Re-detection failed: {why}")
            return
        try:
            marks = read_found(self.folder)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("re-detection results unreadable: %s", exc)
            self.finished.emit([], "Re-detection results could not be read.")
            return
        events = sum(m.kind != "lsr_gone" for m in marks)
        self.finished.emit(marks, f"{events} event{'s' * (events != 1)} found")

    def _failed(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._reported:
            self._reported = True
            self.finished.emit([], "Re-detection could not start.")
