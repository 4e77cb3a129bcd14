"""The recorder: never blocks acquisition, survives kill -9, stops cleanly on a full disk."""

from __future__ import annotations

import dataclasses
import errno
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.edfreader import EdfFile
from drivers.simulator import SimulatorSource
from monitor import edfwriter
from monitor.block import Block, NoteMarker, StimMarker
from monitor.edfrecover import recover
from monitor.recorder import Recorder, RecorderError, default_recording_path, stim_text
from monitor.session import Session
from simulation.emgsynth import EmgSynth, SimConfig

ROOT = Path(__file__).resolve().parents[2]
FULL = (
    "Recording stopped: the disk is full. Monitoring continues; free space or choose another "
    "folder."
)


def _read(path):
    """The file, its samples and its annotations, their onsets in seconds after the first
    sample (the file counts them from the header's whole second: the recording starts at
    a fraction of a second, the first record's onset)."""
    f = EdfFile(path)
    rows = f.read_records(0, f.n_records)
    data = np.stack([f.physical(rows, s) for s in f.signals if not s.is_annotation], 1)
    notes, onsets = f.read_annotations()
    f.close()
    first = onsets[0]
    assert 0 <= first < 1
    return f, data, [dataclasses.replace(a, onset_s=a.onset_s - first) for a in notes]


def _wait(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _blocks(n_blocks, n=20, channels=2, start=0, rate=2000.0):
    rng = np.random.default_rng(5)
    for k in range(n_blocks):
        data = rng.normal(0, 50, (n, channels)).astype(np.float32)
        yield Block(start + k * n, data, rate, tuple(f"C{i}" for i in range(channels)))


def test_session_recording_has_the_samples_stimuli_notes_and_gaps(tmp_path):
    source = SimulatorSource(
        SimConfig(seed=11, stim_rate_hz=5, stim_start_s=0.1), realtime=False, duration_s=1.5
    )
    session = Session(source)
    session.open()
    info = source.info
    rec = Recorder(tmp_path / "s.edf", info.rate, info.labels, queue_seconds=10)
    rec.start()
    session.subscribe("recorder", rec, essential=True)
    session.start()
    assert session.join(20)
    rec.annotate(5000, "alarm a_train:1 active", 0.25)
    rec.close()
    assert not rec.failed and rec.dropped_blocks == 0

    truth = EmgSynth(SimConfig(seed=11, stim_rate_hz=5, stim_start_s=0.1))
    want, stims = truth.render(0, 15000)
    _, data, notes = _read(tmp_path / "s.edf")
    assert np.abs(data[:15000] - want).max() <= rec.writer.gain / 2 + 1e-3
    texts = [(round(a.onset_s * info.rate), a.text) for a in notes]
    assert [(s.index, stim_text(s.current_ma, s.width_ms, s.site)) for s in stims] == [
        t for t in texts if t[1].startswith("stim")
    ]
    assert texts.count((stims[0].index, "stim 15 mA 0.2 ms zygomatic")) == 1
    assert (5000, "alarm a_train:1 active") in texts
    assert any(a.duration_s == 0.25 for a in notes)


def test_stream_gaps_are_zero_filled_and_annotated(tmp_path):
    rec = Recorder(tmp_path / "g.edf", 2000.0, ("C0", "C1"), queue_seconds=10)
    rec.start()
    blocks = list(_blocks(60))
    for b in blocks[:20] + blocks[30:]:  # 200 samples missing at index 400
        rec(b, None)
    rec(
        Block(
            1200,
            blocks[0].data,
            2000.0,
            ("C0", "C1"),
            (StimMarker(1205, 8.0),),
            notes=(NoteMarker(1210, "operator: dura open"),),
        )
    )
    rec.close()
    _, data, notes = _read(tmp_path / "g.edf")
    assert np.all(data[400:600] == 0.0)
    assert np.abs(data[600:1200] - np.concatenate([b.data for b in blocks[30:]])).max() <= 0.1
    got = {(round(a.onset_s * 2000), a.text) for a in notes}
    assert {(400, "gap 200 samples"), (1205, "stim 8 mA"), (1210, "operator: dura open")} <= got


def test_a_stream_jump_of_a_million_seconds_does_not_fill_the_disk(tmp_path):
    """Replaying an EDF+D file whose records jump by 10⁶ s while recording once wrote
    5·10⁹ zero samples. The gap now costs at most one record of file."""
    rec = Recorder(tmp_path / "j.edf", 2000.0, ("C0", "C1"), queue_seconds=10)
    rec.start()
    jump = int(1e6 * 2000)
    for b in _blocks(30):
        rec(b, None)
    for b in _blocks(30, start=600 + jump):
        rec(b, None)
    t0 = time.monotonic()
    rec.close()
    assert time.monotonic() - t0 < 5 and rec.error is None
    path = tmp_path / "j.edf"
    assert path.stat().st_size < 50_000
    f, _, notes = _read(path)
    assert f.discontinuous
    assert (0.3, f"gap {jump} samples") in {(round(a.onset_s, 6), a.text) for a in notes}


def test_killed_recording_opens_with_everything_up_to_the_kill(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    edfio = pytest.importorskip("edfio")
    path = tmp_path / "killed.edf"
    script = textwrap.dedent(f"""
        import time
        from simulation.emgsynth import SimConfig
        from drivers.simulator import SimulatorSource
        from monitor.recorder import Recorder
        src = SimulatorSource(SimConfig(seed=42, stim_rate_hz=20, stim_start_s=0.05),
                              realtime=False)
        rec = Recorder({str(path)!r}, src.info.rate, src.info.labels, fsync_interval_s=0.2)
        rec.start()
        while True:
            block = src.read()
            rec(block, None)
            if block.start % 1000 == 0:
                rec.annotate(block.start + 3, f"note {{block.start}}")
            time.sleep(0.002)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:

        def records():
            try:
                return int(path.read_bytes()[236:244])
            except (OSError, ValueError):
                return 0

        _wait(lambda: records() >= 12 or child.poll() is not None, timeout=30)
        assert child.poll() is None, "the recording child died by itself"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(5)

    f, data, notes = _read(path)  # directly, without recover
    n = len(data)
    assert f.n_records >= 12
    want, stims = EmgSynth(SimConfig(seed=42, stim_rate_hz=20, stim_start_s=0.05)).render(0, n)
    assert len(stims) >= 20
    assert np.abs(data - want).max() <= 0.1 + 1e-3  # sample by sample, 0.2 µV steps
    got = {(round(a.onset_s * 10000), a.text) for a in notes}
    assert {(s.index, "stim 15 mA 0.2 ms zygomatic") for s in stims} <= got
    assert {(k + 3, f"note {k}") for k in range(0, n - 3, 1000)} <= got

    print(recover(path))
    r = pyedflib.EdfReader(str(path))
    assert r.datarecords_in_file == f.n_records
    assert np.abs(r.readSignal(0) - want[:, 0]).max() <= 0.1 + 1e-3
    assert len(r.readAnnotations()[0]) == len(notes)
    r.close()
    assert len(edfio.read_edf(path).annotations) == len(notes)


def test_full_disk_stops_recording_keeps_the_file_and_tells_the_user(tmp_path, monkeypatch):
    errors = []
    rec = Recorder(tmp_path / "full.edf", 2000.0, ("C0", "C1"), on_error=errors.append)
    rec.start()
    blocks = list(_blocks(200))
    for b in blocks[:100]:
        rec(b, None)
    _wait(lambda: rec.queue_fraction == 0 and rec.writer.records_written >= 10)
    written = rec.writer.records_written

    def no_space(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(edfwriter.os, "pwrite", no_space)
    for b in blocks[100:]:
        rec(b, None)  # never raises
    _wait(lambda: errors)
    monkeypatch.undo()
    rec(blocks[0], None)
    rec.annotate(10, "late note")
    rec.close()
    assert errors == [FULL] and rec.failed and rec.error == FULL
    f, data, _ = _read(tmp_path / "full.edf")
    assert f.n_records == written
    ref = np.concatenate([b.data for b in blocks])[: len(data)]
    assert np.abs(data - ref).max() <= 0.1 + 1e-3


def test_slow_disk_never_blocks_acquisition(tmp_path, monkeypatch):
    slow_write = edfwriter.EdfWriter.write

    def slow(self, data):
        time.sleep(0.02)
        slow_write(self, data)

    monkeypatch.setattr(edfwriter.EdfWriter, "write", slow)
    backlog = []
    rec = Recorder(
        tmp_path / "slow.edf", 2000.0, ("C0", "C1"), queue_seconds=0.2, on_backlog=backlog.append
    )
    rec.start()
    longest = 0.0
    fractions = []
    for b in _blocks(300):
        t0 = time.perf_counter()
        rec(b, None)
        longest = max(longest, time.perf_counter() - t0)
        fractions.append(rec.queue_fraction)
    assert longest < 0.005
    assert rec.dropped_blocks > 200 and backlog[:1] == [True] and max(fractions) <= 1.0
    rec.close()
    _, _, notes = _read(tmp_path / "slow.edf")
    assert sum(a.text.startswith("recorder overflow") for a in notes) == rec.dropped_blocks


def test_default_recording_path_has_date_time_and_case_only(tmp_path):
    import datetime as dt

    now = dt.datetime(2026, 11, 25, 14, 3, 9)
    p = default_recording_path(tmp_path, "MVD case/17 Müller", now=now)
    assert p.name == "2026-11-25_140309_MVD-case-17-M-ller.edf"
    p.touch()
    assert default_recording_path(tmp_path, "MVD case/17 Müller", now=now).name.endswith("_2.edf")
    assert default_recording_path(tmp_path, bits=24, now=now).name == "2026-11-25_140309.bdf"


def test_a_missing_folder_is_refused_at_start_with_a_sentence(tmp_path):
    rec = Recorder(tmp_path / "gone" / "r.edf", 2000.0, ("C0",))
    with pytest.raises(RecorderError) as err:
        rec.start()
    assert str(err.value) == (
        f"Cannot record to r.edf: the folder {tmp_path / 'gone'} is missing (was it deleted, "
        "or the drive removed?); reconnect the drive or choose another folder."
    )


def test_setting_changes_during_the_case_are_annotated_in_the_recording(tmp_path):
    from monitor.caserecording import record_case
    from monitor.monitoring import FreeRunMonitoring

    source = SimulatorSource(SimConfig(seed=4), realtime=False, duration_s=2.0)
    session = Session(source)
    session.open()
    monitoring = FreeRunMonitoring(session)
    rec = record_case(session, monitoring, None, tmp_path / "c.edf", "17")
    for block in _session_blocks(source, 0.5):
        session.process(block)
    session.set_filter(highpass_hz=30.0)
    monitoring.set_thresholds(mode="fixed", fixed_uv=80.0)
    for block in _session_blocks(source, 0.5):
        session.process(block)
    monitoring.set_traintime_thresholds(1.0, 8.0)
    monitoring.reset_traintime("electrocautery artifact", 2, session.status().end_index)
    with pytest.raises(ValueError, match="increasing"):
        monitoring.set_traintime_thresholds(5.0, 2.0)
    with pytest.raises(ValueError, match="Not a detection threshold"):
        monitoring.set_thresholds(colour="red")
    rec.close()
    _, _, notes = _read(tmp_path / "c.edf")
    changes = {a.text: a.onset_s for a in notes if a.text.startswith("setting:")}
    assert changes == {
        "setting: filter 20 Hz – 3000 Hz": 0.0,  # the filter in use at the first sample
        "setting: filter 20 Hz – 3000 Hz -> 30 Hz – 3000 Hz": pytest.approx(0.5, abs=0.06),
        "setting: detection threshold adaptive 7 x noise (at least 20 uV) -> fixed 80 uV": (
            pytest.approx(0.5, abs=0.06)
        ),
        "setting: train-time thresholds 0.5/10 s -> 1/8 s": pytest.approx(1.0, abs=0.06),
        f"setting: train time reset on {monitoring.label(2)} (was 0.0 s): electrocautery "
        "artifact": pytest.approx(1.0, abs=0.06),
    }
    assert monitoring.detector.s.fixed_uv == 80.0 and monitoring.traintime.thresholds_s == (1, 8)


def _session_blocks(source, seconds):
    got = 0.0
    while got < seconds:
        block = source.read()
        if block is not None:
            got += block.n_samples / block.rate
            yield block


def _record_stimulated(path, seconds: float, labels=None):
    """A simulated case stimulated at 2 Hz, recorded with its evoked measurements: the
    analyzer, the file's annotations and the rate."""
    from monitor.caserecording import record_case
    from monitor.evoked import EvokedAnalyzer
    from monitor.monitoring import FreeRunMonitoring

    extra = {} if labels is None else {"labels": labels}
    cfg = SimConfig(seed=8, stim_rate_hz=2, stim_start_s=0.2, **extra)
    source = SimulatorSource(cfg, realtime=False, duration_s=seconds)
    session = Session(source)
    session.open()
    monitoring = FreeRunMonitoring(session)
    evoked = EvokedAnalyzer(source.info.rate, source.info.labels)
    session.subscribe("Evoked", evoked)
    rec = record_case(session, monitoring, evoked, path, "9")
    session.start()
    assert session.join(30)
    evoked.flush()
    rec.close()
    _, _, notes = _read(path)
    return evoked, notes, source.info.rate


def test_every_stimulus_gets_its_evoked_measurement_in_the_recording(tmp_path):
    evoked, notes, rate = _record_stimulated(tmp_path / "lsr.edf", 4.0)
    stims = [round(a.onset_s * rate) for a in notes if a.text.startswith("stim")]
    measured = {round(a.onset_s * rate): a.text for a in notes if a.text.startswith("LSR #")}
    assert len(stims) >= 6 and set(measured) == {s.stim_index for s in evoked.results()}
    assert set(measured) <= set(stims)
    # The measurement in the file is the analyzer's, channel by channel.
    present = [r for r in evoked.results() if r.kind == "lsr" and r.present]
    assert present
    for r in present:
        assert f"{r.label} {r.amplitude_uv:.0f} uV {r.latency_ms:.1f} ms" in measured[r.stim_index]


def test_at_16_channels_every_measurement_of_a_stimulus_reaches_the_file(tmp_path):
    """The per-stimulus text was cut at 300 characters: at 16 channels the last channels'
    measurements were lost. It is now split into numbered parts, none cut."""
    from monitor.caserecording import MAX_SWEEP_TEXT
    from monitor.montage import default_labels

    evoked, notes, rate = _record_stimulated(
        tmp_path / "lsr16.edf", 2.0, default_labels(16, "left")
    )
    texts: dict[int, str] = {}
    for a in notes:
        if a.text.startswith("LSR #"):
            assert len(a.text.encode()) <= MAX_SWEEP_TEXT and not a.text.endswith(("…", "..."))
            texts[round(a.onset_s * rate)] = texts.get(round(a.onset_s * rate), "") + a.text
    results = [r for r in evoked.results() if r.kind == "lsr"]
    assert len({r.stim_index for r in results}) >= 3
    assert any(" (2/" in t for t in texts.values())
    for r in results:  # every channel of every stimulus, judged or not, is in the file
        assert r.label in texts[r.stim_index], (r.label, texts[r.stim_index])


def test_a_folder_removed_while_recording_is_noticed_within_two_seconds(tmp_path):
    """Writing goes on without an error into a file whose folder was deleted: the
    recorder looks for its file every second and stops with a sentence."""
    import shutil

    folder = tmp_path / "case"
    folder.mkdir()
    errors: list[str] = []
    rec = Recorder(folder / "r.edf", 2000.0, ("C0", "C1"), on_error=errors.append)
    rec.start()
    blocks = _blocks(400)  # 4 s of signal, fed at about 4x real time
    for b in itertools.islice(blocks, 50):
        rec(b, None)
    shutil.rmtree(folder)
    removed = time.monotonic()
    for b in blocks:
        rec(b, None)
        time.sleep(0.0025)
        if errors:
            break
    _wait(lambda: bool(errors), timeout=3.0)
    assert time.monotonic() - removed <= 2.0
    assert errors == [
        f"Recording stopped: the folder {folder} is missing (was it deleted, or the drive "
        "removed?). Monitoring continues; reconnect the drive or choose another folder."
    ]
    rec.close()
    assert rec.outcome().startswith(f"Recording lost: {folder / 'r.edf'} no longer exists")


def test_a_recording_file_deleted_alone_is_noticed_and_the_run_says_so(tmp_path):
    errors: list[str] = []
    rec = Recorder(tmp_path / "r.edf", 2000.0, ("C0", "C1"), on_error=errors.append)
    rec.start()
    (tmp_path / "r.edf").unlink()
    _wait(lambda: bool(errors), timeout=3.0)  # no blocks at all: checked while idle too
    assert errors[0].startswith("Recording stopped: the file r.edf was deleted or moved from")
    rec.close()
    assert "no longer exists" in rec.outcome()


def test_the_outcome_says_where_how_much_and_if_it_stopped_early(tmp_path, monkeypatch):
    rec = Recorder(tmp_path / "ok.edf", 2000.0, ("C0", "C1"))
    rec.start()
    for b in _blocks(100):
        rec(b, None)
    rec.close()
    assert rec.outcome() == f"Recorded 1.0 s to {(tmp_path / 'ok.edf').resolve()}."
    full = Recorder(tmp_path / "full.edf", 2000.0, ("C0", "C1"), record_seconds=0.1)
    full.start()

    def no_space(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    for b in _blocks(20):  # 0.2 s written, then the disk is full
        full(b, None)
    _wait(lambda: full.writer.records_written >= 2)
    monkeypatch.setattr(edfwriter.os, "pwrite", no_space)
    for b in _blocks(20, start=400):
        full(b, None)
    full.close()
    assert full.outcome() == (
        "Recording stopped early after 0.2 s: the disk is full. What was recorded is saved "
        f"in {(tmp_path / 'full.edf').resolve()}."
    )


def test_a_case_id_that_could_identify_the_patient_never_names_a_file(tmp_path):
    path = default_recording_path(tmp_path, "Doe, Jane 1961-08-02")
    assert "Doe" not in path.name and "1961" not in path.name
    assert default_recording_path(tmp_path, "MVD-17").name.endswith("_MVD-17.edf")


def test_a_recording_file_replaced_by_another_is_said_lost_not_saved(tmp_path):
    errors: list[str] = []
    rec = Recorder(tmp_path / "r.edf", 2000.0, ("C0", "C1"), on_error=errors.append)
    rec.start()
    (tmp_path / "r.edf").unlink()
    (tmp_path / "r.edf").write_bytes(b"another program's file")
    _wait(lambda: bool(errors), timeout=3.0)
    assert errors[0].startswith(f"Recording stopped: the file r.edf in {tmp_path} was replaced")
    rec.close()
    assert rec.outcome() == (
        f"Recording lost: {(tmp_path / 'r.edf').resolve()} was replaced by another file while "
        "recording."
    )


def test_a_stopped_recording_takes_no_more_annotations(tmp_path):
    rec = Recorder(tmp_path / "s.edf", 2000.0, ("C0",))
    rec.start()
    rec.close()
    for k in range(100):  # listeners of a stopped recording still call it
        rec.annotate(k, "alarm High active: ...")
    assert rec._annotations == []


def test_a_part_that_starts_among_the_direct_responses_says_direct():
    import numpy as np

    from monitor.caserecording import sweep_texts
    from monitor.evoked.sweep import Sweep, SweepResult

    def result(ch, label, kind):
        return SweepResult(1, 100, ch, label, kind, True, 10.2, 230.0, None, None, 1.0, 1.0, 1.0)

    for n in range(8, 16):  # where the split falls moves through the direct group
        results = [result(i, f"L Mentalis {i:02d}é", "lsr") for i in range(n)]
        results += [result(n, "L Orb. oculi", "direct"), result(n + 1, "L Orb. oculi 2", "direct")]
        sw = Sweep(StimMarker(100, 10.0), 12, "lsr", tuple(results), np.zeros((1, 1)), 0.0, 1e3)
        texts = sweep_texts(sw)
        for t in texts:
            body = t.split(": ", 1)[1]
            assert "Orb. oculi" not in body or "direct L Orb. oculi" in body, texts
        joined = " ".join(texts)
        assert all(r.label in joined for r in results)
