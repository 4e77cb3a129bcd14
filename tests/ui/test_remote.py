"""The supervision screen: rooms found over Lab Streaming Layer (kept on this machine),
their alarms, train time and LSR at a glance, read-only."""

from __future__ import annotations

import time

import pytest

from drivers.lslconfig import restrict_to_hosts

restrict_to_hosts()  # before liblsl is first used: nothing leaves this machine
pylsl = pytest.importorskip("pylsl")

from drivers.lsl_rooms import Room, RoomWatcher, status_line  # noqa: E402
from drivers.lslmarkers import MARKER_TYPE, encode, marker_stream_name  # noqa: E402


class FakeRoom:
    """A monitor's marker outlet, as ``--lsl-out`` makes it."""

    def __init__(self, room: str) -> None:
        self.room = room
        info = pylsl.StreamInfo(
            marker_stream_name(room),
            MARKER_TYPE,
            1,
            pylsl.IRREGULAR_RATE,
            "string",
            f"test-{room}-{time.monotonic()}",
        )
        self.outlet = pylsl.StreamOutlet(info)

    def say(self, kind: str, **fields) -> None:
        self.outlet.push_sample([encode(kind, self.room, **fields)])

    def status(self, train=(0.0, 0.4), alarm="", priority="", lsr="LSR present") -> None:
        self.say(
            "status",
            t_s=12.0,
            state="running",
            labels=["L OOc", "L OOr"],
            train_time_s=list(train),
            thresholds_s=[0.5, 10.0],
            alarm=alarm,
            alarm_priority=priority,
            lsr=lsr,
            recording=True,
        )


def wait_for(predicate, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture
def rooms():
    made = [FakeRoom(f"OR {n} {time.monotonic_ns()}") for n in (3, 5)]
    watcher = RoomWatcher(tuple(r.room for r in made))
    watcher.start()
    yield made, watcher
    watcher.stop()


def test_the_watcher_keeps_each_rooms_alarm_and_train_time(rooms):
    (a, b), watcher = rooms

    def both_seen() -> bool:
        a.status(train=(0.0, 0.7))
        b.status()
        return len([r for r in watcher.rooms() if r.status]) == 2

    wait_for(both_seen)
    a.say(
        "alarm",
        key="a_train:1",
        text="A-train on L OOr at 93 Hz",
        priority="medium",
        state="active",
        technical=False,
    )
    wait_for(lambda: watcher.rooms()[0].highest_alarm()[0] == "medium")
    first, second = watcher.rooms()
    assert first.name == a.room and first.highest_alarm() == ("medium", "A-train on L OOr at 93 Hz")
    assert first.train_time() == [("L OOc", 0.0), ("L OOr", 0.7)]
    assert second.highest_alarm() == ("", "")
    a.say(
        "alarm",
        key="a_train:1",
        text="A-train on L OOr at 93 Hz",
        priority="medium",
        state="resolved",
        technical=False,
    )
    wait_for(lambda: watcher.rooms()[0].highest_alarm() == ("", ""))
    assert "no alarm" in status_line(watcher.rooms()[0])


def test_a_room_gone_silent_says_no_news():
    room = Room("OR 9", last_seen=time.monotonic() - 12)
    assert room.stale() and "NO NEWS" in status_line(room)


def test_markers_of_other_programs_are_ignored():
    watcher = RoomWatcher()
    watcher._take(["not json", '{"kind": "unknown"}', "[1, 2]"], time.monotonic())
    assert watcher.rooms() == []


def test_the_screen_shows_two_rooms_read_only(rooms, qtbot):
    pytest.importorskip("pytestqt")
    from ui.remote import READ_ONLY, RemoteWindow

    (a, b), watcher = rooms
    window = RemoteWindow(watcher)
    qtbot.addWidget(window)
    window.show()

    def both_shown() -> bool:
        a.status(alarm="Train time on L OOr 10.2 s", priority="high", train=(0.0, 10.2))
        b.status()
        return len(window.strips) == 2

    qtbot.waitUntil(both_shown, timeout=15_000)
    qtbot.waitUntil(lambda: "Train time" in window.strips[a.room].alarm.text(), timeout=5000)
    strip = window.strips[a.room]
    assert strip.alarm.text().startswith("!!!")  # high priority, in words
    assert "10.2 s" in strip.traintime.text() and "LSR present" in strip.lsr.text()
    assert window.strips[b.room].alarm.text() == "No alarms"
    texts = [label.text() for label in window.findChildren(type(strip.alarm))]
    assert READ_ONLY in texts
    buttons = {b.text() for b in window.findChildren(type(strip.traces))}
    assert buttons == {"Traces"}  # nothing acknowledges, nothing stimulates


def test_remote_headless_prints_a_line_per_room(rooms, capsys):
    import main

    (a, b), _ = rooms
    import threading

    stop = threading.Event()

    def keep_talking() -> None:
        while not stop.is_set():
            a.status()
            b.status()
            time.sleep(0.2)

    talker = threading.Thread(target=keep_talking, daemon=True)
    talker.start()
    try:
        code = main.main(
            ["remote", "--headless", "--duration", "3", "--room", a.room, "--room", b.room]
        )
    finally:
        stop.set()
        talker.join()
    out = capsys.readouterr().out
    assert code == 0
    assert f"{a.room}: t=12s no alarm" in out and f"{b.room}: t=12s" in out


def test_a_cleared_alarm_stays_cleared_until_the_next_status():
    """The status sent just before a clear still names the alarm: it must not bring it
    back (it did, for up to a second)."""
    room = Room("OR 1")
    now = time.monotonic()
    alarm = {"kind": "alarm", "key": "a", "text": "A-train", "priority": "medium"}
    room.take({**alarm, "state": "active"}, now)
    room.take({"kind": "status", "alarm": "A-train", "alarm_priority": "medium"}, now)
    room.take({**alarm, "state": "resolved"}, now)
    assert room.highest_alarm() == ("", "")
    room.take({"kind": "status", "alarm": "", "alarm_priority": ""}, now)
    assert room.highest_alarm() == ("", "")
    joined = Room("OR 2")  # a supervisor who joined after the alarm was raised
    joined.take({"kind": "status", "alarm": "A-train", "alarm_priority": "medium"}, now)
    assert joined.highest_alarm() == ("medium", "A-train")


def test_traces_open_a_published_rooms_emg(qtbot):
    """A monitor publishing its room (--lsl-out); on the supervision screen "Traces"
    opens that room's EMG, with its channels, read from the published stream."""
    pytest.importorskip("pytestqt")
    from drivers.lsl_out import LslPublisher
    from drivers.sources import Simulated
    from monitor.casemodel import open_case
    from monitor.montage import default_labels
    from simulation.emgsynth import SimConfig
    from ui.remote import RemoteWindow

    name = f"OR traces {time.monotonic_ns()}"
    case = open_case(Simulated(SimConfig(seed=2, labels=default_labels(2, "left"))))
    publisher = LslPublisher(case, room=name)
    watcher = RoomWatcher((name,))
    watcher.start()
    window = RemoteWindow(watcher)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: name in window.strips, timeout=15_000)
        window.strips[name].traces.click()
        traces = window.trace_windows[name]
        assert traces.case.session.source.info.labels == default_labels(2, "left")
        qtbot.waitUntil(lambda: traces.case.session.status().samples > 5000, timeout=15_000)
        assert "read-only" in traces.windowTitle()
    finally:
        window.close()
        watcher.stop()
        publisher.close()
        case.close()
