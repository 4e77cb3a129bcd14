"""The validation grid: which cases the detectors are judged on, and which are clinical.

A full factorial over the clinical range is far too big, so the grid is built from

- **one-factor-at-a-time sweeps** around a nominal A-train (120 Hz, potentials half a
  period long, 1 % interval CV, 200 µV peak-to-peak, ±10 % per-potential amplitude and
  10 % slow waxing, 1 s long, hermite shape) in a nominal background (3 µV RMS noise in
  20 Hz-3 kHz, 10 µV of 50 Hz hum with harmonics, 30 µV RMS drift): frequency 60-210 Hz,
  overlap (potential duration / period) 0.2-1.5, interval CV 0-5 %, amplitude 30 µV-2 mV,
  duration 0.1-30 s, hum 0-40 µV at 50 and 60 Hz, noise 1.5-6 µV, drift 0-300 µV,
  waxing 0-30 %, tripole potentials, a 10 % frequency drift within the train, four
  channels, and the nominal train among spikes, bursts, B- and C-trains and cautery;
- **2-D slices** where factors interact: amplitude x hum, frequency x overlap,
  duration x frequency, jitter x frequency, and for brief potentials at 190 Hz
  amplitude x overlap and jitter x overlap;
- **a seeded random sample** over the whole range (log-uniform amplitude, duration and
  overlap; uniform frequency, CV, hum, noise, drift, waxing; either shape and mains);
- **distractor-only and quiet cases** (false A-trains per minute, spikes, bursts,
  cautery);
- **evoked cases**: LSR amplitude x hum for presence, contaminated sweeps, and the
  course of a case (true disappearance against a slipped stimulating needle).

Clinical range
--------------
Every grid value lies inside the clinical span of the issue, but whether a train is
there to be found depends on how far it stands above what surrounds it. The
**amplitude-to-noise ratio** (ANR) of a cell is the train's peak-to-peak amplitude over
the background RMS in 20 Hz-3 kHz, hum included (``sqrt(noise² + hum_rms²)``; the drift
lies below the band). A cell is **clinical range** when ``ANR >= 5``
(:data:`CLINICAL_ANR`): the train's peak-to-peak is at least five times the background
RMS, about the peak-to-peak that Gaussian noise itself reaches over a few hundred
milliseconds, so that a neurophysiologist sees the train stand out of the trace (a
100 µV train in 3 µV of noise and 10 µV of hum: ANR 12; a 200 µV train in 40 µV of hum:
ANR 6.6; a 30 µV train in 10 µV of hum: ANR 3.7, outside).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from validation.evoked_signals import EvokedCase
from validation.freerun_signals import ATrain, FreeRunCase
from validation.interference import Background

#: A cell is clinical range when its amplitude-to-noise ratio is at least this.
CLINICAL_ANR = 5.0
#: ANR bands for the summary table.
ANR_BANDS = (0.0, 3.0, 5.0, 10.0, 30.0, np.inf)

NOMINAL_TRAIN = ATrain()
NOMINAL_BACKGROUND = Background(noise_uv=3.0, hum_uv=10.0, mains_hz=50.0, drift_uv=30.0)

KIND_A_TRAIN, KIND_DISTRACTOR, KIND_EVOKED = "a_train", "distractor", "evoked"


@dataclass(frozen=True)
class Cell:
    """One case of the grid.

    Attributes
    ----------
    name : str
        Unique, short, readable.
    group : str
        The sweep or slice it belongs to (``"frequency"``, ``"amp x hum"``, ``"random"``,
        ``"distractors"``, ``"evoked presence"`` ...).
    kind : str
        ``"a_train"``, ``"distractor"`` or ``"evoked"``.
    case : FreeRunCase or EvokedCase
    seed : int
    """

    name: str
    group: str
    kind: str
    case: FreeRunCase | EvokedCase
    seed: int

    @property
    def anr(self) -> float:
        """Train (or LSR) peak-to-peak over the in-band background RMS, hum included."""
        c = self.case
        if isinstance(c, EvokedCase):
            amp = c.lsr_uv
        elif c.a_train is not None:
            amp = c.a_train.amplitude_uv
        else:
            return float("nan")
        return amp / c.background.rms_uv()

    @property
    def clinical(self) -> bool:
        return bool(self.anr >= CLINICAL_ANR)


def _trains_for(duration_s: float, quick: bool) -> int:
    """Fewer trains when they are long, so that every cell stays a minute or two."""
    if duration_s >= 10:
        return 2
    return 2 if quick else 4


def _a_cell(
    name: str,
    group: str,
    seed: int,
    rate: float,
    quick: bool,
    background: Background = NOMINAL_BACKGROUND,
    n_channels: int = 3,
    **train: object,
) -> Cell:
    spec = replace(NOMINAL_TRAIN, **train)  # type: ignore[arg-type]
    case = FreeRunCase(
        background=background,
        a_train=spec,
        trains_per_channel=_trains_for(spec.duration_s, quick),
        n_channels=n_channels,
        rate=rate,
    )
    return Cell(name, group, KIND_A_TRAIN, case, seed)


def _bg(**changes: float) -> Background:
    return replace(NOMINAL_BACKGROUND, **changes)


def a_train_cells(rate: float, seed: int, quick: bool, n_random: int) -> list[Cell]:
    """One-factor sweeps, 2-D slices and the random sample of A-train cases."""
    return (
        _one_factor_cells(rate, seed, quick)
        + _slice_cells(rate, seed, quick)
        + _random_cells(rate, seed, quick, n_random)
    )


def _one_factor_cells(rate: float, seed: int, quick: bool) -> list[Cell]:
    cells: list[Cell] = []

    def add(name: str, group: str, **kw: object) -> None:
        cells.append(_a_cell(name, group, seed, rate, quick, **kw))  # type: ignore[arg-type]

    add("nominal", "nominal")
    sweeps: dict[str, tuple[str, tuple]] = {
        "frequency": ("freq_hz", (60.0, 80.0, 100.0, 150.0, 180.0, 210.0)),
        "overlap": ("overlap", (0.2, 0.35, 0.75, 1.0, 1.5)),
        "jitter": ("jitter_cv", (0.0, 0.02, 0.03, 0.05)),
        "amplitude": ("amplitude_uv", (30.0, 50.0, 100.0, 500.0, 1000.0, 2000.0)),
        "duration": ("duration_s", (0.1, 0.2, 0.5, 3.0, 10.0, 30.0)),
        "waxing": ("wax_depth", (0.0, 0.3)),
    }
    units = {"freq_hz": "Hz", "amplitude_uv": "uV", "duration_s": "s"}
    for group, (factor, values) in sweeps.items():
        for v in values:
            label = f"{v * 100:g}%" if factor in ("jitter_cv", "wax_depth") else f"{v:g}"
            add(f"{group} {label}{units.get(factor, '')}", group, **{factor: v})
    for hum, mains in ((0.0, 50.0), (20.0, 50.0), (40.0, 50.0), (40.0, 60.0)):
        add(f"hum {hum:g}uV {mains:g}Hz", "hum", background=_bg(hum_uv=hum, mains_hz=mains))
    for noise in (1.5, 6.0):
        add(f"noise {noise:g}uV", "noise", background=_bg(noise_uv=noise))
    for drift in (0.0, 300.0):
        add(f"drift {drift:g}uV", "drift", background=_bg(drift_uv=drift))
    add("tripole shape", "shape", shape="tripole")
    add("freq drift +10%", "freq drift", rate_change=0.1)
    add("4 channels", "channels", n_channels=4)
    nominal = cells[0].case
    assert isinstance(nominal, FreeRunCase)
    among = replace(
        nominal,
        spikes_per_min=10.0,
        bursts_per_min=3.0,
        b_trains_per_min=1.0,
        c_trains_per_min=1.0,
        cautery_per_min=1.0,
    )
    cells.append(Cell("among distractors", "distractors", KIND_A_TRAIN, among, seed))
    return cells


def _slice_cells(rate: float, seed: int, quick: bool) -> list[Cell]:
    cells: list[Cell] = []

    def add(name: str, group: str, **kw: object) -> None:
        cells.append(_a_cell(name, group, seed, rate, quick, **kw))  # type: ignore[arg-type]

    for amp in (30.0, 50.0, 100.0, 200.0):
        for hum in (0.0, 20.0, 40.0):
            bg = _bg(hum_uv=hum)
            add(f"{amp:g}uV in {hum:g}uV hum", "amp x hum", amplitude_uv=amp, background=bg)
    for f in (60.0, 120.0, 210.0):
        for ov in (0.2, 0.7, 1.5):
            add(f"{f:g}Hz overlap {ov:g}", "freq x overlap", freq_hz=f, overlap=ov)
    for dur in (0.1, 0.5, 3.0) if quick else (0.1, 0.5, 3.0, 10.0):
        for f in (60.0, 120.0, 210.0):
            add(f"{dur:g}s at {f:g}Hz", "duration x freq", duration_s=dur, freq_hz=f)
    for cv in (0.0, 0.02, 0.05):
        for f in (60.0, 120.0, 210.0):
            add(f"CV {cv * 100:g}% at {f:g}Hz", "jitter x freq", jitter_cv=cv, freq_hz=f)
    # Brief potentials at a high rate: how they fare depends on their size and regularity.
    for amp in (200.0, 1000.0, 2000.0):
        for ov in (0.2, 0.35, 0.7):
            name = f"{amp:g}uV overlap {ov:g} at 190Hz"
            add(name, "amp x overlap", amplitude_uv=amp, overlap=ov, freq_hz=190.0)
    for cv in (0.0, 0.025, 0.05):
        for ov in (0.2, 0.5):
            name = f"CV {cv * 100:g}% overlap {ov:g} at 190Hz"
            add(name, "jitter x overlap", jitter_cv=cv, overlap=ov, freq_hz=190.0)
    return cells


def _random_cells(rate: float, seed: int, quick: bool, n: int) -> list[Cell]:
    rng = np.random.default_rng(seed + 10_000)

    def log_u(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    cells = []
    for i in range(n):
        spec = {
            "freq_hz": float(rng.uniform(60.0, 210.0)),
            "overlap": log_u(0.2, 1.5),
            "jitter_cv": float(rng.uniform(0.0, 0.05)),
            "amplitude_uv": log_u(30.0, 2000.0),
            "duration_s": log_u(0.1, 30.0),
            "wax_depth": float(rng.uniform(0.0, 0.3)),
            "shape": str(rng.choice(("hermite", "tripole"))),
        }
        bg = Background(
            noise_uv=float(rng.uniform(1.5, 6.0)),
            hum_uv=float(rng.uniform(0.0, 40.0)),
            mains_hz=float(rng.choice((50.0, 60.0))),
            drift_uv=float(rng.uniform(0.0, 300.0)),
        )
        cell = _a_cell(f"random {i + 1}", "random", seed + 100 + i, rate, quick, bg, **spec)
        cells.append(cell)
    return cells


def distractor_cells(rate: float, seed: int, quick: bool) -> list[Cell]:
    """Cases without A-trains: quiet, each distractor alone, and all of them together."""
    minutes = 0.5 if quick else 1.0
    base = FreeRunCase(background=NOMINAL_BACKGROUND, rate=rate, duration_s=60.0 * minutes)
    cases = {
        "quiet": base,
        "quiet, 40uV 50Hz hum": replace(base, background=_bg(hum_uv=40.0)),
        "quiet, 40uV 60Hz hum": replace(base, background=_bg(hum_uv=40.0, mains_hz=60.0)),
        "quiet, 6uV noise, 300uV drift": replace(
            base, background=_bg(noise_uv=6.0, drift_uv=300.0)
        ),
        "spikes": replace(base, spikes_per_min=30.0),
        "bursts": replace(base, bursts_per_min=12.0),
        "B-trains": replace(base, b_trains_per_min=5.0),
        "C-trains": replace(base, c_trains_per_min=4.0),
        "cautery": replace(base, cautery_per_min=6.0),
        "all distractors": replace(
            base,
            spikes_per_min=15.0,
            bursts_per_min=5.0,
            b_trains_per_min=2.0,
            c_trains_per_min=2.0,
            cautery_per_min=3.0,
        ),
    }
    return [
        Cell(
            name,
            "quiet" if name.startswith("quiet") else "distractors",
            KIND_DISTRACTOR,
            case,
            seed + 200 + i,
        )
        for i, (name, case) in enumerate(cases.items())
    ]


def evoked_cells(rate: float, seed: int, quick: bool) -> list[Cell]:
    """LSR presence over amplitude x hum, contamination, and the course of a case."""
    half = 20 if quick else 40  # sweeps with the LSR, then as many without
    cells: list[Cell] = []
    base = EvokedCase(background=replace(NOMINAL_BACKGROUND, hum_uv=0.0), rate=rate)
    amps = (0.0, 50.0, 100.0, 200.0) if quick else (0.0, 20.0, 50.0, 100.0, 200.0, 500.0)
    hums = ((0.0, 50.0), (20.0, 50.0), (40.0, 50.0), (40.0, 60.0))
    if not quick:
        hums = ((0.0, 50.0), (10.0, 50.0), (20.0, 50.0), (40.0, 50.0), (40.0, 60.0))
    for amp in amps:
        for hum, mains in hums:
            t_gone = base.lead_in_s + (half - 0.5) / base.stim_hz
            case = replace(
                base,
                background=_bg(hum_uv=hum, mains_hz=mains),
                lsr_uv=amp,
                n_sweeps=2 * half,
                lsr_gone_at_s=t_gone if amp > 0 else None,
            )
            cells.append(
                Cell(
                    f"LSR {amp:g}uV, {hum:g}uV {mains:g}Hz hum",
                    "evoked presence",
                    KIND_EVOKED,
                    case,
                    seed + 300 + len(cells),
                )
            )
    n_contam = 80 if quick else 160
    for name, case in (
        (
            "contaminated, 2 Hz",
            replace(base, background=NOMINAL_BACKGROUND, n_sweeps=n_contam, contaminate_every=3),
        ),
        (
            "contaminated, 1 Hz, LSR 100uV",
            replace(base, stim_hz=1.0, lsr_uv=100.0, n_sweeps=n_contam // 2, contaminate_every=3),
        ),
    ):
        cells.append(Cell(name, "evoked contamination", KIND_EVOKED, case, seed + 400 + len(cells)))
    rates = (1.0, 2.0) if quick else (0.5, 1.0, 2.0)
    for hz in rates:
        n = 2 * half if hz >= 1 else half + 20
        mid = base.lead_in_s + (n // 2 - 0.5) / hz
        course = replace(base, background=NOMINAL_BACKGROUND, stim_hz=hz, n_sweeps=n)
        cells.append(
            Cell(
                f"LSR gone, {hz:g} Hz",
                "evoked course",
                KIND_EVOKED,
                replace(course, lsr_gone_at_s=mid),
                seed + 500 + len(cells),
            )
        )
        cells.append(
            Cell(
                f"needle slipped, {hz:g} Hz",
                "evoked course",
                KIND_EVOKED,
                replace(course, stim_lost_at_s=mid),
                seed + 500 + len(cells),
            )
        )
    course = replace(base, background=NOMINAL_BACKGROUND, n_sweeps=3 * half)
    third = base.lead_in_s + (half - 0.5) / base.stim_hz
    cells += [
        Cell(
            "LSR halves then goes",
            "evoked course",
            KIND_EVOKED,
            replace(course, shrink_at_s=third, shrink_to=0.5, lsr_gone_at_s=third + half / 2),
            seed + 600,
        ),
        Cell(
            "LSR shrinks to 30 %, stays",
            "evoked course",
            KIND_EVOKED,
            replace(course, shrink_at_s=third, shrink_to=0.3),
            seed + 601,
        ),
        Cell(
            "marginal mandibular stim, LSR gone",
            "evoked course",
            KIND_EVOKED,
            replace(course, site="marginal mandibular", lsr_gone_at_s=third + half / 2),
            seed + 602,
        ),
    ]
    return cells


def build_grid(
    rate: float = 10_000.0, seed: int = 1, quick: bool = False, n_random: int | None = None
) -> list[Cell]:
    """Every cell of the validation grid."""
    if n_random is None:
        n_random = 8 if quick else 50
    cells = (
        a_train_cells(rate, seed, quick, n_random)
        + distractor_cells(rate, seed, quick)
        + evoked_cells(rate, seed, quick)
    )
    names = [c.name for c in cells]
    assert len(names) == len(set(names)), "cell names must be unique"
    return cells
