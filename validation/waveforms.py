"""Motor-unit potential shapes and their placement on a sampled trace.

Two families of shape, so that a detector tuned to one kind of waveform shows it:

- **Hermite–Rodriguez** mixtures (Lo Conte, Merletti & Sandri 1994): the first orders of
  ``H_n(x) exp(-x²)`` represent bi- and triphasic motor-unit action potentials (MUAPs)
  compactly; order 1 is the classic biphasic potential, order 2 the triphasic one.
- **Line-source (tripole) potentials**: the transmembrane current of Rosenfalck's
  intracellular action potential ``V(z) = 96 z³ e^(-z) mV`` (Rosenfalck 1969), the second
  spatial derivative of ``V``, travelling along a fibre and seen through a homogeneous
  volume conductor at a radial distance (the line-source model of Nandedkar & Stålberg
  1983 and Merletti et al. 1999). A motor unit sums a handful of fibres at different
  depths with a small end-plate spread, which gives the asymmetric, sometimes polyphasic
  shapes of needle recordings.

A :class:`Shape` is a tabulated waveform on its normalised support ``u ∈ [-1, 1]``
(outside it the potential is below 5 % of its largest phase and taken as zero, the outer
5 % of the support tapered so that the potential starts and ends smoothly) with a
peak-to-peak of 1, so that the duration and amplitude of every potential are set
explicitly and the truth can state where each potential starts and ends.

References
----------
Lo Conte LR, Merletti R, Sandri GV. Hermite expansions of compact support waveforms:
applications to myoelectric signals. IEEE Trans Biomed Eng 1994;41(12):1147-1159.
Rosenfalck P. Intra- and extracellular potential fields of active nerve and muscle
fibres. Acta Physiol Scand Suppl 1969;321:1-168.
Nandedkar SD, Stålberg E. Simulation of single muscle fibre action potentials. Med Biol
Eng Comput 1983;21:158-165.
Merletti R, Lo Conte L, Avignone E, Guglielminotti P. Modeling of surface myoelectric
signals - Part I: model implementation. IEEE Trans Biomed Eng 1999;46(7):810-820.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import hermite
from scipy import signal

#: Points of a shape's table over its support; fine enough for sub-sample placement.
_TABLE_POINTS = 2001
#: Where a potential is taken to start and end: 5 % of its largest phase, about where a
#: clinical MUAP duration is read (a fixed µV level on potentials of a few hundred µV).
SUPPORT_LEVEL = 0.05

SHAPE_FAMILIES = ("hermite", "tripole")


@dataclass(frozen=True, eq=False)
class Shape:
    """A potential's waveform on its normalised support, peak-to-peak 1.

    Attributes
    ----------
    table : numpy.ndarray
        Values at ``numpy.linspace(-1, 1, len(table))``; zero at both ends.
    family : str
        ``"hermite"`` or ``"tripole"``.
    span : float
        Length of the support in the family's own unit before normalisation (``x`` of
        the Hermite-Rodriguez functions; mm of fibre for the line source).
    """

    table: np.ndarray
    family: str
    span: float = 2.0

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """The waveform at normalised times ``u`` (zero outside ``[-1, 1]``)."""
        grid = np.linspace(-1.0, 1.0, len(self.table))
        return np.interp(u, grid, self.table, left=0.0, right=0.0)


def _tabulate(x: np.ndarray, y: np.ndarray, family: str) -> Shape:
    """Crop ``y(x)`` to where it exceeds :data:`SUPPORT_LEVEL` of its peak, resample the
    support onto ``[-1, 1]`` and scale to a peak-to-peak of 1."""
    big = np.flatnonzero(np.abs(y) >= SUPPORT_LEVEL * np.abs(y).max())
    lo, hi = x[big[0]], x[big[-1]]
    xs = np.linspace(lo, hi, _TABLE_POINTS)
    ys = np.interp(xs, x, y)
    ys *= signal.windows.tukey(len(ys), 0.1)  # no step where the table is cut
    ys /= np.ptp(ys)
    return Shape(ys, family, float(hi - lo))


def hermite_rodriguez(coefficients: tuple[float, ...]) -> Shape:
    """A mixture of Hermite–Rodriguez functions ``Σ c_n H_n(x) exp(-x²)``, n = 1, 2, ...

    Parameters
    ----------
    coefficients : tuple of float
        ``(c1, c2, ...)``; ``(1,)`` is the biphasic, ``(0, 1)`` the triphasic potential.
    """
    x = np.linspace(-6.0, 6.0, 8001)
    y = hermite.hermval(x, (0.0, *coefficients)) * np.exp(-(x**2))
    return _tabulate(x, y, "hermite")


def _rosenfalck_current(z_mm: np.ndarray) -> np.ndarray:
    """Second derivative of Rosenfalck's IAP ``96 z³ e^-z`` (mV/mm²), zero behind it."""
    z = np.maximum(z_mm, 0.0)
    return 96.0 * np.exp(-z) * (6 * z - 6 * z**2 + z**3)


def line_source(radii_mm: np.ndarray, delays_mm: np.ndarray) -> Shape:
    """A motor unit's potential from fibres at ``radii_mm`` from the electrode.

    Each fibre carries the same Rosenfalck current distribution, shifted by its end-plate
    delay (expressed as distance along the fibre), and is seen through the ``1/distance``
    kernel of a point in an infinite homogeneous conductor; the potential along the
    fibre axis is the convolution of the current with the summed kernels.
    """
    dz = 0.02  # mm; time is distance over conduction velocity, rescaled by the caller
    kernel_z = np.arange(-30.0, 30.0, dz)
    kernel = np.zeros_like(kernel_z)
    for r, d in zip(radii_mm, delays_mm, strict=True):
        kernel += 1.0 / np.sqrt(r**2 + (kernel_z - d) ** 2)
    current = _rosenfalck_current(np.arange(0.0, 30.0, dz))
    potential = signal.fftconvolve(kernel, current) * dz
    z = kernel_z[0] + np.arange(len(potential)) * dz
    return _tabulate(z, -potential, "tripole")


def random_shape(rng: np.random.Generator, family: str = "hermite") -> Shape:
    """A plausible motor-unit potential of one family.

    ``hermite``: mostly biphasic with a triphasic and a small third-order part, random
    polarity. ``tripole``: 3 to 10 fibres 0.05 to 0.8 mm from the electrode with 0 to
    1.5 mm of end-plate spread.
    """
    sign = rng.choice((-1.0, 1.0))
    if family == "hermite":
        c = (1.0, rng.uniform(-0.7, 0.7), rng.uniform(-0.25, 0.25))
        return hermite_rodriguez(tuple(sign * v for v in c))
    if family == "tripole":
        n = int(rng.integers(3, 11))
        s = line_source(rng.uniform(0.05, 0.8, n), rng.uniform(0.0, 1.5, n))
        return Shape(sign * s.table, s.family, s.span)
    raise ValueError(f"unknown shape family {family!r}; known: {', '.join(SHAPE_FAMILIES)}")


def place(
    out: np.ndarray,
    rate: float,
    centres_s: np.ndarray,
    amplitudes: np.ndarray,
    shape: Shape,
    duration_s: float,
) -> None:
    """Add potentials of ``shape`` to the trace ``out`` (in place), sub-sample accurate.

    Parameters
    ----------
    out : numpy.ndarray
        1-D trace; sample ``k`` is at ``k / rate`` s.
    centres_s : numpy.ndarray
        Centre of each potential's support, in s.
    amplitudes : numpy.ndarray
        Peak-to-peak of each potential (signed: negative flips it).
    duration_s : float
        Length of every potential's support.
    """
    centres_s = np.asarray(centres_s, float)
    if centres_s.size == 0:
        return
    width = int(np.ceil(duration_s * rate)) + 2
    first = np.floor((centres_s - duration_s / 2) * rate).astype(np.int64)
    idx = first[:, None] + np.arange(width)[None, :]
    keep = (idx >= 0) & (idx < len(out))
    if not keep.any():
        return
    u = 2.0 * (idx / rate - centres_s[:, None]) / duration_s
    vals = np.asarray(amplitudes, float)[:, None] * shape(u)
    lo, hi = int(idx[keep].min()), int(idx[keep].max()) + 1  # only the stretch touched
    out[lo:hi] += np.bincount(idx[keep] - lo, weights=vals[keep], minlength=hi - lo)


def support(rate: float, centre_s: float, duration_s: float) -> tuple[int, int]:
    """First and one-past-last sample inside a potential's support (as :func:`place`
    puts it): where the truth says the potential starts and ends."""
    return (
        int(np.ceil((centre_s - duration_s / 2) * rate)),
        int(np.floor((centre_s + duration_s / 2) * rate)) + 1,
    )
