"""The session: counting, gaps, and the explicit rule for each kind of failure."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from monitor.block import Block
from monitor.problems import Severity
from monitor.session import Session, State
from monitor.source import EndOfStream, SignalLost, Source, SourceError, SourceInfo

RATE = 1000.0
LABELS = ("A", "B")


class ScriptedSource(Source):
    """Plays a list of steps: a block start index, or an exception to raise."""

    def __init__(self, steps, reconnect_failures: int = 0) -> None:
        self.steps = list(steps)
        self.reconnects = 0
        self.reconnect_failures = reconnect_failures
        self.closed = False

    @property
    def info(self) -> SourceInfo:
        return SourceInfo("Scripted", RATE, LABELS, "test")

    def open(self) -> None:
        pass

    def read(self):
        if not self.steps:
            raise EndOfStream
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        start, n = step
        data = np.tile(np.arange(start, start + n, dtype=np.float32)[:, None], (1, 2))
        return Block(start, data, RATE, LABELS)

    def reconnect(self) -> None:
        self.reconnects += 1
        if self.reconnects <= self.reconnect_failures:
            raise SignalLost("still unplugged.")

    def close(self) -> None:
        self.closed = True


def run(source: Source, **kw) -> Session:
    session = Session(source, buffer_seconds=5, **kw)
    session.start()
    assert session.join(timeout=10), "acquisition thread did not end"
    return session


def test_counts_samples_and_ends_at_end_of_stream():
    s = run(ScriptedSource([(0, 100), (100, 100), (200, 50)]))
    st = s.status()
    assert st.samples == 250 and st.end_index == 250 and st.blocks == 3
    assert st.gaps == 0
    assert s.state is State.FINISHED
    assert s.problems[-1].severity is Severity.INFO
    assert "end of recording" in s.problems[-1].text
    np.testing.assert_array_equal(s.raw.read(200, 250)[:, 0], np.arange(200, 250))


def test_a_jump_in_sample_index_is_a_counted_gap_with_a_message():
    s = run(ScriptedSource([(0, 100), (150, 100)]))
    st = s.status()
    assert st.gaps == 1 and st.gap_samples == 50
    warn = [p for p in s.problems if p.severity is Severity.WARNING]
    assert warn and "50 samples" in warn[0].text and warn[0].sample_index == 100
    assert np.isnan(s.raw.read(100, 150)).all()


def test_signal_lost_means_reconnect_with_backoff_and_carry_on():
    s = run(
        ScriptedSource([(0, 100), SignalLost("The cable is unplugged."), (300, 100)], 2),
    )
    assert s.source.reconnects == 3
    texts = [p.text for p in s.problems]
    assert any("No signal" in t and "unplugged" in t for t in texts)
    assert any("is back" in t for t in texts)
    assert s.status().gap_samples == 200
    assert s.state is State.FINISHED


def test_a_source_error_stops_monitoring_with_its_sentence():
    s = run(ScriptedSource([(0, 100), SourceError("The amplifier reports a hardware fault.")]))
    assert s.state is State.FAILED
    last = s.problems[-1]
    assert last.severity is Severity.CRITICAL
    assert "hardware fault" in last.text and "stopped" in last.text


def test_an_unexpected_exception_is_never_swallowed():
    s = run(ScriptedSource([(0, 100), ZeroDivisionError("bug")]))
    assert s.state is State.FAILED
    last = s.problems[-1]
    assert last.severity is Severity.CRITICAL
    assert "Internal error" in last.text
    assert "ZeroDivisionError" in last.detail


def test_a_failing_subscriber_is_switched_off_and_the_rest_go_on():
    got: list[int] = []

    def bad(block, filtered):
        raise RuntimeError("detector bug")

    session = Session(ScriptedSource([(i * 10, 10) for i in range(20)]), buffer_seconds=5)
    session.subscribe("Broken detector", bad)
    session.subscribe("Counter", lambda b, f: got.append(b.start))
    session.start()
    session.join(10)
    assert len(got) == 20
    warn = [p for p in session.problems if p.severity is Severity.WARNING]
    assert len(warn) == 1 and "Broken detector" in warn[0].text
    assert "RuntimeError" in warn[0].detail


def test_subscribers_get_the_filtered_samples_that_the_buffer_holds():
    seen = []
    session = Session(ScriptedSource([(0, 200), (200, 200)]), buffer_seconds=5)
    session.subscribe("tap", lambda b, f: seen.append(f.copy()))
    session.start()
    session.join(10)
    np.testing.assert_array_equal(np.vstack(seen), session.filtered.read(0, 400))


def test_problem_listener_hears_problems_on_the_acquisition_thread():
    heard = []
    session = Session(ScriptedSource([(0, 10), SourceError("Broken.")]), buffer_seconds=5)
    session.add_problem_listener(heard.append)
    session.start()
    session.join(10)
    assert heard and heard[-1].severity is Severity.CRITICAL


def test_stop_ends_a_live_source_promptly_and_closes_it():
    from drivers.simulator import SimulatorSource

    src = SimulatorSource()
    session = Session(src)
    session.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    session.stop()
    assert time.monotonic() - t0 < 1.0
    assert session.state is State.FINISHED
    assert session.status().samples > 1000


def test_filter_change_while_streaming():
    from drivers.simulator import SimulatorSource

    session = Session(SimulatorSource(realtime=True))
    session.start()
    time.sleep(0.2)
    session.set_filter(highpass_hz=50.0)
    before = session.status().samples
    time.sleep(0.3)
    after = session.status().samples
    session.stop()
    assert after > before
    assert session.filters.settings.highpass_hz == 50.0


def test_bad_filter_setting_raises_and_streaming_continues():
    from drivers.simulator import SimulatorSource
    from monitor.filters import FilterSettingsError

    session = Session(SimulatorSource())
    session.start()
    with pytest.raises(FilterSettingsError):
        session.set_filter(highpass_hz=9000.0)
    time.sleep(0.2)
    assert session.running
    session.stop()


class NanSource(ScriptedSource):
    """A DC offset with one invalid sample in the middle."""

    def read(self):
        if not self.steps:
            raise EndOfStream
        start, n = self.steps.pop(0)
        data = np.full((n, 2), 500.0, np.float32)
        if start <= 1500 < start + n:
            data[1500 - start, 0] = np.nan
        return Block(start, data, RATE, LABELS)


def test_an_invalid_sample_is_a_break_not_a_fake_spike():
    s = run(NanSource([(i, 500) for i in range(0, 4000, 500)]))
    filt = s.filtered.read(0, 4000)
    assert np.isnan(filt[1500, 0]) and np.isnan(filt[:, 0]).sum() == 1
    finite = filt[np.isfinite(filt)]
    assert np.abs(finite).max() < 1.0  # no step response from the hole
    warnings = [p for p in s.problems if p.severity is Severity.WARNING]
    assert len(warnings) == 1 and "Invalid samples" in warnings[0].text
    assert s.status().nonfinite_samples == 1


class FlappingSource(ScriptedSource):
    """Reconnects fine but delivers nothing for a while (a bad line, a rebooting board)."""

    def __init__(self) -> None:
        super().__init__([(0, 100)])
        self.reconnect_times: list[float] = []

    def read(self):
        if self.steps:
            return super().read()
        if len(self.reconnect_times) >= 4:
            raise EndOfStream
        raise SignalLost("no data.")

    def reconnect(self) -> None:
        self.reconnect_times.append(time.monotonic())


def test_signal_back_is_only_announced_when_data_flows_and_backoff_grows():
    s = run(FlappingSource())
    texts = [p.text for p in s.problems]
    assert sum("No signal" in t for t in texts) == 1
    assert not any("is back" in t for t in texts)
    gaps = np.diff(s.source.reconnect_times)
    assert all(b > a * 1.5 for a, b in itertools.pairwise(gaps))
