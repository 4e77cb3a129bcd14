"""Our recordings follow the EDF+ conventions, checked with independent readers:
``EMG`` labels (MNE types the channels as EMG), the human labels kept, the prefilter
field, the sub-second start in the first time-keeping TAL."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pytest

from drivers.edfreader import EdfFile
from drivers.replay import ReplaySource
from drivers.simulator import SimulatorSource
from monitor.caserecording import record_case
from monitor.edflabels import (
    MUSCLE_CODES,
    display_labels,
    edf_label,
    edf_labels,
    human_labels,
    prefilter_text,
    transducer_text,
)
from monitor.edfwriter import EdfWriter
from monitor.filters import FilterSettings
from monitor.monitoring import FreeRunMonitoring
from monitor.montage import MUSCLES, default_labels
from monitor.session import Session
from simulation.emgsynth import EmgSynth, SimConfig

RATE = 10_000.0
DEFAULT_4 = ("L Orb. oculi", "L Orb. oris", "L Mentalis", "L Frontalis")
START = dt.datetime(2026, 11, 25, 14, 3, 9, 421875)


def _blocks(source: SimulatorSource, seconds: float):
    got = 0.0
    while got < seconds:
        block = source.read()
        if block is not None:
            got += block.n_samples / block.rate
            yield block


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.datetime]:
    """0.8 s of the simulated default montage recorded by the monitor's own recorder
    (``record_case``), the filter changed half-way; the file and the start it recorded."""
    path = tmp_path_factory.mktemp("conventions") / "case.edf"
    source = SimulatorSource(SimConfig(seed=3, rate=RATE), realtime=False, duration_s=1.0)
    session = Session(source)
    session.open()
    rec = record_case(session, FreeRunMonitoring(session), None, path, "17")
    for block in _blocks(source, 0.4):
        session.process(block)
    session.set_filter(notch_hz=50.0)
    for block in _blocks(source, 0.4):
        session.process(block)
    rec.close()
    assert not rec.failed and rec.writer is not None
    return path, rec.writer.start


def _mne_raw(path: Path, **kwargs: object):
    mne = pytest.importorskip("mne")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mne.io.read_raw_edf(path, preload=True, verbose="error", **kwargs)


# -- labels -----------------------------------------------------------------------------------
def test_the_default_montage_gets_systematic_emg_labels() -> None:
    assert default_labels(4) == DEFAULT_4
    assert edf_labels(DEFAULT_4) == ["EMG L OOc", "EMG L OOr", "EMG L Ment", "EMG L Front"]
    assert edf_label("R Mentalis") == "EMG R Ment"
    assert edf_label("L Orbicularis oculi") == "EMG L OOc"  # full name, short name or key
    assert edf_label("Depressor anguli oris R") == "EMG R DAO"  # the longest name wins
    assert edf_label("left orbicularis oris") == "EMG L OOr"
    assert edf_label("EMG L OOc") == "EMG L OOc"  # already conventional: unchanged
    assert edf_label("chin") == "EMG chin"  # a label --channels gave, not a muscle
    assert set(MUSCLE_CODES) == set(MUSCLES)  # every muscle has its code


@pytest.mark.parametrize(
    "labels",
    [
        DEFAULT_4,
        default_labels(16),
        ("a", "b", "c"),
        ("L Orb. oculi",) * 3 + ("L Orb. oculi 2", "l orb. OCULI"),
        ("", "EMG", "Left sternocleidomastoid muscle, upper part", "Mentalis µV é", "x" * 90),
        ("EDF Annotations", "BDF Annotations", "Trigger", "L Ch1", "L Ch1 "),
    ],
)
def test_labels_fit_16_ascii_characters_are_unique_typed_and_give_the_human_label_back(
    labels: tuple[str, ...],
) -> None:
    got = edf_labels(labels)
    assert all(len(x) <= 16 and x.isascii() and x.isprintable() for x in got)
    assert all(x.startswith("EMG ") and x == x.strip() for x in got)
    assert len({x.lower() for x in got}) == len(got)
    assert edf_labels(labels) == got  # deterministic
    humans = human_labels(labels)
    assert all(len(h) <= 80 and h.isascii() for h in humans)
    assert len({h.lower() for h in humans}) == len(humans)
    assert display_labels(edf_labels(humans), humans) == humans


def test_labels_of_other_software_are_kept_as_written() -> None:
    # No human label behind them: the transducer says what the sensor is, or nothing.
    assert display_labels(["EMG Chin", "EMG L_Biceps_Bra"], ["AgAgCl electrode", ""]) == [
        "EMG Chin",
        "EMG L_Biceps_Bra",
    ]
    assert display_labels(["Fp1", "EMG Chin"], ["", "Chin"]) == ["Fp1", "EMG Chin"]
    # Ours, with one transducer field changed since: that label loses only the prefix.
    assert display_labels(["EMG L OOc", "EMG a"], ["L Orb. oculi", "needle"]) == [
        "L Orb. oculi",
        "a",
    ]


def test_the_transducer_keeps_the_human_label_in_ascii() -> None:
    assert transducer_text("  R   Mentalis\t") == "R Mentalis"
    assert transducer_text("Masséter µ") == "Masseter u"
    assert len(transducer_text("y" * 100)) == 80


# -- the recorder's file in MNE, edfio, pyedflib and our replay ------------------------------
def test_mne_types_every_channel_of_a_recording_as_emg(recording) -> None:
    path, _ = recording
    raw = _mne_raw(path, infer_types=True)
    assert raw.get_channel_types() == ["emg"] * 4
    assert raw.ch_names == ["L OOc", "L OOr", "L Ment", "L Front"]  # MNE drops the type
    assert raw.info["sfreq"] == RATE


def test_the_header_keeps_the_labels_and_says_the_samples_are_not_filtered(recording) -> None:
    """The recorder stores the raw samples (the filter shapes only the screen and the
    detection), so the prefilter fields state no filter and MNE reports the full band;
    the filter in use is annotated at the start and at its change."""
    path, _ = recording
    f = EdfFile(path)
    data_signals = [s for s in f.signals if not s.is_annotation]
    assert [s.header_label for s in data_signals] == edf_labels(DEFAULT_4)
    assert [s.transducer for s in data_signals] == list(DEFAULT_4)
    assert [s.prefilter for s in data_signals] == [""] * 4
    notes, _ = f.read_annotations()
    f.close()
    settings = [a.text for a in notes if a.text.startswith("setting: filter")]
    assert settings == [
        "setting: filter 20 Hz – 3000 Hz",
        "setting: filter 20 Hz – 3000 Hz -> 20 Hz – 3000 Hz, notch 50 Hz",
    ]
    raw = _mne_raw(path, infer_types=True)
    assert raw.info["highpass"] == 0.0 and raw.info["lowpass"] == RATE / 2
    # What MNE reads is the simulator's raw signal, drift and all, not a filtered one.
    want, _ = EmgSynth(SimConfig(seed=3, rate=RATE)).render(0, 8000)
    got = raw.get_data(units="uV")[:, :8000].T
    assert np.abs(got - want).max() <= 0.1 + 1e-3


@pytest.mark.parametrize(
    ("settings", "text", "band"),
    [
        (FilterSettings(), "HP:20Hz LP:3000Hz N:off", (20.0, 3000.0)),
        (FilterSettings(30.0, 2500.0, notch_hz=50.0), "HP:30Hz LP:2500Hz N:50Hz", (30.0, 2500.0)),
        (FilterSettings(None, 450.5, notch_hz=60.0), "HP:DC LP:450.5Hz N:60Hz", (0.0, 450.5)),
        (FilterSettings(0.5, None), "HP:0.5Hz N:off", (0.5, 1000.0)),
    ],
)
def test_a_prefilter_in_edf_syntax_is_the_band_mne_reports(
    tmp_path: Path, settings: FilterSettings, text: str, band: tuple[float, float]
) -> None:
    """For samples that did go through a filter (``EdfWriter(prefilter=...)``)."""
    assert prefilter_text(settings.highpass_hz, settings.lowpass_hz, settings.notch_hz) == text
    path = tmp_path / "f.edf"
    with EdfWriter(path, 2000.0, ["R Mentalis"], prefilter=text, start=START) as w:
        w.write(np.zeros((2000, 1)))
    raw = _mne_raw(path, infer_types=True)
    assert (raw.info["highpass"], raw.info["lowpass"]) == band
    with pytest.raises(ValueError, match="positive"):
        prefilter_text(float("nan"), None, None)


def test_the_start_keeps_its_fraction_of_a_second_in_every_reader(recording) -> None:
    pyedflib = pytest.importorskip("pyedflib")
    edfio = pytest.importorskip("edfio")
    path, start = recording
    second = start.replace(microsecond=0)
    f = EdfFile(path)
    _, onsets = f.read_annotations()
    assert f.start_datetime == second  # the header: whole seconds
    f.close()
    assert onsets[0] == pytest.approx(start.microsecond / 1e6, abs=1e-7)  # "+0.X"
    np.testing.assert_allclose(np.diff(onsets), 0.1, atol=1e-7)  # EDF+C: records follow on

    e = edfio.read_edf(path)
    assert dt.datetime.combine(e.startdate, e.starttime) == start
    assert [s.label for s in e.signals] == edf_labels(DEFAULT_4)
    assert any(a.text.startswith("setting: filter 20 Hz") and a.onset == 0 for a in e.annotations)

    r = pyedflib.EdfReader(str(path))  # it checks every EDF+C record time against the first
    try:
        assert r.getSignalLabels() == edf_labels(DEFAULT_4)
        assert r.getTransducer(0) == "L Orb. oculi"
        # EDFlib counts the fraction in 100 ns (pyedflib's getStartdatetime() divides it by
        # 100 as if it were ns, so it shows a tenth of it).
        assert r.starttime_subsecond == pytest.approx(start.microsecond * 10, abs=1)
        assert r.getStartdatetime().replace(microsecond=0) == second
    finally:
        r.close()

    # MNE keeps the header's whole second (documented: "sets subseconds to 0") and counts
    # annotation onsets from the first sample, as the other readers do.
    raw = _mne_raw(path)
    assert raw.info["meas_date"] == second.replace(tzinfo=dt.UTC)
    (onset,) = [
        o
        for o, d in zip(raw.annotations.onset, raw.annotations.description, strict=True)
        if d == "setting: filter 20 Hz – 3000 Hz"
    ]
    assert onset == 0.0


def test_our_replay_shows_the_human_labels_and_the_exact_start(recording) -> None:
    path, start = recording
    src = ReplaySource(path, realtime=False)
    src.open()
    try:
        assert src.info.labels == DEFAULT_4
        assert src.start_datetime == start
        first = [m for m in src.annotations if getattr(m, "text", "").startswith("setting")]
        assert first[0].index == 0
    finally:
        src.close()
