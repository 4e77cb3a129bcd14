"""Screenshots of the monitor's main states for the user guide (docs/user-guide.md).

Each monitor state is made the way a user would see it, by ``main.py --screenshot`` on a
simulated case set up to be in that state (and, for "no signal", the simulated amplifier
unplugged by ``main.py simulate-device --unplug-at``); the two dialogs of the case start
are grabbed in-process. Writes ``docs/img/guide-*.png`` at 1600x900, and with ``--matrix``
every state at the operating-room sizes the monitor promises (1366x768 and 1920x1080)
with 4 and with 16 channels, as ``docs/img/screens/STATE-WxH-Nch.png`` (the review shows
the demo recording's own channels).

    .venv/bin/python scripts/screenshots.py [--only NAME ...] [--matrix]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
PY = sys.executable
SIZE = "1600x900"
SCREENS = IMG / "screens"
MATRIX_SIZES = ("1366x768", "1920x1080")
MATRIX_CHANNELS = (4, 16)

#: name -> (main.py arguments, seconds to wait before the shot)
STATES: dict[str, tuple[list[str], float]] = {
    # Stimulator off, seed 3: a quiet nerve.
    "live-quiet": (["--seed", "3", "--stim-rate", "0"], 6.0),
    # Seed 10: an A-train on the orbicularis oculi at 15.6 s, for 3.6 s.
    "a-train-alarm": (["--seed", "10", "--speed", "4"], 4.9),
    # Stimulating at 1 Hz: the LSR on the mentalis, orbicularis oris and frontalis.
    "lsr-present": (["--seed", "2", "--speed", "2"], 6.0),
    # Decompression at 12 s: the LSR disappears.
    "lsr-gone": (["--seed", "2", "--speed", "4", "--lsr-gone-at", "12"], 5.0),
    # Seed 0: electrocautery at 3.7 s.
    "cautery": (["--seed", "0", "--stim-rate", "0"], 4.6),
    # A recording reviewed: the review bar and the timeline.
    "review": (["--replay", "recordings/demo_mvd.edf", "--speed", "2"], 13.0),
}


def shoot(name: str, args: list[str], after: float, out: Path | None = None) -> Path:
    out = out or IMG / f"guide-{name}.png"
    cmd = [PY, "main.py", *args, "--screenshot", str(out), "--after", f"{after:g}"]
    size = next((a for a in args if re.fullmatch(r"\d+x\d+", a)), None)
    extra = [] if size else ["--size", SIZE]
    subprocess.run([*cmd, *extra, "--log", os.devnull], cwd=ROOT, check=True)
    return out


#: States reached by keys (F, R then "Stop recording"), made in-process on a simulated case
#: fed by the script, like the tests' windows.
KEYED_STATES = ("frozen", "recording-stopped")


def keyed_states(wanted: set[str]) -> list[Path]:
    """The frozen screen and a recording stopped during monitoring, at each size and
    channel count of the matrix."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtWidgets import QApplication

    from drivers.simulator import SimulatorSource
    from monitor.casemodel import CaseModel
    from monitor.montage import default_labels
    from monitor.session import Session
    from simulation.emgsynth import SimConfig
    from ui.mainwindow import MainWindow

    app = QApplication.instance() or QApplication([])
    out = []
    for name in (s for s in KEYED_STATES if s in wanted):
        for size in MATRIX_SIZES:
            for n in MATRIX_CHANNELS:
                config = SimConfig(rate=10_000, labels=default_labels(n), seed=10)
                session = Session(SimulatorSource(config, realtime=False, duration_s=60))
                session.open()
                folder = tempfile.mkdtemp(prefix="fnm-shot-")
                win = MainWindow(CaseModel.on_session(session, record_folder=folder))
                win.timer.stop()  # the script draws the frames
                w, h = (int(v) for v in size.split("x"))
                win.resize(w, h)
                win.show()
                if name == "recording-stopped":
                    win.record_key()
                for _frame in range(170):  # 17 s of signal, a frame every 0.1 s
                    for _ in range(10):
                        session.process(session.source.read())
                    win.refresh()
                    app.processEvents()
                if name == "frozen":
                    win.toggle_freeze()
                else:
                    win.record_key()  # asks; the answer: stop
                    app.processEvents()
                    win.stop_question.stop_button.click()
                for _ in range(3):
                    win.refresh()
                    app.processEvents()
                path = SCREENS / f"{name}-{size}-{n}ch.png"
                win.grab().save(str(path))
                out.append(path)
                print(path)
                win.close()
                session.stop()
    return out


def matrix(wanted: set[str]) -> list[Path]:
    """Every state at each operating-room size, with 4 and with 16 channels."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (cmd, after) in STATES.items():
        if name not in wanted:
            continue
        replay = "--replay" in cmd
        for size in MATRIX_SIZES:
            for n in (None,) if replay else MATRIX_CHANNELS:
                label = "recorded" if n is None else f"{n}ch"
                channels = [] if n is None else ["--channels", str(n)]
                path = SCREENS / f"{name}-{size}-{label}.png"
                out.append(shoot(name, [*cmd, *channels, "--size", size], after, path))
                print(path)
    return out


def no_signal(size: str | None = None, channels: int | None = None) -> Path:
    """The simulated amplifier on a pty, unplugged 3 s after it starts streaming (at a
    matrix size and channel count, or the guide's)."""
    more = [] if channels is None else ["--channels", str(channels)]
    device = subprocess.Popen(
        [PY, "main.py", "simulate-device", "--unplug-at", "3", "--unplug-for", "60", *more],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        path = ""
        deadline = time.monotonic() + 10
        while not path and time.monotonic() < deadline:
            line = device.stdout.readline()
            if m := re.search(r"Simulated amplifier on (\S+)", line):
                path = m[1]
        if not path:
            raise RuntimeError("the simulated amplifier did not start")
        if size is None:
            return shoot("no-signal", ["--port", path], 6.0)
        out = SCREENS / f"no-signal-{size}-{channels}ch.png"
        return shoot("no-signal", ["--port", path, "--size", size], 6.0, out)
    finally:
        device.terminate()
        device.wait(5)


def training(size: str | None = None) -> Path:
    """A training case with the instructor's console beside the monitor, both windows as
    placed on the offscreen screen (1920x1080): the monitor at its default size (narrowed
    for the console to fit), or at ``size`` (an operating-room screen's, the console
    beside it)."""
    out = SCREENS / f"training-{size or '1920x1080'}-4ch.png"
    cmd = [PY, "main.py", "scenario", "scenarios/nerve_irritation.toml", "--instructor"]
    cmd += ["--screenshot", str(out), "--after", "20"]
    if size:
        cmd += ["--size", size]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    return out


def dialogs() -> list[Path]:
    """The case setup and the electrode check (with one bad needle), grabbed in-process."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["FACIAL_NERVE_MONITOR_CONFIG"] = str(ROOT / ".screenshot-config")
    from PySide6.QtWidgets import QApplication

    from drivers.simulator import SimulatorSource
    from monitor.settingsstore import SettingsStore
    from simulation.electrodes import BadElectrode
    from simulation.emgsynth import SimConfig
    from ui.casesetupdialog import CaseSetupDialog
    from ui.electrodecheck import ElectrodeCheckDialog

    app = QApplication.instance() or QApplication([])
    setup = CaseSetupDialog(SettingsStore(), case_id="MVD-0417", user="anna")
    index = setup.side_combo.findData("left")
    setup.side_combo.setCurrentIndex(index)
    setup.surgeon_edit.setText("Dr Meier")
    setup.show()
    app.processEvents()
    out = [IMG / "guide-case-setup.png"]
    setup.grab().save(str(out[0]))

    bad = BadElectrode(channel=1, which="reference", kohm=12.4)
    source = SimulatorSource(SimConfig(seed=4, bad_electrodes=(bad,)), realtime=False)
    source.open()
    for _ in range(30):  # a second of signal: the first measurement
        source.read()
    check = ElectrodeCheckDialog(source, source.info.labels)
    check.show()
    deadline = time.monotonic() + 5
    while check.report is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)
    out.append(IMG / "guide-electrode-check.png")
    check.grab().save(str(out[1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="names of the shots to make (default all)")
    ap.add_argument(
        "--matrix",
        action="store_true",
        help="every state at 1366x768 and 1920x1080 with 4 and 16 channels (docs/img/screens)",
    )
    args = ap.parse_args()
    wanted = set(args.only or [*STATES, "no-signal", "dialogs"])
    if args.matrix:
        matrix(wanted)
        keyed_states(set(args.only or KEYED_STATES))
        if "no-signal" in wanted:
            for size in MATRIX_SIZES:
                for n in MATRIX_CHANNELS:
                    print(no_signal(size, n))
        if "training" in wanted or not args.only:
            print(training())
            print(training("1366x768"))
        return
    for name, (cmd, after) in STATES.items():
        if name in wanted:
            print(shoot(name, cmd, after))
    if "no-signal" in wanted:
        print(no_signal())
    if "dialogs" in wanted:
        for path in dialogs():
            print(path)


if __name__ == "__main__":
    main()
