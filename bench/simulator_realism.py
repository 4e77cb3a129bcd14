"""Realism check of the EMG simulator (simulation/emgsynth.py) against real EMG recordings.

Loads the public EMG in ``../shared/data/emg`` (PhysioNet concentric-needle EMG at 4 kHz,
mouse diaphragm at 5 kHz, SpikerBox surface EMG, a tattoo-electrode biceps at 1 kHz), renders
simulator signal at the same rates (quiet baseline, and runs of forced spikes, bursts,
A-trains and C-trains), filters both the same way (zero-phase 2nd-order Butterworth,
20 Hz - 0.45 fs) and compares spectra, amplitude statistics, single-potential shape and
train regularity. None of the real recordings is facial or intraoperative: the comparison
is about waveform physics (needle MUAP shape, spectra, noise), not about clinical content.

Run: ``.venv/bin/python bench/simulator_realism.py [--no-figures]``. Figures go to
``docs/img/realism-*.png`` when matplotlib is installed; the last line printed is JSON.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal, stats

from simulation.emgsynth import EmgSynth, SimConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EMG = DATA / "emg"
IMG = ROOT / "docs" / "img"


SEED = 20240611
BANDS: tuple[tuple[float, float], ...] = ((20, 150), (150, 500), (500, 2000))
DETECT_K = 5.0  # detection threshold in robust noise SDs (median |y| / 0.6745)
DEAD_MS = 4.0  # minimum spacing of two detected potentials
ISOLATION_MS = 10.0  # a potential used for shape metrics has no other detection this close


# -- signals -------------------------------------------------------------------------------
@dataclass
class Rec:
    """A filtered recording (or simulator run) cut into usable segments."""

    name: str
    fs: float
    unit: str
    segments: list[np.ndarray]  # filtered, artefact-free pieces
    note: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(len(s) for s in self.segments) / self.fs


def bandpass(x: np.ndarray, fs: float, hp: float = 20.0) -> np.ndarray:
    """The common filter: zero-phase Butterworth, order 2 per edge, ``hp`` to 0.45 fs."""
    sos = signal.butter(2, [hp, 0.45 * fs], "bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, np.asarray(x, dtype=np.float64))


def cut(x: np.ndarray, fs: float, bad_s: list[tuple[float, float]]) -> list[np.ndarray]:
    """Filter ``x`` and return the pieces outside the ``bad_s`` intervals (seconds)."""
    keep = np.ones(len(x), dtype=bool)
    for a, b in bad_s:
        keep[max(0, int(a * fs)) : int(b * fs)] = False
    edges = np.flatnonzero(np.diff(np.r_[0, keep.astype(np.int8), 0]))
    pieces = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a > fs * 0.5:  # filter each piece separately: no ringing across a cut
            pieces.append(bandpass(x[a:b], fs))
    return pieces


def _csv(path: Path, col: int = 1, header: bool = True) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1 if header else 0, usecols=col)


def load_real() -> dict[str, Rec]:
    """The real recordings, filtered, artefacts cut out (see ../shared/data/README.md §1)."""
    out: dict[str, Rec] = {}
    pn = EMG / "physionet_emgdb"
    bad = {
        "healthy": [],
        "myopathy": [(16.6, 17.2)],  # amplifier blocking / splice
        "neuropathy": [(18.3, 18.9)]
        + [(t - 0.05, t + 0.05) for t in (12.224, 16.648, 32.091)],  # blocking, wrap-around
    }
    for cond, bad_s in bad.items():
        x = _csv(pn / f"emg_{cond}.csv") * 1000.0  # mV -> µV
        out[f"needle_{cond}"] = Rec(
            f"needle_{cond}",
            4000.0,
            "µV",
            cut(x, 4000.0, bad_s),
            "PhysioNet emgdb, concentric needle, tibialis anterior",
        )
    m = _csv(EMG / "emghelper_mouse_diaphragm" / "EMG_data.csv") * 1000.0
    out["mouse_diaphragm"] = Rec(
        "mouse_diaphragm", 5000.0, "µV", cut(m, 5000.0, []), "6 bursts + ECG spikes"
    )
    sb = EMG / "spikerbox_biceps_44k"
    for name in ("amp_on_baseline", "amp_off", "pulse_1"):
        x = _csv(sb / f"{name}.csv", 0)
        x10 = signal.resample_poly(x - x.mean(), 100, 441)  # 44.1 kHz -> 10 kHz
        out[f"spikerbox_{name}"] = Rec(
            f"spikerbox_{name}", 10_000.0, "counts", cut(x10, 10_000.0, []), "surface, 10 kHz"
        )
    t = np.loadtxt(EMG / "tugraz_biceps_tattoo" / "bbcontractions.csv")
    out["tattoo_rest"] = Rec(
        "tattoo_rest", 1000.0, "a.u.", [bandpass(t[500:9000], 1000.0)], "surface, 1 kHz, rest"
    )
    out["tattoo_active"] = Rec(
        "tattoo_active", 1000.0, "a.u.", [bandpass(t[10_000:19_000], 1000.0)], "contraction"
    )
    return out


def quiet_config(rate: float, seed: int) -> SimConfig:
    """One channel, no spontaneous events, no stimulator: only what the bench forces."""
    return SimConfig(
        rate=rate,
        labels=("L Orb. oris",),
        seed=seed,
        spikes_per_min=0.0,
        bursts_per_min=0.0,
        a_trains_per_min=0.0,
        b_trains_per_min=0.0,
        c_trains_per_min=0.0,
        cautery_per_min=0.0,
        stim_rate_hz=0.0,
    )


def simulate(rate: float, kind: str | None, seed: int = SEED) -> Rec:
    """A simulator run: ``kind`` None is quiet baseline, else a series of forced events."""
    synth = EmgSynth(quiet_config(rate, seed))
    rng = np.random.default_rng(seed)
    plan = {  # kind: (count, spacing s, duration s or None = simulator's own draw)
        None: (0, 20.0, None),
        "spike": (150, 0.2, None),
        "burst": (40, 0.6, None),
        "a_train": (12, 1.6, 1.0),
        "c_train": (8, 2.5, 2.0),
    }
    count, spacing, dur = plan[kind]
    t = 1.0
    for _ in range(count if kind is not None else 0):
        synth.add_event(kind, t + float(rng.uniform(0, 0.05)), 0, duration_s=dur)
        t += spacing
    n = int((t + 0.5 if count else spacing) * rate)
    x, _ = synth.render(0, n)
    name = f"sim_{kind or 'baseline'}_{rate / 1000:g}k"
    events = [(e.onset, e.offset, e.freq_hz) for e in synth.truth]
    return Rec(name, rate, "µV", [bandpass(x[:, 0], rate)], "", {"events": events})


# -- metrics -------------------------------------------------------------------------------
def psd(rec: Rec, res_hz: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD averaged over segments (weighted by length)."""
    nper = int(rec.fs / res_hz)
    acc, wsum, f = None, 0.0, np.zeros(0)
    for s in rec.segments:
        if len(s) < nper:
            continue
        f, p = signal.welch(s, rec.fs, nperseg=nper)
        acc = p * len(s) if acc is None else acc + p * len(s)
        wsum += len(s)
    assert acc is not None
    return f, acc / wsum


def potential_spectrum(waves: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean energy spectrum of normalised isolated potentials: the central ±6 ms,
    linearly detrended, Tukey-tapered, zero-padded (the short span keeps neighbours out)."""
    mid, h = waves.shape[1] // 2, int(0.006 * fs)
    core = signal.detrend(waves[:, mid - h : mid + h + 1], axis=1)  # off a slow background
    taper = signal.windows.tukey(core.shape[1], 0.5)
    nfft = int(fs / 4.0)
    spec = np.abs(np.fft.rfft(core * taper, n=nfft, axis=1)) ** 2
    return np.fft.rfftfreq(nfft, 1 / fs), spec.mean(0)


def quiet_psd(rec: Rec, win_ms: float = 50.0, frac: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Mean periodogram of the quietest ``frac`` of ``win_ms`` windows (inter-potential
    background: in needle EMG an upper bound on the instrument noise)."""
    n = int(win_ms * rec.fs / 1000)
    wins = np.concatenate([s[: len(s) // n * n].reshape(-1, n) for s in rec.segments])
    rms = np.sqrt((wins**2).mean(1))
    pick = wins[rms <= np.quantile(rms, frac)]
    f, p = signal.periodogram(pick, rec.fs, window="hann", axis=1)
    return f, p.mean(0)


def spectral_shape(f: np.ndarray, p: np.ndarray, fs: float) -> dict[str, float]:
    """Centroid, median frequency and band fractions within 20 Hz - min(2 kHz, 0.45 fs)."""
    top = min(2000.0, 0.45 * fs)
    m = (f >= 20) & (f <= top)
    ff, pp = f[m], p[m]
    tot = pp.sum()
    cum = np.cumsum(pp) / tot
    out = {
        "centroid_hz": float((ff * pp).sum() / tot),
        "median_hz": float(ff[np.searchsorted(cum, 0.5)]),
    }
    for lo, hi in BANDS:
        key = f"frac_{lo}_{hi}"
        out[key] = float(pp[(ff >= lo) & (ff < hi)].sum() / tot) if lo < top else float("nan")
    return out


def line_prominence_db(rec: Rec, mains: float) -> float:
    """Power at the mains frequency over the median of 10-30 Hz either side, in dB."""
    f, p = psd(rec, 1.0)
    i = int(np.argmin(np.abs(f - mains)))
    near = np.r_[p[max(i - 30, 1) : i - 10], p[i + 11 : i + 31]]
    return float(10 * np.log10(p[i] / np.median(near)))


def amplitude_stats(rec: Rec) -> dict[str, float]:
    """RMS, excess kurtosis and crest factor (median over 1 s windows of max|y| / RMS)."""
    y = np.concatenate(rec.segments)
    win = int(rec.fs)
    crest = [
        np.abs(w).max() / np.sqrt(np.mean(w * w))
        for w in (y[i : i + win] for i in range(0, len(y) - win + 1, win))
    ]
    w25 = int(0.025 * rec.fs)
    r25 = np.sqrt((y[: len(y) // w25 * w25].reshape(-1, w25) ** 2).mean(1))
    return {
        "rms": float(np.sqrt(np.mean(y * y))),
        "kurtosis": float(stats.kurtosis(y)),
        "crest": float(np.median(crest)) if crest else float("nan"),
        "quietest_25ms_rms_p5": float(np.percentile(r25, 5)),
    }


def detect(y: np.ndarray, fs: float, k: float = DETECT_K) -> tuple[np.ndarray, float]:
    """Peaks of |y| above k robust SDs, at least DEAD_MS apart."""
    thr = k * float(np.median(np.abs(y))) / 0.6745
    idx, _ = signal.find_peaks(np.abs(y), height=thr, distance=max(1, int(DEAD_MS * fs / 1000)))
    return idx, thr


def _run_edge(sub: np.ndarray, start: int, step: int, need: int) -> int:
    """Walk from ``start`` by ``step`` until ``need`` consecutive True; return the last
    False before that run (the outermost supra-threshold sample)."""
    run, last, i = 0, start, start
    while 0 <= i < len(sub):
        if sub[i]:
            run += 1
            if run >= need:
                return last
        else:
            run, last = 0, i
        i += step
    return last


def _cross(w: np.ndarray, i: int, level: float, step: int) -> float:
    """Fractional index where |w| first drops below ``level`` walking from ``i``."""
    j = i
    while (
        0 <= j + step < len(w)
        and abs(w[j + step]) >= level
        and np.sign(w[j + step]) == np.sign(w[i])
    ):
        j += step
    if not 0 <= j + step < len(w):
        return float(j)
    a, b = abs(w[j]), abs(w[j + step]) if np.sign(w[j + step]) == np.sign(w[i]) else 0.0
    return j + step * (a - level) / (a - b) if a != b else float(j)


def muap_shape(w: np.ndarray, c: int, fs: float) -> dict[str, float]:
    """Shape of the potential whose main peak is ``w[c]`` (``w`` is a filtered window).

    Duration: span where |w| exceeds 10 % of peak-to-peak, ended by 1 ms below it.
    Phases: baseline crossings (hysteresis 5 % p-p) inside that span, plus one.
    Turns: peaks and troughs of prominence >= 10 % p-p inside the span.
    FWHM: width of the main peak at half its height; rise: its 10-90 % leading edge.
    """
    ms = fs / 1000.0
    core = w[max(0, c - int(3 * ms)) : c + int(3 * ms) + 1]
    p2p = float(core.max() - core.min())
    below = np.abs(w) < 0.1 * p2p
    need = max(2, round(1.0 * ms))
    a = _run_edge(below, c, -1, need)
    b = _run_edge(below, c, 1, need)
    seg = w[a : b + 1]
    h = 0.05 * p2p
    signs = np.sign(seg[np.abs(seg) > h])
    phases = 1 + int(np.count_nonzero(np.diff(signs))) if signs.size else 1
    prom = 0.1 * p2p
    turns = len(signal.find_peaks(seg, prominence=prom)[0]) + len(
        signal.find_peaks(-seg, prominence=prom)[0]
    )
    peak = abs(w[c])
    left = _cross(w, c, 0.5 * peak, -1)
    right = _cross(w, c, 0.5 * peak, 1)
    r10, r90 = _cross(w, c, 0.1 * peak, -1), _cross(w, c, 0.9 * peak, -1)
    return {
        "p2p": p2p,
        "duration_ms": (b - a + 1) / ms,
        "phases": float(phases),
        "turns": float(turns),
        "fwhm_ms": (right - left) / ms,
        "rise_ms": (r90 - r10) / ms,
    }


def potentials(rec: Rec, only: list[tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    """Detect potentials; return p2p of all and shape metrics of isolated ones."""
    ms = rec.fs / 1000.0
    half = int(12 * ms)
    p2p_all: list[float] = []
    shapes: list[dict[str, float]] = []
    waves: list[np.ndarray] = []
    offset = 0
    for s in rec.segments:
        idx, _ = detect(s, rec.fs)
        if only is not None:  # simulator: keep detections inside ground-truth events
            ok = np.zeros(len(idx), dtype=bool)
            for on, off in only:
                ok |= (idx + offset >= on) & (idx + offset < off)
            idx = idx[ok]
        for j, c in enumerate(idx):
            if c < half or c + half >= len(s):
                continue
            core = s[c - int(3 * ms) : c + int(3 * ms) + 1]
            p2p_all.append(float(core.max() - core.min()))
            prev_gap = c - idx[j - 1] if j > 0 else 10**9
            next_gap = idx[j + 1] - c if j + 1 < len(idx) else 10**9
            if min(prev_gap, next_gap) < ISOLATION_MS * ms:
                continue
            w = s[c - half : c + half + 1]
            shapes.append(muap_shape(w, half, rec.fs))
            waves.append(w * np.sign(w[half]) / shapes[-1]["p2p"])
        offset += len(s)
    out = {"p2p": np.array(p2p_all)}
    for key in ("duration_ms", "phases", "turns", "fwhm_ms", "rise_ms"):
        out[key] = np.array([d[key] for d in shapes])
    out["waves"] = np.array(waves) if waves else np.zeros((0, 2 * half + 1))
    return out


def summarise_potentials(pot: dict[str, np.ndarray]) -> dict[str, float]:
    p2p = pot["p2p"]
    n_iso = len(pot["phases"])
    out = {
        "n_detected": float(len(p2p)),
        "n_isolated": float(n_iso),
        "p2p_p10": float(np.percentile(p2p, 10)) if len(p2p) else float("nan"),
        "p2p_p50": float(np.percentile(p2p, 50)) if len(p2p) else float("nan"),
        "p2p_p90": float(np.percentile(p2p, 90)) if len(p2p) else float("nan"),
        "p2p_log10_sd": float(np.std(np.log10(p2p))) if len(p2p) else float("nan"),
    }
    for key in ("duration_ms", "fwhm_ms", "rise_ms", "phases", "turns"):
        out[f"{key}_median"] = float(np.median(pot[key])) if n_iso else float("nan")
    out["polyphasic_frac"] = float(np.mean(pot["phases"] > 4)) if n_iso else float("nan")
    return out


def train_stats(y: np.ndarray, fs: float, idx: np.ndarray, half_ms: float = 2.0) -> dict:
    """Regularity and sameness of one unit's successive discharges (peak indices ``idx``)."""
    h = int(half_ms * fs / 1000)
    idx = idx[(idx >= h) & (idx + h < len(y))]
    isi = np.diff(idx) / fs
    isi = isi[isi < 3 * np.median(isi)]  # gaps between trains are not intervals
    w = np.array([y[i - h : i + h + 1] for i in idx])
    p2p = w.max(1) - w.min(1)
    tmpl = w.mean(0)
    corr = np.array([np.corrcoef(v, tmpl)[0, 1] for v in w])
    scale = (w @ tmpl) / (tmpl @ tmpl)
    resid = w - scale[:, None] * tmpl
    return {
        "n": len(idx),
        "rate_hz": float(1 / np.median(isi)),
        "isi_cv": float(np.std(isi) / np.mean(isi)),
        "p2p_cv": float(np.std(p2p) / np.mean(p2p)),
        "corr_median": float(np.median(corr)),
        "shape_resid": float(np.sqrt(np.mean(resid**2)) / np.sqrt(np.mean(tmpl**2))),
        "_waves": w,
        "_isi": isi,
    }


def neuropathy_unit(rec: Rec) -> tuple[np.ndarray, np.ndarray]:
    """The large, regularly firing unit in the first 11 s of the neuropathy record."""
    y = rec.segments[0][: int(11.5 * rec.fs)]
    idx, _ = signal.find_peaks(-y, height=1200.0, distance=int(0.03 * rec.fs))
    return y, idx


def a_train_units(rec: Rec) -> list[tuple[np.ndarray, float]]:
    """Per simulated A-train: the indices of its potentials and its frequency."""
    y = rec.segments[0]
    out = []
    for on, off, freq in rec.meta["events"]:
        seg = y[on:off]
        period = int(rec.fs / freq)
        pol = 1.0 if seg.max() >= -seg.min() else -1.0  # align on the dominant phase
        idx, _ = signal.find_peaks(pol * seg, distance=max(1, int(0.7 * period)))
        idx = idx[pol * seg[idx] > 0.4 * np.abs(seg).max()]
        out.append((idx + on, float(freq)))
    return out


# -- comparisons ---------------------------------------------------------------------------
NEEDLE = ("needle_healthy", "needle_myopathy", "needle_neuropathy")
SPEC_COLS = ["centroid_hz", "median_hz", "frac_20_150", "frac_150_500", "frac_500_2000"]


@dataclass
class Results:
    """Everything computed, for the tables, the figures and the JSON line."""

    real: dict[str, Rec]
    sims: dict[str, Rec]
    spectra: dict[str, dict[str, float]] = field(default_factory=dict)
    spectra_local: dict[str, dict[str, float]] = field(default_factory=dict)
    amps: dict[str, dict[str, float]] = field(default_factory=dict)
    mains: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    pots: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    pot_summary: dict[str, dict[str, float]] = field(default_factory=dict)
    trains: dict[str, dict] = field(default_factory=dict)

    def rec(self, key: str) -> Rec:
        return self.real[key] if key in self.real else self.sims[key]


def compare_spectra(res: Results) -> None:
    for rec in [*res.real.values(), *res.sims.values()]:
        if rec.name != "spikerbox_amp_off":
            f, p = psd(rec)
            res.spectra[rec.name] = spectral_shape(f, p, rec.fs)


def compare_amplitudes(res: Results) -> None:
    for rec in [*res.real.values(), *res.sims.values()]:
        res.amps[rec.name] = amplitude_stats(rec)
    for key, hz in (
        ("tattoo_rest", 50.0),
        ("needle_healthy", 50.0),
        ("needle_healthy", 60.0),
        ("spikerbox_amp_on_baseline", 60.0),
        ("sim_baseline_10k", 50.0),
        ("sim_baseline_1k", 50.0),
    ):
        res.mains[f"{key}@{hz:g}"] = line_prominence_db(res.rec(key), hz)
    a = res.amps
    for label, num, den in (
        ("needle_healthy rms / quietest 25 ms", "needle_healthy", None),
        ("spikerbox pulse_1 / amp_on_baseline", "spikerbox_pulse_1", "spikerbox_amp_on_baseline"),
        ("spikerbox amp_on_baseline / amp_off", "spikerbox_amp_on_baseline", "spikerbox_amp_off"),
        ("tattoo active / rest", "tattoo_active", "tattoo_rest"),
        ("sim c_train / baseline (10k)", "sim_c_train_10k", "sim_baseline_10k"),
        ("sim a_train / baseline (10k)", "sim_a_train_10k", "sim_baseline_10k"),
    ):
        ref = a[num]["quietest_25ms_rms_p5"] if den is None else a[den]["rms"]
        res.ratios[label] = a[num]["rms"] / ref


def compare_potentials(res: Results) -> None:
    for key in NEEDLE:
        res.pots[key] = potentials(res.real[key])
    for rate in ("4k", "10k"):
        rec = res.sims[f"sim_spike_{rate}"]
        res.pots[rec.name] = potentials(rec, [(a, b) for a, b, _ in rec.meta["events"]])
    res.pot_summary = {k: summarise_potentials(v) for k, v in res.pots.items()}
    for key, pot in res.pots.items():
        fs = res.rec(key).fs
        f, p = potential_spectrum(pot["waves"], fs)
        res.spectra_local[f"{key} potentials"] = spectral_shape(f, p, fs)
    for key in (*NEEDLE, "sim_baseline_4k", "sim_baseline_10k"):
        f, p = quiet_psd(res.rec(key))
        res.spectra_local[f"{key} quiet 10%"] = spectral_shape(f, p, res.rec(key).fs)


def compare_trains(res: Results) -> None:
    y, idx = neuropathy_unit(res.real["needle_neuropathy"])
    res.trains["needle_neuropathy_unit"] = train_stats(y, 4000.0, idx)
    keys = ("n", "rate_hz", "isi_cv", "p2p_cv", "corr_median", "shape_resid")
    for rate in ("4k", "10k"):
        rec = res.sims[f"sim_a_train_{rate}"]
        per = [train_stats(rec.segments[0], rec.fs, i) for i, _ in a_train_units(rec)]
        out: dict = {k: float(np.median([s[k] for s in per])) for k in keys}
        out["_waves"] = per[0]["_waves"]
        out["_isi"] = np.concatenate([s["_isi"] / np.median(s["_isi"]) for s in per])
        res.trains[rec.name] = out


# -- figures -------------------------------------------------------------------------------
ACTIVE_STYLES = (
    ("needle_healthy", "C0-"),
    ("needle_myopathy", "C1-"),
    ("needle_neuropathy", "C2-"),
    ("sim_spike_4k", "k-"),
    ("sim_burst_4k", "k--"),
    ("sim_a_train_4k", "k:"),
    ("sim_c_train_4k", "C3-"),
)


def _unit(f: np.ndarray, p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``p[m]`` scaled to unit power over ``f[m]`` (a density in 1/Hz, grid-independent)."""
    return p[m] / np.trapezoid(p[m], f[m])


def _fig_psd(plt: Any, res: Results) -> Path:
    """PSD overlay, each curve normalised to unit power in the compared band."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ax = axes[0]
    for key, style in ACTIVE_STYLES:
        f, p = psd(res.rec(key))
        m = (f >= 20) & (f <= 1800)
        ax.loglog(f[m], _unit(f, p, m), style, lw=1.1, label=key)
    ax.set(title="Whole signal at 4 kHz", xlabel="Hz", ylabel="PSD / band power (1/Hz)")
    ax.set_ylim(2e-7, 2e-2)
    ax.legend(fontsize=7)
    ax = axes[1]
    for key, style in (*ACTIVE_STYLES[:3], ACTIVE_STYLES[3]):
        f, p = potential_spectrum(res.pots[key]["waves"], 4000.0)
        m = (f >= 20) & (f <= 1800)
        ax.loglog(f[m], _unit(f, p, m), style, lw=1.1, label=key)
    ax.set(title="Isolated potentials (mean energy spectrum, ±6 ms)", xlabel="Hz")
    ax.set_ylim(2e-7, 2e-2)
    ax.legend(fontsize=7)
    ax = axes[2]
    for key, style, quiet in (
        ("needle_healthy", "C0-", True),
        ("needle_neuropathy", "C2-", True),
        ("sim_baseline_4k", "k-", True),
        ("tattoo_rest", "C1--", False),
        ("sim_baseline_1k", "k--", False),
    ):
        rec = res.rec(key)
        f, p = quiet_psd(rec) if quiet else psd(rec)
        m = (f >= 20) & (f <= 0.45 * rec.fs)
        label = f"{key}{' quiet 10%' if quiet else ''} ({rec.fs / 1000:g} kHz)"
        ax.loglog(f[m], _unit(f, p, m), style, lw=1.1, label=label)
    ax.set(title="Baseline / quiet background", xlabel="Hz")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = IMG / "realism-psd.png"
    fig.savefig(path, dpi=100)
    return path


def _fig_waveforms(plt: Any, res: Results) -> Path:
    """300 ms of each signal at 4 kHz, same time scale."""
    fig, axes = plt.subplots(len(ACTIVE_STYLES), 1, figsize=(11, 10), sharex=True)
    for ax, (key, _) in zip(axes, ACTIVE_STYLES, strict=True):
        rec = res.rec(key)
        # real: from 5 s; simulator: 20 ms before the second forced event
        i0 = int(5.0 * rec.fs) if key in res.real else rec.meta["events"][1][0] - int(0.02 * rec.fs)
        n = int(0.3 * rec.fs)
        ax.plot(np.arange(n) / rec.fs * 1000, rec.segments[0][i0 : i0 + n], lw=0.7, color="k")
        ax.set_ylabel("µV", fontsize=7)
        ax.tick_params(labelsize=7)
        box = {"fc": "white", "ec": "none", "alpha": 0.8}
        ax.text(0.005, 0.85, key, transform=ax.transAxes, fontsize=8, bbox=box)
    axes[-1].set_xlabel("ms")
    fig.suptitle("300 ms of each signal at 4 kHz (own amplitude scale)", fontsize=10)
    fig.tight_layout()
    path = IMG / "realism-waveforms.png"
    fig.savefig(path, dpi=110)
    return path


def _fig_muaps(plt: Any, res: Results) -> Path:
    """Isolated potentials overlaid (normalised, aligned on the main peak) + histograms."""
    keys = [*NEEDLE, "sim_spike_4k"]
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.2))
    rng = np.random.default_rng(0)
    for ax, key in zip(axes[0], keys, strict=True):
        w = res.pots[key]["waves"]
        t = (np.arange(w.shape[1]) - w.shape[1] // 2) / 4.0
        for i in rng.choice(len(w), size=min(40, len(w)), replace=False):
            ax.plot(t, w[i], lw=0.5, alpha=0.5, color="k" if "sim" in key else "C0")
        ax.set(title=f"{key} (n={len(w)})", xlabel="ms", ylim=(-1.1, 1.1))
    hist_bins = {
        "fwhm_ms": np.arange(0, 3.01, 0.125),
        "duration_ms": np.arange(0, 20.1, 0.5),
        "phases": np.arange(0.5, 9.6, 1),
        "rise_ms": np.arange(0, 1.51, 0.0625),
    }
    for ax, (metric, bins) in zip(axes[1], hist_bins.items(), strict=True):
        for key in keys:
            ax.hist(
                res.pots[key][metric],
                bins=bins,
                label=key,
                color="k" if "sim" in key else None,
                histtype="step",
                density=True,
                lw=1.2,
            )
        ax.set(title=metric)
    axes[1][0].legend(fontsize=7)
    fig.tight_layout()
    path = IMG / "realism-muaps.png"
    fig.savefig(path, dpi=110)
    return path


def _fig_trains(plt: Any, res: Results) -> Path:
    """Successive discharges of one unit: the neuropathy record vs a simulated A-train."""
    keys = ("needle_neuropathy_unit", "sim_a_train_4k")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key in zip(axes[:2], keys, strict=True):
        s = res.trains[key]
        w = s["_waves"]
        t = (np.arange(w.shape[1]) - w.shape[1] // 2) / 4.0
        for v in w[:60]:
            ax.plot(t, v, lw=0.5, alpha=0.4, color="k")
        title = f"{key}: corr {s['corr_median']:.3f}, p-p CV {s['p2p_cv']:.2f}"
        ax.set(title=title, xlabel="ms", ylabel="µV")
        ax.title.set_fontsize(8)
    ax = axes[2]
    for key, color in zip(keys, ("C2", "k"), strict=True):
        isi = res.trains[key]["_isi"]
        label = f"{key} (CV {res.trains[key]['isi_cv']:.3f})"
        bins = np.linspace(0.5, 1.5, 41)
        rel = isi / np.median(isi)
        ax.hist(rel, bins=bins, histtype="step", density=True, color=color, label=label)
    ax.set(title="intervals / median interval", xlabel="relative interval")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = IMG / "realism-trains.png"
    fig.savefig(path, dpi=110)
    return path


def figures(res: Results) -> list[str]:
    """Write the PNGs; matplotlib is optional (not a project requirement)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figures (pip install matplotlib)")
        return []
    IMG.mkdir(parents=True, exist_ok=True)
    saved = []
    for draw in (_fig_psd, _fig_waveforms, _fig_muaps, _fig_trains):
        saved.append(str(draw(plt, res).relative_to(ROOT)))
        plt.close("all")
    return saved


# -- output --------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    if np.isnan(v):
        return "-"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def _table(title: str, rows: dict[str, dict[str, float]], cols: list[str]) -> None:
    print(f"\n{title}")
    print(f"{'':34s}" + "".join(f"{c[:13]:>14s}" for c in cols))
    for name, r in rows.items():
        cells = "".join(f"{_fmt(float(r.get(c, float('nan')))):>14s}" for c in cols)
        print(f"{name:34s}{cells}")


def _public(d: dict[str, dict]) -> dict[str, dict]:
    """Drop the arrays kept for the figures (keys starting with '_')."""
    return {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in d.items()}


def report(res: Results) -> None:
    _table("Spectral shape, whole signal (20 Hz - min(2 kHz, 0.45 fs))", res.spectra, SPEC_COLS)
    _table(
        "Spectral shape of isolated potentials and of the quietest 10 % of 50 ms windows",
        res.spectra_local,
        SPEC_COLS,
    )
    units = {k: r.unit for k, r in res.real.items()} | dict.fromkeys(res.sims, "µV")
    _table(
        "Amplitude statistics (after the common filter)",
        {f"{k} [{units[k]}]": v for k, v in res.amps.items()},
        ["rms", "kurtosis", "crest", "quietest_25ms_rms_p5"],
    )
    print("\nMains line prominence (dB over the floor 10-30 Hz either side):")
    for k, v in res.mains.items():
        print(f"  {k:40s} {v:6.1f}")
    print("Activity / baseline RMS ratios:")
    for k, v in res.ratios.items():
        print(f"  {k:40s} {v:6.1f}")
    _table(
        f"Potentials (detected at {DETECT_K:g} robust SD; shape on isolated ones)",
        res.pot_summary,
        ["n_detected", "n_isolated", "p2p_p10", "p2p_p50", "p2p_p90", "p2p_log10_sd"],
    )
    _table(
        "Potential shape (medians; polyphasic = more than 4 phases)",
        res.pot_summary,
        [
            "duration_ms_median",
            "fwhm_ms_median",
            "rise_ms_median",
            "phases_median",
            "turns_median",
            "polyphasic_frac",
        ],
    )
    _table(
        "Successive discharges of one unit (simulator: median over 12 A-trains)",
        _public(res.trains),
        ["n", "rate_hz", "isi_cv", "p2p_cv", "corr_median", "shape_resid"],
    )


def _round(obj: object) -> object:
    """Round floats for the JSON line; NaN becomes null."""
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if np.isnan(obj) else float(f"{float(obj):.4g}")
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    t_start = time.perf_counter()
    if not EMG.is_dir():
        print(f"SKIP: real EMG not found at {EMG} (../shared/data is absent on this machine)")
        print(json.dumps({"skipped": True, "reason": f"{EMG} not found"}))
        return 0
    sims: dict[str, Rec] = {}
    for rate in (4000.0, 10_000.0):
        for kind in (None, "spike", "burst", "a_train", "c_train"):
            r = simulate(rate, kind)
            sims[r.name] = r
    for r in (simulate(1000.0, None), simulate(5000.0, "burst")):
        sims[r.name] = r
    res = Results(load_real(), sims)
    compare_spectra(res)
    compare_amplitudes(res)
    compare_potentials(res)
    compare_trains(res)
    report(res)
    saved = [] if "--no-figures" in argv else figures(res)
    if saved:
        print("\nFigures: " + ", ".join(saved))
    elapsed = time.perf_counter() - t_start
    print(f"\n({elapsed:.1f} s)")
    result = {
        "data": str(EMG),
        "spectra": res.spectra | res.spectra_local,
        "amplitude": res.amps,
        "mains_prominence_db": res.mains,
        "activity_ratios": res.ratios,
        "potentials": res.pot_summary,
        "trains": _public(res.trains),
        "figures": saved,
        "seconds": round(elapsed, 1),
    }
    print(json.dumps(_round(result), allow_nan=False, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
