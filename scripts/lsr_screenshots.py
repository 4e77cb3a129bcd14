"""Screenshots of the LSR panel's contamination and stimulation-control states (docs/evoked.md).

Each state is a simulated case run through the monitor's own pipeline
(``monitor.pipeline.attach_pipeline``, so the stimulation alarm is raised as on a live
screen) and its window, in this process, off screen, fed as fast as it renders:

- ``lsr-stimulation-control``: the stimulating needle slips at 16 s (the stimulator goes
  on at 15 mA, but neither the direct response nor the LSR comes any more): the technical
  alarm, the LSR panel's stimulation line and the direct-response trend;
- ``lsr-rejected-sweep``: electrocautery over three stimuli at 14-16.5 s, the waterfall
  showing those sweeps grey with their reason and the trend unscaled by them.

Writes ``docs/img/lsr-*.png`` at 1600x900.

    .venv/bin/python scripts/lsr_screenshots.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
SIZE = (1600, 900)
FRAME_S = 0.1


def _window(source):
    """A monitor window on ``source`` with the monitor's pipeline, its timer stopped."""
    from monitor.casemodel import CaseModel
    from monitor.pipeline import attach_pipeline
    from monitor.session import Session
    from ui.mainwindow import MainWindow

    session = Session(source)
    session.open()
    pipeline = attach_pipeline(session)
    win = MainWindow(
        CaseModel.on_session(session, monitoring=pipeline.monitoring, evoked=pipeline.evoked)
    )
    win.timer.stop()
    win.resize(*SIZE)
    win.show()
    return session, win


def _run(source, session, win, seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    rate = source.config.rate
    next_frame = FRAME_S
    while source._next < round(seconds * rate):
        session.process(source.read())
        if source._next >= next_frame * rate:
            win.refresh()
            QApplication.processEvents()
            next_frame += FRAME_S
    for _ in range(3):
        QApplication.processEvents()
        win.refresh()


def stimulation_control() -> Path:
    """The stimulating needle slips at 16 s: no direct response, no LSR, an alarm."""
    from drivers.simulator import SimulatorSource
    from simulation.emgsynth import EmgSynth, SimConfig

    class SlippedNeedle(EmgSynth):
        """The stimulator goes on, but from ``at_s`` the current no longer reaches the
        nerve: the same signal and pulses (artifacts included) without any response."""

        def __init__(self, config: SimConfig, at_s: float) -> None:
            super().__init__(config)
            self.at = round(at_s * config.rate)
            off = dataclasses.replace(config, threshold_ma=1e6, lsr_threshold_ma=1e6)
            self.off = EmgSynth(off)

        def render(self, start: int, n: int):
            data, stims = super().render(start, n)
            quiet, _ = self.off.render(start, n)
            return (quiet if start >= self.at else data), stims

    config = SimConfig(seed=2, cautery_per_min=0.0, a_trains_per_min=0.0)
    source = SimulatorSource(config, realtime=False, synth=SlippedNeedle(config, 16.0))
    session, win = _window(source)
    _run(source, session, win, 24.5)
    return _grab(win, "lsr-stimulation-control")


def rejected_sweep() -> Path:
    """Cautery over the stimuli at 14, 15 and 16 s."""
    from drivers.simulator import SimulatorSource
    from simulation.emgsynth import SimConfig

    config = SimConfig(seed=2, cautery_per_min=0.0, a_trains_per_min=0.0)
    source = SimulatorSource(config, realtime=False)
    source.synth.add_event("artifact", 13.99, duration_s=2.6, amplitude_uv=2500.0)
    session, win = _window(source)
    _run(source, session, win, 18.2)
    return _grab(win, "lsr-rejected-sweep")


def _grab(win, name: str) -> Path:
    out = IMG / f"{name}.png"
    win.grab().save(str(out))
    win.close()
    return out


SHOTS = {
    "lsr-stimulation-control": stimulation_control,
    "lsr-rejected-sweep": rejected_sweep,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(SHOTS), help="just these")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # The user's own settings (montage, filters) stay out of the pictures.
    os.environ["FACIAL_NERVE_MONITOR_CONFIG"] = tempfile.mkdtemp(prefix="fnm-shots-")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    for name in args.only or SHOTS:
        print(SHOTS[name]())
    del app


if __name__ == "__main__":
    main()
