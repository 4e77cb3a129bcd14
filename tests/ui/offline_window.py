"""The monitor's window on an offline simulator session that the test feeds: no
acquisition thread, the window's frame timer stopped (the test draws the frames), so a
screen test is the same on a busy machine as on an idle one."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication

from drivers.simulator import SimulatorSource
from monitor.casemodel import CaseModel
from monitor.montage import default_labels
from monitor.session import Session
from simulation.emgsynth import SimConfig

RATE = 10_000
FRAME_S = 0.1


def open_window(
    qtbot,
    n: int,
    size: tuple[int, int],
    seconds: float = 7.0,
    sim: dict[str, Any] | None = None,
    audio=None,
    **model: Any,
):
    """A window on ``n`` simulated channels at ``size`` (stimulated at 1 Hz from 2 s),
    fed ``seconds`` of signal; ``sim`` changes the simulation, ``model`` the case."""
    from ui.mainwindow import MainWindow

    config = SimConfig(rate=RATE, labels=default_labels(n), seed=21, **(sim or {}))
    session = Session(SimulatorSource(config, realtime=False, duration_s=120))
    session.open()
    win = MainWindow(CaseModel.on_session(session, **model), audio=audio)
    win.timer.stop()  # the test draws the frames
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    feed(win, seconds)
    return win


def feed(win, seconds: float) -> None:
    """Push ``seconds`` more of signal through the session, a frame every 0.1 s, then let
    Qt finish the layout."""
    source = win.session.source
    end = source._next + round(seconds * RATE)
    next_frame = source._next + FRAME_S * RATE
    while source._next < end:
        win.session.process(source.read())
        if source._next >= next_frame:
            win.refresh()
            next_frame += FRAME_S * RATE
    for _ in range(2):
        QApplication.processEvents()
        win.refresh()
