"""Display speed: 8 channels x 20 kHz, 10 s window, offscreen, from the live simulator.

Counts frames actually painted per second and the CPU time of the GUI thread (drawing,
envelope copy, Qt) as a share of one core; the acquisition thread's share is printed
apart. Prints its figures last as one JSON line.

    .venv/bin/python bench/display_fps.py [--seconds 10] [--channels 8] [--rate 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from drivers.simulator import SimulatorSource
from monitor.monitoring import FreeRunMonitoring
from monitor.montage import default_labels
from monitor.session import Session
from simulation.emgsynth import SimConfig


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def thread_cpu(pid_thread: int) -> float:
    for t in psutil.Process().threads():
        if t.id == pid_thread:
            return t.user_time + t.system_time
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--rate", type=float, default=20_000.0)
    args = ap.parse_args()

    import pyqtgraph as pg

    from monitor.casemodel import CaseModel
    from ui.mainwindow import MainWindow

    pg.setConfigOptions(antialias=False)
    app = QApplication.instance() or QApplication([])
    config = SimConfig(rate=args.rate, labels=default_labels(args.channels), seed=1)
    session = Session(SimulatorSource(config))
    session.open()
    monitoring = FreeRunMonitoring(session)  # detectors, train time, alarms: the live screen
    session.start()
    window = MainWindow(CaseModel.on_session(session, monitoring=monitoring), window_s=10.0)
    window.resize(1600, 900)
    window.show()
    counter = PaintCounter()
    window.traces.viewport().installEventFilter(counter)

    # Fill the 10 s window first so every frame draws a full screen.
    warm_end = time.monotonic() + 10.5
    while time.monotonic() < warm_end:
        app.processEvents()
        time.sleep(0.005)

    acq_tid = session._thread.native_id
    gui_t0, acq_t0 = time.thread_time(), thread_cpu(acq_tid)
    frames0, paints0 = window.traces.frames, counter.paints
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.seconds:
        app.processEvents()
        time.sleep(0.002)
    wall = time.monotonic() - t0
    gui_cpu = time.thread_time() - gui_t0
    acq_cpu = thread_cpu(acq_tid) - acq_t0
    result = {
        "bench": "display_fps",
        "channels": args.channels,
        "rate_hz": args.rate,
        "window_s": 10.0,
        "size": "1600x900",
        "frames_per_s": round((window.traces.frames - frames0) / wall, 1),
        "paints_per_s": round((counter.paints - paints0) / wall, 1),
        "gui_thread_cpu_pct_of_one_core": round(100 * gui_cpu / wall, 1),
        "acquisition_thread_cpu_pct": round(100 * acq_cpu / wall, 1),
        "gaps": session.status().gaps,
    }
    session.stop()
    window.close()
    print(
        f"{result['paints_per_s']} frames/s painted, GUI thread "
        f"{result['gui_thread_cpu_pct_of_one_core']} % of one core"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
