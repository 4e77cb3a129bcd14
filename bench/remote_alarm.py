"""Alarm change in an operating room → the supervision screen shows it.

A monitor publishes its room over Lab Streaming Layer on loopback (``--lsl-out``: the
live simulated case and :class:`drivers.lsl_out.LslPublisher`); the supervision screen
(:class:`ui.remote.RemoteWindow`, offscreen) watches it. The bench raises and clears an
alarm on the monitor N times and measures, each time, how long until the room's strip on
the screen says it (raised: the alarm's words; cleared: "No alarms"). Goal ≤ 500 ms.
Prints its figures last as one JSON line.

    .venv/bin/python bench/remote_alarm.py [--trials 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from drivers.lslconfig import restrict_to_hosts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    restrict_to_hosts()  # loopback only, before liblsl is first used
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from drivers.lsl_out import LslPublisher
    from drivers.lsl_rooms import RoomWatcher
    from drivers.sources import Simulated
    from monitor.casemodel import open_case
    from monitor.montage import default_labels
    from simulation.emgsynth import SimConfig
    from ui.remote import RemoteWindow

    app = QApplication.instance() or QApplication([])
    room = f"OR bench {os.getpid()}"
    case = open_case(Simulated(SimConfig(seed=1, labels=default_labels(4, "left"))))
    publisher = LslPublisher(case, room=room)
    watcher = RoomWatcher((room,))
    watcher.start()
    window = RemoteWindow(watcher)
    window.show()

    def pump_until(predicate, timeout: float = 10.0) -> float:
        start = time.perf_counter()
        while not predicate():
            app.processEvents()
            if time.perf_counter() - start > timeout:
                raise TimeoutError("the screen did not show it")
            time.sleep(0.002)
        return time.perf_counter() - start

    def shown() -> str:
        strip = window.strips.get(room)
        return strip.alarm.text() if strip is not None else ""

    raised, cleared = [], []
    try:
        pump_until(lambda: shown() == "No alarms", timeout=20.0)
        for n in range(args.trials):
            text = f"Bench alarm {n}"
            case.alarms.raise_condition("bench_alarm", text, case.now_index())
            raised.append(pump_until(lambda t=text: t in shown()))
            case.alarms.clear_condition("bench_alarm", case.now_index())
            cleared.append(pump_until(lambda: shown() == "No alarms"))
            time.sleep(0.3)
    finally:
        window.close()
        watcher.stop()
        publisher.close()
        case.close()
    ms = [1000 * t for t in raised + cleared]
    result = {
        "bench": "remote_alarm",
        "trials": args.trials,
        "raised_ms_median": round(1000 * statistics.median(raised), 1),
        "cleared_ms_median": round(1000 * statistics.median(cleared), 1),
        "ms_max": round(max(ms), 1),
        "goal_ms": 500,
    }
    print(
        f"alarm raised → on the supervision screen: median {result['raised_ms_median']} ms; "
        f"cleared: median {result['cleared_ms_median']} ms; max {result['ms_max']} ms "
        f"over {2 * args.trials} changes (goal ≤ 500 ms)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
