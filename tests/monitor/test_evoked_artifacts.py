"""Evoked responses on signals built here sample by sample (not by the simulator): mains
hum, contaminated sweeps (cautery, saturation, movement, activity, gaps), the
stimulation-delivery control (the direct response) and laterality.

The signal: band-limited noise, optional mains hum (fundamental, 3rd and 5th harmonics at
random phases per channel), a 0.2 ms stimulus artifact on every channel at each pulse
(1 Hz from 1 s, zygomatic branch, 15 mA), a direct response (1 mV, 4 ms) on the
orbicularis oculi, and an LSR (biphasic, 10 ms) on the orbicularis oris and the mentalis.
The contralateral mentalis carries noise only.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from scipy import signal

from monitor.block import StimMarker
from monitor.evoked import (
    CALL_DISAPPEARED,
    CALL_STIMULATION_LOST,
    CALL_STIMULATION_RESTORED,
    STIM_LOST,
    STIM_OK,
    EvokedAnalyzer,
    EvokedSettings,
    LsrCall,
    Sweep,
)
from monitor.mainshum import MainsHum

RATE = 10_000.0
LABELS = ("L Orb. oculi", "L Orb. oris", "L Mentalis", "R Mentalis")
OCULI, ORIS, MENTALIS, CONTRA = range(4)
STIM_START_S = 1.0


def _wave(rate: float, sigma_ms: float, n_ms: float, biphasic: bool) -> np.ndarray:
    """A smooth response, peak-to-peak 1, onset at sample 0 (about 1 % of its peak)."""
    t = np.arange(round(n_ms * rate / 1000)) / rate * 1000 - 2.5 * sigma_ms
    g = np.exp(-0.5 * (t / sigma_ms) ** 2)
    w = -t / sigma_ms * g if biphasic else g
    return w / (w.max() - w.min())


@dataclasses.dataclass
class Case:
    """The case's knobs; ``signal()`` builds it."""

    seconds: float = 25.0
    noise_uv: float = 3.0
    hum_uv: float = 0.0
    mains_hz: float = 50.0
    lsr_uv: float = 100.0
    lsr_gone_at_s: float | None = None
    direct_uv: float = 1000.0
    no_stimulation: tuple[float, float] | None = None  # the needle slipped: no responses
    site: str = "zygomatic"
    seed: int = 1

    def stims(self) -> list[int]:
        return [round(t * RATE) for t in np.arange(STIM_START_S, self.seconds - 0.1, 1.0)]

    def signal(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        n = round(self.seconds * RATE)
        sos = signal.butter(2, [10.0, 4000.0], "bandpass", fs=RATE, output="sos")
        x = signal.sosfilt(sos, rng.standard_normal((n, len(LABELS))), axis=0)
        x *= self.noise_uv / x.std(axis=0)
        t = np.arange(n) / RATE
        for ch in range(len(LABELS)):
            for h, rel in ((1, 1.0), (3, 0.35), (5, 0.2)):
                phase = rng.uniform(0, 2 * np.pi)
                x[:, ch] += self.hum_uv * rel * np.sin(2 * np.pi * h * self.mains_hz * t + phase)
        direct = _wave(RATE, 1.0, 12.0, biphasic=True)
        lsr = _wave(RATE, 0.8, 10.0, biphasic=True)
        for idx in self.stims():
            ts = idx / RATE
            x[idx : idx + 2] += 500.0  # the stimulus artifact
            off = self.no_stimulation is not None and (
                self.no_stimulation[0] <= ts < self.no_stimulation[1]
            )
            if off:
                continue
            d = idx + round(4.0 * RATE / 1000)
            x[d : d + len(direct), OCULI] += self.direct_uv * direct
            if self.lsr_gone_at_s is None or ts < self.lsr_gone_at_s:
                for ch, gain in ((ORIS, 0.8), (MENTALIS, 1.0)):
                    a = idx + round((9.5 + rng.normal(0, 0.1)) * RATE / 1000)
                    x[a : a + len(lsr), ch] += self.lsr_uv * gain * lsr
        return x.astype(np.float32)


def run(
    case: Case,
    x: np.ndarray | None = None,
    block: int = 250,
    settings: EvokedSettings | None = None,
    labels: tuple[str, ...] = LABELS,
) -> tuple[EvokedAnalyzer, list[LsrCall], list[Sweep]]:
    x = case.signal() if x is None else x
    calls: list[LsrCall] = []
    sweeps: list[Sweep] = []
    an = EvokedAnalyzer(
        RATE, labels, on_call=calls.append, on_sweep=sweeps.append, settings=settings
    )
    stims = case.stims()
    for i in range(0, len(x), block):
        ms = [StimMarker(s, 15.0, 0.2, case.site) for s in stims if i <= s < i + block]
        an.process(i, x[i : i + block], ms)
    an.flush()
    return an, calls, sweeps


def lsr_results(an: EvokedAnalyzer, channel: int, after_s: float = 0.0) -> list:
    return [r for r in an.trend(channel, "lsr") if r.stim_index / RATE >= after_s]


# -- mains hum ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_hum_does_not_hide_an_lsr(mains_hz):
    """100 µV (mentalis; 80 µV orbicularis oris) in 40 µV of hum with its harmonics: found
    on every sweep once the mains frequency is known, with its amplitude."""
    case = Case(hum_uv=40.0, mains_hz=mains_hz)
    x = case.signal()
    an, _, sweeps = run(case, x)
    for ch, amp in ((MENTALIS, 100.0), (ORIS, 80.0)):
        rs = lsr_results(an, ch, after_s=STIM_START_S + 3)
        assert len(rs) >= 18
        assert all(r.present for r in rs), [r.window_ptp_uv / r.level_uv for r in rs]
        assert np.median([r.amplitude_uv for r in rs]) == pytest.approx(amp, rel=0.15)
        assert np.median([r.noise_uv for r in rs]) < 5.0  # judged on the residual
        assert np.median([r.hum_uv for r in rs]) > 30.0
    assert sweeps[-1].mains_hz == pytest.approx(mains_hz, abs=0.1)
    # Without the hum removed the same LSR is lost in it (the test can fail).
    plain, _, _ = run(case, x, settings=EvokedSettings(hum_harmonics=0))
    assert not any(r.present for r in lsr_results(plain, MENTALIS, STIM_START_S + 3))


@pytest.mark.parametrize("mains_hz", [50.0, 60.0, 50.4])
def test_hum_alone_is_never_a_response(mains_hz):
    """40 µV of hum (the frequency off by 0.4 Hz in one case: it is tracked) and no LSR."""
    case = Case(hum_uv=40.0, mains_hz=mains_hz, lsr_uv=0.0, seconds=60.0, seed=2)
    an, calls, _ = run(case)
    judged = [r for ch in (ORIS, MENTALIS, CONTRA) for r in lsr_results(an, ch) if r.judged]
    assert len(judged) > 160
    assert sum(r.present for r in judged) <= 1
    assert an.baseline() is None and not [c for c in calls if c.kind == CALL_DISAPPEARED]


def test_hum_removal_does_not_depend_on_block_sizes():
    case = Case(hum_uv=40.0, mains_hz=60.0, seconds=12.0)
    x = case.signal()
    ref, _, _ = run(case, x, block=100)
    for block in (37, 1000, 4096):
        got, _, _ = run(case, x, block=block)
        a, b = ref.results(), got.results()
        assert [(r.present, r.rejected) for r in a] == [(r.present, r.rejected) for r in b]
        for r, s in zip(a, b, strict=True):
            assert (r.amplitude_uv is None) == (s.amplitude_uv is None)
            if r.amplitude_uv is not None:
                assert r.amplitude_uv == pytest.approx(s.amplitude_uv, rel=1e-6)


def test_mains_frequency_is_chosen_and_tracked_from_the_data():
    rate, n = 10_000.0, 2000
    for true_hz in (50.0, 60.0, 59.7):
        hum = MainsHum(rate)
        rng = np.random.default_rng(0)
        rows = np.arange(-2000, -10, hum.stride)
        for k in range(12):
            t0 = k * 1.37
            fit_t = rows / rate
            x = 30 * np.sin(2 * np.pi * true_hz * (t0 + fit_t))[:, None] + rng.normal(
                0, 3, (len(rows), 1)
            )
            sweep = 30 * np.sin(2 * np.pi * true_hz * (t0 + (np.arange(n) - 1000) / rate))
            sweep = sweep[:, None].copy()
            fit = hum.remove(x, fit_t, sweep, 1000)
        assert hum.mains_hz == pytest.approx(true_hz, abs=0.05)
        assert fit.amplitude_uv[0] == pytest.approx(30.0, rel=0.05)
        assert np.abs(sweep).max() < 2.0  # what is left of the hum, past the pulse too


# -- contaminated sweeps ---------------------------------------------------------------------------
def _cautery(x: np.ndarray, start_s: float, seconds: float, uv: float = 2000.0) -> None:
    """Broadband interference on every channel (electrocautery)."""
    rng = np.random.default_rng(7)
    a, b = round(start_s * RATE), round((start_s + seconds) * RATE)
    sos = signal.butter(2, [300.0, 4500.0], "bandpass", fs=RATE, output="sos")
    burst = signal.sosfilt(sos, rng.standard_normal((b - a, x.shape[1])), axis=0)
    x[a:b] += (uv / 4 * burst / burst.std()).astype(np.float32)


@pytest.mark.parametrize("starts_ms", [-300.0, 0.0, 7.0])
def test_cautery_sweep_is_rejected_even_when_it_starts_in_the_window(starts_ms):
    """Cautery from 300 ms before a pulse, at the pulse, or 7 ms after it (inside the
    LSR window: the pre-stimulus stretch is clean): that sweep is rejected for cautery on
    every channel, never present, never absent."""
    case = Case(seconds=16.0)
    x = case.signal()
    _cautery(x, 10.0 + starts_ms / 1000, 0.45)
    an, calls, sweeps = run(case, x)
    hit = next(sw for sw in sweeps if sw.marker.index == round(10.0 * RATE))
    assert {r.rejected for r in hit.results} == {"cautery"}
    assert not any(r.present for r in hit.results)
    others = [sw for sw in sweeps if sw is not hit and sw.marker.index > 2 * RATE]
    assert all(not sw.rejected() for sw in others)
    assert all(r.amplitude_uv is None or r.amplitude_uv < 1500 for r in an.results())
    assert calls == [] and an.state() == "present"
    row = [r for r in an.stim_response_rows() if r[0] == "10.0000"]
    assert [r[5] for r in row] == ["cautery"] * 4 and all(r[4] == "" for r in row)


def test_a_rejected_sweep_never_counts_towards_baseline_or_disappearance():
    """The LSR goes at 12 s; cautery over 13-17 s: the five absent sweeps needed are the
    judged ones (12, 18, 19, 20, 21 s), so the call comes with 21 s, not with 16 s."""
    case = Case(seconds=25.0, lsr_gone_at_s=12.0)
    x = case.signal()
    _cautery(x, 12.9, 4.6)
    an, calls, sweeps = run(case, x)
    rejected = [sw.marker.index / RATE for sw in sweeps if sw.rejected()]
    assert rejected == [13.0, 14.0, 15.0, 16.0, 17.0]
    [gone] = [c for c in calls if c.kind == CALL_DISAPPEARED]
    assert gone.sample_index / RATE == 12.0 and gone.reported_at / RATE == 21.0
    assert an.lsr_summary()["rejected_sweeps"] == {"cautery": 5}


def test_saturation_movement_activity_and_gap_are_rejected_with_their_reason():
    case = Case(seconds=16.0)
    x = case.signal()
    # 6 s: the mentalis amplifier clips at +2 mV for 3 ms inside the window.
    a = round(6.009 * RATE)
    x[a : a + 30, MENTALIS] = 2000.0
    # 8 s: the orbicularis oris steps by 3 mV 10 ms before the pulse (a pulled lead).
    x[round(7.99 * RATE) :, ORIS] += 3000.0
    # 10 s: an A-train (100 Hz, 150 µV) over the mentalis' pre-stimulus stretch.
    t = np.arange(round(0.3 * RATE)) / RATE
    a = round(9.75 * RATE)
    x[a : a + len(t), MENTALIS] += (75 * np.sin(2 * np.pi * 100 * t) ** 15).astype(np.float32)
    _, _, sweeps = run(case, x)
    why = {(sw.marker.index / RATE, r.channel): r.rejected for sw in sweeps for r in sw.results}
    assert why[(6.0, MENTALIS)] == "saturation"
    assert why[(8.0, ORIS)] == "movement"
    assert why[(10.0, MENTALIS)] == "spontaneous activity"
    assert why[(6.0, ORIS)] == why[(10.0, ORIS)] == ""
    # A gap over a sweep.
    x2 = case.signal()
    an2 = EvokedAnalyzer(RATE, LABELS)
    stims = case.stims()
    for i in range(0, len(x2), 100):
        ms = [StimMarker(s, 15.0, 0.2, case.site) for s in stims if i <= s < i + 100]
        if round(5.0 * RATE) <= i < round(5.02 * RATE):
            an2.process(i, x2[i:i], ms)  # these samples never came
            continue
        an2.process(i, x2[i : i + 100], ms)
    gap = [r for r in an2.results() if r.stim_index == round(5.0 * RATE)]
    assert {r.rejected for r in gap} == {"gap"}


def test_an_lsr_far_beyond_its_baseline_is_rejected_as_implausible():
    case = Case(seconds=14.0)
    x = case.signal()
    lsr = _wave(RATE, 0.8, 10.0, biphasic=True)
    a = round(10.0095 * RATE)
    x[a : a + len(lsr), MENTALIS] += (2500 * lsr).astype(np.float32)  # 25x its baseline
    _, _, sweeps = run(case, x)
    hit = next(sw for sw in sweeps if sw.marker.index == round(10.0 * RATE))
    assert hit.results[MENTALIS].rejected == "implausible amplitude"
    assert hit.results[ORIS].present and not hit.results[ORIS].rejected


# -- the stimulation control -----------------------------------------------------------------
def test_losing_the_direct_response_is_a_stimulation_call_not_a_disappearance():
    """The stimulating needle slips at 10 s (pulses and their artifacts go on): the direct
    response and the LSR vanish together. Stimulation lost is called on the 3rd sweep;
    the LSR's disappearance never."""
    case = Case(seconds=30.0, no_stimulation=(10.0, 99.0))
    an, calls, sweeps = run(case)
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST]
    lost = calls[0]
    assert lost.sample_index / RATE == 10.0 and lost.reported_at / RATE == 12.0
    assert lost.text.startswith(
        "Stimulation is not reaching the nerve: check the stimulating electrode"
    )
    assert lost.channels == ("L Orb. oculi",)
    assert all(sw.stimulation == STIM_LOST for sw in sweeps if sw.marker.index >= 10 * RATE)
    assert all(
        sw.stimulation == STIM_OK for sw in sweeps if 6 * RATE <= sw.marker.index < 10 * RATE
    )
    assert an.state() == "present"  # the LSR was never judged gone
    assert an.status_text() == "LSR cannot be judged — stimulation lost since 0:10"
    assert an.stimulation_text() == "STIMULATION NOT REACHING THE NERVE"
    summary = an.lsr_summary()
    assert summary["stimulation_lost_at_s"] == 10.0 and summary["disappeared_at_s"] is None
    assert [c["kind"] for c in summary["calls"]] == [CALL_STIMULATION_LOST]
    # Without the control (no channel records the stimulated branch) the same signal is
    # called "LSR disappeared", with the caveat: the control is what prevents it.
    blind, blind_calls, _ = run(
        case, labels=("L Frontalis", "L Orb. oris", "L Mentalis", "R Mentalis")
    )
    assert [c.kind for c in blind_calls] == [CALL_DISAPPEARED]
    assert "stimulation not confirmed" in blind_calls[0].text
    assert blind.status_text() == "LSR gone since 0:10 (stimulation not confirmed)"


def test_the_disappearance_is_called_once_the_direct_response_is_back():
    """Needle out at 10 s, back at 20 s; the LSR had gone at 10 s as well: stimulation
    lost, then restored, then (five judged sweeps with the direct response) the LSR gone,
    dated from the first of those sweeps."""
    case = Case(seconds=32.0, no_stimulation=(10.0, 20.0), lsr_gone_at_s=10.0)
    an, calls, _ = run(case)
    assert [c.kind for c in calls] == [
        CALL_STIMULATION_LOST,
        CALL_STIMULATION_RESTORED,
        CALL_DISAPPEARED,
    ]
    restored, gone = calls[1], calls[2]
    assert restored.sample_index / RATE == 20.0 and restored.reported_at / RATE == 21.0
    assert gone.sample_index / RATE == 20.0 and gone.reported_at / RATE == 24.0
    assert "stimulation not confirmed" not in gone.text
    s = an.lsr_summary()
    assert (s["stimulation_lost_at_s"], s["stimulation_restored_at_s"]) == (10.0, 20.0)
    assert s["disappeared_at_s"] == 20.0


def test_stimulation_lost_after_the_lsr_was_called_gone_says_so():
    case = Case(seconds=30.0, lsr_gone_at_s=8.0, no_stimulation=(18.0, 99.0))
    an, calls, _ = run(case)
    assert [c.kind for c in calls] == [CALL_DISAPPEARED, CALL_STIMULATION_LOST]
    assert "The LSR, gone since 0:08, cannot be confirmed gone" in calls[1].text
    assert an.status_text() == "LSR gone since 0:08 (stimulation lost since 0:18)"
    assert an.lsr_summary()["disappeared_at_s"] == 8.0


def test_a_weaker_direct_response_alone_is_not_a_loss_while_the_lsr_persists():
    """The oculi recording goes bad (its direct response vanishes) but the LSR stays: the
    stimulus evidently reaches the nerve; no stimulation call, no disappearance."""
    case = Case(seconds=25.0)
    x = case.signal()
    y = dataclasses.replace(case, direct_uv=0.0).signal()
    x[round(10 * RATE) :, OCULI] = y[round(10 * RATE) :, OCULI]
    _, calls, sweeps = run(case, x)
    assert calls == []
    assert all(sw.stimulation == STIM_OK for sw in sweeps if sw.marker.index > 6 * RATE)


def test_stimulation_calls_raise_and_clear_the_technical_alarm():
    """Through the monitor's pipeline (every front end): the alarm ``stimulation_lost``."""
    from monitor.alarms import AlarmState
    from monitor.block import Block
    from monitor.pipeline import attach_pipeline
    from monitor.session import Session
    from monitor.source import EndOfStream, Source, SourceInfo

    case = Case(seconds=30.0, no_stimulation=(10.0, 20.0))
    x = case.signal()
    stims = case.stims()

    class Recorded(Source):
        def __init__(self) -> None:
            self.next = 0
            self._info = SourceInfo(name="test", rate=RATE, labels=LABELS, kind="replay")

        @property
        def info(self) -> SourceInfo:
            return self._info

        def open(self) -> None:
            pass

        def read(self) -> Block:
            if self.next >= len(x):
                raise EndOfStream
            i, n = self.next, 500
            self.next += n
            ms = tuple(StimMarker(s, 15.0, 0.2, case.site) for s in stims if i <= s < i + n)
            return Block(i, x[i : i + n], RATE, LABELS, ms)

        def close(self) -> None:
            pass

    source = Recorded()
    session = Session(source)
    session.open()
    pipeline = attach_pipeline(session, offline=True)
    raised = cleared = None
    while True:
        try:
            session.process(source.read())
        except EndOfStream:
            break
        alarm = next((a for a in pipeline.alarms.alarms() if a.key == "stimulation_lost"), None)
        if alarm is not None and raised is None:
            raised = source.next / RATE
            assert alarm.technical and alarm.text.startswith("Stimulation is not reaching")
        if (
            raised is not None
            and cleared is None
            and (alarm is None or not alarm.condition_present)
        ):
            cleared = source.next / RATE
    pipeline.flush()
    assert raised is not None and 12.0 <= raised < 12.2
    assert cleared is not None and 21.0 <= cleared < 21.2
    states = [t.new for t in pipeline.alarms.history if t.key == "stimulation_lost"]
    assert AlarmState.ACTIVE in states
    assert not [c for c in pipeline.evoked.calls() if c.kind == CALL_DISAPPEARED]


# -- laterality ----------------------------------------------------------------------------------
def test_a_contralateral_muscle_is_never_direct():
    """Both mentalis channels with the marginal mandibular branch stimulated on the left:
    the left one answers directly, the right one (a silent control) is an LSR channel."""
    case = Case(seconds=8.0, site="L marginal mandibular")
    _, _, sweeps = run(case)
    kinds = {r.label: r.kind for r in sweeps[-1].results}
    assert kinds["L Mentalis"] == "direct" and kinds["R Mentalis"] == "lsr"
    assert kinds["L Orb. oculi"] == "lsr"
    # Site unknown: the early-response rule applies on the stimulated side only.
    big = Case(seconds=8.0, site="")
    x = big.signal()
    d = _wave(RATE, 1.0, 12.0, biphasic=True)
    for idx in big.stims():
        a = idx + round(4 * RATE / 1000)
        x[a : a + len(d), CONTRA] += (800 * d).astype(np.float32)
    _, _, sweeps2 = run(big, x)
    kinds2 = {r.label: r.kind for r in sweeps2[-1].results}
    assert kinds2["L Orb. oculi"] == "direct" and kinds2["R Mentalis"] == "lsr"


# -- what the recording keeps ---------------------------------------------------------------------
def test_the_recordings_annotations_say_rejected_and_stimulation_lost_in_machine_words():
    """The per-stimulus annotation names each rejected channel's reason and a lost
    stimulation; those texts and the stimulation call's are the monitor's own words (a
    de-identified copy keeps them; the report does not take them for typed notes)."""
    from commands.machine_texts import TextPolicy, starts_like_machine
    from monitor.caserecording import sweep_texts

    case = Case(seconds=20.0, no_stimulation=(14.0, 99.0))
    x = case.signal()
    _cautery(x, 9.9, 0.3)
    _, calls, sweeps = run(case, x)
    by_time = {sw.marker.index / RATE: "".join(sweep_texts(sw)) for sw in sweeps}
    assert by_time[10.0].startswith("LSR #10: L Orb. oris rejected (cautery), ")
    assert "; direct L Orb. oculi rejected (cautery)" in by_time[10.0]
    assert re.search(r"; direct L Orb\. oculi \d+ uV$", by_time[9.0]), by_time[9.0]
    assert by_time[15.0].endswith("; stimulation lost")
    policy = TextPolicy(LABELS, set())
    texts = [*by_time.values(), *(c.text for c in calls)]
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST]
    assert all(starts_like_machine(t) and policy.keeps(t) for t in texts if t), [
        t for t in texts if t and not policy.keeps(t)
    ]


def test_a_baseline_set_during_a_stimulation_loss_does_not_end_it():
    """B pressed while the needle is out: the LSR baseline is retaken (nothing to watch),
    but the direct response's baseline stays, the loss stands, and it is restored (the
    alarm cleared) only when the direct response is back."""
    case = Case(seconds=30.0, no_stimulation=(10.0, 20.0))
    x = case.signal()
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(RATE, LABELS, on_call=calls.append)
    stims = case.stims()
    for i in range(0, len(x), 250):
        ms = [StimMarker(s, 15.0, 0.2, case.site) for s in stims if i <= s < i + 250]
        an.process(i, x[i : i + 250], ms)
        if i == round(15.5 * RATE):
            assert an.stimulation_state() == "lost"
            an.set_baseline()
            assert an.stimulation_state() == "lost" and an.direct_baseline().channels == (OCULI,)
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST, CALL_STIMULATION_RESTORED]
    assert calls[1].sample_index / RATE == 20.0


def test_no_disappearance_from_absent_sweeps_before_a_stimulation_loss():
    """The LSR goes at 8 s (4 absent sweeps, stimulation confirmed), the needle slips from
    12 to 20 s. The absent run does not survive the loss: "LSR disappeared" comes only on
    5 confirmed sweeps after the restore, dated from the first of them, never while the
    alarm stands."""
    case = Case(seconds=30.0, lsr_gone_at_s=8.0, no_stimulation=(12.0, 20.0))
    an, calls, _ = run(case)
    assert [c.kind for c in calls] == [
        CALL_STIMULATION_LOST,
        CALL_STIMULATION_RESTORED,
        CALL_DISAPPEARED,
    ]
    restored, gone = calls[1], calls[2]
    assert gone.reported_at > restored.reported_at
    assert gone.sample_index / RATE == 20.0 and gone.reported_at / RATE == 24.0
    assert "stimulation not confirmed" not in gone.text
    assert an.lsr_summary()["disappeared_at_s"] == 20.0


def test_unverified_sweeps_during_a_stimulation_loss_never_make_a_disappearance():
    """Needle out from 10 s; from 14 s the control channel itself is too noisy to judge
    (every sweep unverified). While the loss stands the LSR cannot be judged: no
    disappearance, the status says why."""
    case = Case(seconds=30.0, no_stimulation=(10.0, 99.0))
    x = case.signal()
    a = round(14 * RATE)
    rng = np.random.default_rng(5)
    x[a:, OCULI] += (80 * rng.standard_normal(len(x) - a)).astype(np.float32)
    an, calls, sweeps = run(case, x)
    assert [sw.stimulation for sw in sweeps if sw.marker.index >= 15 * RATE] == [
        "unverified"
    ] * 15  # the test's premise: nothing to check the stimulation by
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST]
    assert an.state() == "present" and an.lsr_summary()["disappeared_at_s"] is None
    assert an.status_text() == "LSR cannot be judged — stimulation lost since 0:10"


def test_a_current_change_during_a_stimulation_loss_does_not_make_the_alarm_stick():
    """Needle out at 10 s (15 mA); the team turns the current up to 20 mA at 14 s; the
    needle is back at 22 s. The new current has no direct baseline yet, but the LSR back
    shows the stimulus reaches the nerve: restored at 22 s, and the direct baseline at
    20 mA is taken once the direct response is there."""
    case = Case(seconds=34.0, no_stimulation=(10.0, 22.0))
    x = case.signal()
    calls: list[LsrCall] = []
    sweeps: list[Sweep] = []
    an = EvokedAnalyzer(RATE, LABELS, on_call=calls.append, on_sweep=sweeps.append)
    stims = case.stims()
    for i in range(0, len(x), 250):
        ms = [
            StimMarker(s, 15.0 if s < 14 * RATE else 20.0, 0.2, case.site)
            for s in stims
            if i <= s < i + 250
        ]
        an.process(i, x[i : i + 250], ms)
    an.flush()
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST, CALL_STIMULATION_RESTORED]
    assert calls[1].sample_index / RATE == 22.0 and calls[1].reported_at / RATE == 23.0
    assert all(sw.stimulation == STIM_OK for sw in sweeps if sw.marker.index >= 22 * RATE)
    assert an.stimulation_state() == "ok"
    assert an.stimulation_text().startswith("Stimulation OK — L Orb. oculi")
    b = an.direct_baseline()
    assert b is not None and b.current_ma == 20.0 and b.channels == (OCULI,)
    summary = an.lsr_summary()
    assert (summary["stimulation_lost_at_s"], summary["stimulation_restored_at_s"]) == (
        10.0,
        22.0,
    )


def test_a_long_stimulation_loss_does_not_keep_its_sweeps():
    """Hours of a lost stimulation (1 Hz, 16 channels) must not fill the memory: the lost
    sweeps are counted once the loss is called, not kept. The call and the restore still
    say when it began."""
    import tracemalloc

    from monitor.evoked.sweep import SweepResult
    from monitor.evoked.tracker import Observation, StimulationControl

    labels = ("L Orb. oculi", *(f"L Mentalis {k}" for k in range(15)))
    ctl = StimulationControl(labels, EvokedSettings(), lambda i: f"{i // 10_000}s")

    def obs(k: int, direct_uv: float) -> Observation:
        results = {
            ch: SweepResult(
                k,
                k * 10_000 + ch,
                ch,
                labels[ch],
                "direct" if ch == 0 else "lsr",
                present=ch == 0 and direct_uv > 0,
                latency_ms=4.0,
                amplitude_uv=direct_uv,
                area_uv_ms=None,
                peak_latency_ms=None,
                window_ptp_uv=direct_uv + k,
                noise_uv=3.0 + k,
                level_uv=30.0,
                current_ma=15.0,
                site="zygomatic",
            )
            for ch in range(len(labels))
        }
        o = Observation(k * 10_000, k, 15.0, "zygomatic", results)
        return dataclasses.replace(o, stimulation=ctl.verify(o, lsr_present=False))

    calls = []
    for k in range(8):
        calls += ctl.update(obs(k, 1000.0))
    assert ctl.state() == "ok"
    tracemalloc.start()
    try:
        for k in range(8, 8 + 6000):
            calls += ctl.update(obs(k, 0.0))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST]
    assert held < 2e6, held  # kept whole: 6000 sweeps of 16 results, about 30 MB
    for k in range(8 + 6000, 8 + 6002):
        calls += ctl.update(obs(k, 1000.0))
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST, CALL_STIMULATION_RESTORED]
    assert calls[0].sample_index == 80_000 and "(lost since 8s)" in calls[1].text
    assert ctl.summary(10_000.0)["stimulation_lost_at_s"] == 8.0


# -- gaps and seeks ----------------------------------------------------------------------------
def _feed_with_seek(case: Case, seek_at_s: float, jump_s: float):
    """The case up to ``seek_at_s``, then the rest of it as if ``jump_s`` later (a replay's
    seek, or a long gap in the stream)."""
    x = case.signal()
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(RATE, LABELS, on_call=calls.append)
    stims = case.stims()
    cut, shift = round(seek_at_s * RATE), round(jump_s * RATE)
    for i in range(0, len(x), 250):
        ms = [StimMarker(s, 15.0, 0.2, case.site) for s in stims if i <= s < i + 250]
        off = shift if i >= cut else 0
        an.process(
            i + off, x[i : i + 250], [dataclasses.replace(m, index=m.index + off) for m in ms]
        )
    an.flush()
    return an, calls


def test_runs_of_sweeps_do_not_go_on_across_a_seek():
    """The LSR is absent on 4 sweeps (9-12 s), then the replay jumps 287.5 s on: the
    disappearance is called on 5 absent sweeps after the jump, dated from the first of
    them, never dated before it; the same for 2 lost sweeps before a jump and the
    stimulation loss."""
    jump = 287.5
    an, calls = _feed_with_seek(Case(seconds=20.0, lsr_gone_at_s=9.0), 12.5, jump)
    assert [c.kind for c in calls] == [CALL_DISAPPEARED]
    assert calls[0].sample_index / RATE == 13.0 + jump
    assert calls[0].reported_at / RATE == 17.0 + jump
    assert an.lsr_summary()["disappeared_at_s"] == 13.0 + jump
    _, calls = _feed_with_seek(Case(seconds=20.0, no_stimulation=(11.0, 99.0)), 12.5, jump)
    assert [c.kind for c in calls] == [CALL_STIMULATION_LOST]
    assert calls[0].sample_index / RATE == 13.0 + jump
    assert calls[0].reported_at / RATE == 15.0 + jump


# -- a mains-hum fit that cannot be trusted -------------------------------------------------------
HUM_UV = 30.0 * np.sqrt(1 + 0.35**2 + 0.2**2)  # Case's hum of 30 µV, harmonics included


@pytest.mark.parametrize("after_ms", [44.0, 46.0, 50.0, 55.0])
def test_a_pulse_just_after_the_stream_began_is_judged_with_its_hum_not_a_wild_fit(after_ms):
    """40-55 ms of signal before the pulse (the fit's rows: a few ms): the fit once raised
    out of ``process`` (the session then switched the analyzer off for the case) or
    removed 1e4-1e8 µV of "hum" (every channel rejected as movement). Now nothing is
    removed: the sweep is judged, its hum in its noise level, and nothing is present."""
    x = Case(seconds=1.0, hum_uv=30.0, lsr_uv=0.0, direct_uv=0.0).signal()
    an = EvokedAnalyzer(RATE, LABELS)
    idx = round(after_ms * RATE / 1000)
    an.process(0, x[: idx + 2000], [StimMarker(idx, 15.0, 0.2, "zygomatic")])
    an.flush()
    rs = an.results()
    assert len(rs) == len(LABELS)
    assert all(r.hum_uv <= HUM_UV * 1.1 for r in rs), [r.hum_uv for r in rs]
    assert all(r.rejected not in ("movement", "cautery") for r in rs)
    assert not any(r.present for r in rs)


def test_a_pulse_just_after_a_resume_leaves_the_mains_tracking_alone():
    """The stream resumes 44 ms before the pulse at 6 s (after 1 s missing): that sweep's
    fit is not made; the mains frequency stays, and the next sweeps find the LSR in its
    20 µV of hum again."""
    case = Case(seconds=12.0, hum_uv=20.0)
    x = case.signal()
    stims = case.stims()
    an = EvokedAnalyzer(RATE, LABELS)
    resume = round(5.956 * RATE)
    for a, b in ((0, resume - round(1.0 * RATE)), (resume, len(x))):
        for i in range(a, b, 250):
            j = min(b, i + 250)
            an.process(
                i, x[i:j], [StimMarker(s, 15.0, 0.2, case.site) for s in stims if i <= s < j]
            )
    an.flush()
    at6 = [r for r in an.results() if r.stim_index == round(6.0 * RATE)]
    assert [r.hum_uv for r in at6] == [0.0] * 4 and "movement" not in {r.rejected for r in at6}
    assert an.lsr_summary()["mains_hz"] == pytest.approx(50.0, abs=0.1)
    later = lsr_results(an, MENTALIS, after_s=7.0)
    assert len(later) == 5 and all(r.present and r.hum_uv > 15.0 for r in later)


@pytest.mark.parametrize(("mains_hz", "stim_hz"), [(50.0, 25.0), (60.0, 30.0), (50.0, 30.0)])
def test_stimulation_locked_to_the_mains_never_makes_a_huge_hum(mains_hz, stim_hz):
    """At 25 Hz with 50 Hz mains (30 Hz with 60 Hz) the rows between the pulses' responses
    all fall at one phase of the hum: the fit cannot be made, and nothing is removed (it
    once removed up to 1e8 µV and turned the mains choice). At 30 Hz with 50 Hz mains the
    rows cover the cycle: the hum is removed and the sweeps judged."""
    rng = np.random.default_rng(3)
    n = round(4.0 * RATE)
    sos = signal.butter(2, [10.0, 4000.0], "bandpass", fs=RATE, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal((n, len(LABELS))), axis=0)
    x *= 3.0 / x.std(axis=0)
    t = np.arange(n) / RATE
    for ch in range(len(LABELS)):
        for h, rel in ((1, 1.0), (3, 0.35), (5, 0.2)):
            x[:, ch] += 30.0 * rel * np.sin(2 * np.pi * h * mains_hz * t + rng.uniform(0, 6.3))
    stims = [round(s * RATE) for s in np.arange(1.0, 3.9, 1.0 / stim_hz)]
    for s in stims:
        x[s : s + 2] += 500.0
    x = x.astype(np.float32)
    sweeps: list[Sweep] = []
    an = EvokedAnalyzer(RATE, LABELS, on_sweep=sweeps.append)
    for i in range(0, n, 250):
        an.process(
            i,
            x[i : i + 250],
            [StimMarker(s, 15.0, 0.2, "zygomatic") for s in stims if i <= s < i + 250],
        )
    an.flush()
    hum = np.array([r.hum_uv for r in an.results()])
    assert len(hum) == 4 * len(stims)
    assert hum.max() <= HUM_UV * 1.1, hum.max()
    assert all(sw.mains_hz in (0.0,) or abs(sw.mains_hz - mains_hz) < 0.5 for sw in sweeps)
    assert an.lsr_summary()["mains_hz"] == pytest.approx(mains_hz, abs=0.1)
    if (mains_hz, stim_hz) == (50.0, 30.0):
        assert np.median(hum) == pytest.approx(HUM_UV, rel=0.1)
        assert sum(bool(r.rejected) for r in an.results()) <= 0.05 * len(hum)


# -- one dead channel ---------------------------------------------------------------------------
def test_one_dead_channel_leaves_the_others_judged():
    """The contralateral mentalis goes dead (invalid samples) at 8 s: its sweeps are
    rejected (gap); the others keep their hum removal, their responses, the stimulation
    control and the screening (a clip on the mentalis at 12 s is still saturation). It once
    made every channel "no pre-stimulus signal" for the rest of the case."""
    case = Case(seconds=16.0, hum_uv=20.0)
    x = case.signal()
    x[round(8 * RATE) :, CONTRA] = np.nan
    a = round(12.009 * RATE)
    x[a : a + 30, MENTALIS] = 2000.0
    an, calls, sweeps = run(case, x)
    late = [sw for sw in sweeps if sw.marker.index >= 9 * RATE]
    assert len(late) == 7 and calls == []
    for sw in late:
        assert sw.results[CONTRA].rejected == "gap"
        assert sw.stimulation == STIM_OK
        clipped = sw.marker.index == round(12 * RATE)
        for ch in (OCULI, ORIS, MENTALIS):
            r = sw.results[ch]
            assert r.hum_uv > 15.0
            if clipped and ch == MENTALIS:
                assert r.rejected == "saturation"
            else:
                assert r.present and not r.rejected, (sw.marker.index / RATE, r)
    assert an.status_text().startswith("LSR present")


# -- averaging ----------------------------------------------------------------------------------
def test_an_implausible_sweep_stays_out_of_the_average():
    """Averaging 4: one sweep carries a 2.5 mV "LSR" (25x its baseline). It is rejected on
    its own and never enters the mean (diluted there to 700 µV it passed as a response and
    scaled the trend for four sweeps)."""
    case = Case(seconds=16.0)
    x = case.signal()
    lsr = _wave(RATE, 0.8, 10.0, biphasic=True)
    a = round(10.0095 * RATE)
    x[a : a + len(lsr), MENTALIS] += (2500 * lsr).astype(np.float32)
    _, _, sweeps = run(case, x, settings=EvokedSettings(average_n=4))
    by_time = {sw.marker.index / RATE: sw.results[MENTALIS] for sw in sweeps}
    assert by_time[10.0].rejected == "implausible amplitude"
    for s in (8.0, 9.0, 11.0, 12.0, 13.0, 14.0, 15.0):
        r = by_time[s]
        assert r.present and r.n_averaged == 4 and r.amplitude_uv == pytest.approx(100, rel=0.15)
