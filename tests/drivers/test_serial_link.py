"""The serial link end to end over a real pseudo-terminal, with the simulated device."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.protocol import AckResult, StimulatorSettings
from drivers.serial_link import SerialSource, describe_port_error
from drivers.simdevice import UV_PER_COUNT, SimulatedDevice
from monitor.electrodes import Verdict, judge
from monitor.problems import Severity
from monitor.session import Session, State
from monitor.source import SourceError
from simulation.electrodes import BadElectrode
from simulation.emgsynth import SimConfig

QUIET_STIM = {"stim_rate_hz": 4.0, "stim_start_s": 0.1}


class Tap:
    """Collects blocks and their arrival times (a session subscriber)."""

    def __init__(self) -> None:
        self.blocks = []
        self.arrivals: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, block, filtered) -> None:
        with self.lock:
            self.blocks.append(block)
            self.arrivals.append(time.time())

    def samples(self) -> dict[int, np.ndarray]:
        with self.lock:
            return {b.start + k: b.data[k] for b in self.blocks for k in range(b.n_samples)}


@pytest.fixture
def link(tmp_path):
    """A started device and a session reading it; both stopped afterwards."""
    made = []

    def make(config: SimConfig | None = None, **source_kw):
        device = SimulatedDevice(
            config or SimConfig(seed=1, **QUIET_STIM), link_path=tmp_path / "amp", record=True
        )
        device.start()
        source = SerialSource(device.path, **source_kw)
        session = Session(source)
        tap = Tap()
        session.subscribe("tap", tap)
        session.start()
        made.append((device, session))
        return device, session, tap

    yield make
    for device, session in made:
        session.stop()
        device.stop()


def wait_for(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def sent_samples(device: SimulatedDevice) -> dict[int, np.ndarray]:
    uv = UV_PER_COUNT[device.bits]
    return {
        first + k: (counts[k] * np.float32(uv)).astype(np.float32)
        for first, counts in list(device.sent)
        for k in range(len(counts))
    }


def assert_every_sample_is_what_the_device_sent(device, tap) -> int:
    got = tap.samples()  # first: whatever arrived was recorded by the device before
    sent = sent_samples(device)
    assert got, "nothing arrived"
    wrong = [i for i, v in got.items() if i not in sent or not np.array_equal(v, sent[i])]
    assert wrong == [], f"{len(wrong)} samples differ from what the device sent"
    return len(got)


def test_streams_the_devices_samples_exactly_with_its_sample_index(link):
    device, session, tap = link()
    assert wait_for(lambda: session.status().samples > 8000)
    n = assert_every_sample_is_what_the_device_sent(device, tap)
    assert n > 8000
    st = session.status()
    assert st.gaps == 0 and st.state is State.RUNNING
    assert session.source.info.rate == 10_000 and session.source.info.n_channels == 4
    assert "24 bit" in session.source.info.description


def test_dropped_frames_become_a_gap_of_exactly_the_missing_samples(link):
    device, session, tap = link()
    assert wait_for(lambda: session.status().samples > 2000)
    device.drop_frames(3)
    assert wait_for(lambda: session.status().gaps == 1)
    gaps = [g for b in tap.blocks for g in b.gaps]
    assert len(gaps) == 1
    assert gaps[0].n_missing == 3 * device._frame_n
    assert session.status().gap_samples == 3 * device._frame_n
    hole = session.raw.read(gaps[0].index, gaps[0].index + gaps[0].n_missing)
    assert np.isnan(hole).all()
    assert any("Signal gap" in p.text and "60 samples" in p.text for p in session.problems)


def test_corrupt_frames_and_garbage_are_skipped_and_never_shown(link):
    device, session, tap = link()
    assert wait_for(lambda: session.status().samples > 2000)
    device.corrupt_frames(2)
    device.send_garbage(3000)
    assert wait_for(lambda: session.status().gaps >= 1)
    time.sleep(0.3)
    assert session.source.parser.crc_errors + session.source.parser.bytes_skipped > 0
    assert session.status().gap_samples == 2 * device._frame_n
    assert_every_sample_is_what_the_device_sent(device, tap)
    assert session.state is State.RUNNING


def test_silence_is_reported_within_half_a_second_and_the_gap_marked(link):
    device, session, tap = link()
    assert wait_for(lambda: session.status().samples > 2000)
    device.stall(1.5)
    assert wait_for(lambda: any("No signal" in p.text for p in session.problems), 3)
    lost = next(p for p in session.problems if "No signal" in p.text)
    with tap.lock:
        last_block = max(t for t in tap.arrivals if t < lost.wall_time)
    assert lost.wall_time - last_block < 0.5
    assert lost.severity is Severity.WARNING
    assert wait_for(lambda: any("is back" in p.text for p in session.problems), 6)
    assert wait_for(lambda: session.status().gaps >= 1)
    assert session.status().gap_samples >= 1.5 * 10_000 * 0.9
    assert_every_sample_is_what_the_device_sent(device, tap)


def test_unplug_and_replug_reconnects_and_marks_the_gap(link):
    device, session, tap = link()
    assert wait_for(lambda: session.status().samples > 2000)
    before = session.status().samples
    device.unplug(1.0)
    assert wait_for(lambda: session.state is State.RECONNECTING, 3)
    assert any("disconnected" in p.text for p in session.problems)
    assert wait_for(lambda: session.state is State.RUNNING, 8)
    assert wait_for(lambda: session.status().samples > before + 3000, 5)
    st = session.status()
    assert st.gaps >= 1 and st.gap_samples > 10_000 * 0.9
    gaps = [g for b in tap.blocks for g in b.gaps]
    assert sum(g.n_missing for g in gaps) == st.gap_samples
    assert_every_sample_is_what_the_device_sent(device, tap)


def test_stimulator_pulses_arrive_as_markers_at_their_sample_index(link):
    device, _, tap = link(SimConfig(seed=3, stim_rate_hz=5.0, stim_start_s=0.05))
    assert wait_for(lambda: sum(len(b.stims) for b in tap.blocks) >= 3)
    got = [s for b in tap.blocks for s in b.stims]
    truth = {t.marker.index for t in device.synth.stim_truth}
    assert {s.index for s in got} <= truth
    assert all(s.current_ma == pytest.approx(15.0) and s.site == "zygomatic" for s in got)
    for b in tap.blocks:
        for s in b.stims:
            assert s.index < b.stop


def test_stimulator_settings_are_acknowledged_or_refused_with_the_reason(link):
    device, session, _ = link()
    assert wait_for(lambda: session.status().samples > 500)
    ack = session.source.send_stimulator(StimulatorSettings(8.0, 0.2, 1.0, "zygomatic", True))
    assert ack.result == 0
    assert device.synth.cfg.stim_current_ma == pytest.approx(8.0)
    with pytest.raises(SourceError, match="refused"):
        session.source.send_stimulator(StimulatorSettings(500.0, 0.2, 1.0, "zygomatic", True))


def test_acquisition_settings_and_electrode_status(link):
    device, session, _ = link(rate=20_000, channels=8)
    assert wait_for(lambda: session.status().samples > 4000)
    assert session.source.info.rate == 20_000 and session.source.info.n_channels == 8
    device.set_lead_off(2)
    device.set_impedance(1, 7.5)
    session.source.request_impedance()
    assert wait_for(
        lambda: session.source.status is not None and session.source.status.channels[2].lead_off
    )
    assert session.source.status.channels[1].impedance_kohm == pytest.approx(7.5)


def test_a_bad_needle_set_on_the_device_is_reported_per_electrode(link):
    device, session, _ = link()
    source = session.source
    assert wait_for(lambda: source.electrodes() is not None)
    assert judge(source.electrodes(), source.info.labels).all_good
    device.set_impedance(0, 12.4)  # the reference needle of L Orb. oculi
    asked = time.monotonic()
    assert source.request_electrode_check() is True
    assert time.monotonic() - asked < 0.05  # the screen's thread never waits for the device

    def measured_since() -> bool:
        # A status already on its way when the needle changed may arrive after the
        # request: wait for the device's measurement with the change in it.
        r = source.electrodes()
        first = judge(r, source.info.labels).channels[0]
        return r.measured_at >= asked and first.reference_kohm == pytest.approx(12.4)

    assert wait_for(measured_since)
    report = source.electrodes()
    assert report.per_electrode and report.note == ""
    check = judge(report, source.info.labels)
    assert [c.verdict for c in check.channels] == [Verdict.HIGH] + [Verdict.OK] * 3
    assert check.channels[0].reference_kohm == pytest.approx(12.4)
    assert check.channels[0].active_kohm < 5
    assert check.problems == (
        "L Orb. oculi: reference needle 12.4 kΩ — over 5 kΩ; check the needle.",
    )
    # The channel's own field carries the higher needle, for hosts of revision 0.
    assert source.status.channels[0].impedance_kohm == pytest.approx(12.4)


def test_a_refused_impedance_check_is_said_in_words(link):
    device, session, _ = link()
    source = session.source
    assert wait_for(lambda: source.electrodes() is not None)
    # This device cannot measure while streaming: it answers BUSY (docs/protocol.md §6).
    device._send_status = lambda _=b"": (AckResult.BUSY, "stop streaming first")
    assert source.request_electrode_check() is True
    assert wait_for(lambda: source.electrodes().note != "")
    assert source.electrodes().note == "The amplifier cannot measure impedance now (it is busy)."
    assert "cannot measure impedance now" in judge(source.electrodes(), source.info.labels).note


def test_a_device_without_the_electrode_block_gives_one_value_per_channel(tmp_path):
    bad = (BadElectrode(1, "active", 7.5),)
    config = SimConfig(seed=1, bad_electrodes=bad, **QUIET_STIM)
    device = SimulatedDevice(config, link_path=tmp_path / "amp", electrode_block=False)
    device.start()
    source = SerialSource(device.path)
    try:
        source.open()
        assert wait_for(lambda: source.electrodes() is not None)
        report = source.electrodes()
        assert not report.per_electrode
        check = judge(report, source.info.labels)
        assert [c.verdict for c in check.channels] == [
            Verdict.OK,
            Verdict.HIGH,
            Verdict.OK,
            Verdict.OK,
        ]
        assert [c.imbalance_kohm for c in check.channels] == [None] * 4
        assert "pair imbalance cannot be judged" in check.note
    finally:
        source.close()
        device.stop()


def test_a_missing_port_is_one_clear_sentence(tmp_path):
    src = SerialSource(str(tmp_path / "ttyACM9"))
    with pytest.raises(SourceError, match=r"does not exist.*plugged in"):
        src.open()


def test_a_busy_port_is_one_clear_sentence(tmp_path):
    device = SimulatedDevice(SimConfig(seed=1), link_path=tmp_path / "amp")
    device.start()
    first = SerialSource(device.path)
    try:
        first.open()
        with pytest.raises(SourceError, match="in use by another program"):
            SerialSource(device.path).open()
    finally:
        first.close()
        device.stop()


def test_a_forbidden_port_names_the_dialout_group():
    text = describe_port_error("/dev/ttyUSB0", OSError(errno.EACCES, "Permission denied"))
    assert "dialout" in text and "/dev/ttyUSB0" in text


def test_a_port_that_is_not_an_amplifier_is_refused_clearly(tmp_path):
    master, slave = os.openpty()  # nothing answers on the other side
    try:
        with pytest.raises(SourceError, match=r"did not (answer|describe itself)"):
            SerialSource(os.ttyname(slave)).open()
    finally:
        os.close(master)
        os.close(slave)


def test_command_line_port_errors_have_no_traceback(tmp_path):
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "main.py", "--port", str(tmp_path / "nope"), "--headless"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    assert out.returncode == 2
    assert "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_monitor_runs_headless_on_the_simulated_device(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    dev = subprocess.Popen(
        [
            sys.executable,
            "main.py",
            "simulate-device",
            "--link",
            str(tmp_path / "amp"),
            "--duration",
            "6",
            "--drop-every",
            "1",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "Simulated amplifier on" in dev.stdout.readline()
        out = subprocess.run(
            [
                sys.executable,
                "main.py",
                "--port",
                str(tmp_path / "amp"),
                "--headless",
                "--duration",
                "3",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=env,
        )
    finally:
        dev.wait(15)
    assert out.returncode == 0, out.stderr
    assert "Signal gap: 20 samples" in out.stdout
    assert "running" in out.stdout


def test_commands_from_two_threads_each_get_their_own_answer(link):
    """The stimulator (a worker thread) and the electrode check (another) talk to the
    amplifier at once: neither may lose its acknowledgement to the other."""
    import threading

    _, session, _ = link()
    assert wait_for(lambda: session.status().samples > 500)
    source = session.source
    failures: list[str] = []

    def stimulate() -> None:
        for k in range(25):
            try:
                source.send_stimulator(StimulatorSettings(5.0 + k % 5, 0.2, 1.0, "zygomatic", True))
            except Exception as exc:
                failures.append(f"stimulator: {exc}")

    def check() -> None:
        for _ in range(25):
            try:
                source.request_impedance()
            except Exception as exc:
                failures.append(f"impedance: {exc}")

    threads = [threading.Thread(target=f) for f in (stimulate, check, stimulate)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    assert source._acks == {} and source._waiting == set()
