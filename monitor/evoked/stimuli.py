"""Stimuli: what a stimulus site means, and finding stimuli from their artifacts.

Stimulus markers normally arrive with the blocks (:class:`~monitor.block.StimMarker`
from the device, from EDF+ annotations or from a trigger channel). Two things here help
the evoked-response engine (:mod:`monitor.evoked`) use them:

- :func:`classify_site` reads a marker's free-text ``site`` and says which kind of
  response to look for: the lateral spread response after stimulating a facial-nerve
  branch (and which branches were stimulated, whose own muscles give a *direct* response),
  the Z-L response after stimulating the offending vessel, or a triggered (direct) response
  after stimulating the nerve itself.
- :class:`StimulusArtifactDetector` finds stimuli in a recording that has no markers,
  from the stimulus artifact: a jump that is very fast (within ``jump_ms``), large
  (far above each channel's sample-to-sample noise and above ``floor_uv``), synchronous on
  (almost) all channels, preceded by a quiet stretch and over within a few ms (unlike
  electrocautery, which is large on all channels too but lasts). Its markers carry
  ``site=DETECTED_SITE`` so nobody mistakes them for the stimulator's own.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.block import Block, StimMarker
from monitor.extremes import segment_fmax, segment_max
from monitor.medians import median_columns, median_or_nan
from monitor.montage import MUSCLES, stimulated_side  # noqa: F401 - read with the site

#: ``StimMarker.site`` of a stimulus found from its artifact.
DETECTED_SITE = "detected artifact"

#: Kinds of evoked response, by what was stimulated.
MODE_LSR = "lsr"  # a facial-nerve branch: lateral spread response in the other branches
MODE_ZL = "zl"  # the offending vessel: Z-L response (Zheng et al. 2012)
MODE_TRIGGERED = "triggered"  # the nerve itself: direct responses in every muscle

#: Facial-nerve branches the montage knows (the ``branch`` of its muscles).
BRANCHES: tuple[str, ...] = tuple(
    dict.fromkeys(m.branch for m in MUSCLES.values() if m.branch != "trigeminal motor")
)

_ZL = re.compile(r"z\s*-\s*l\b|\bzlr?\b|vessel|arter|\bvein|\baica\b|\bpica\b|\bva\b")
_TRUNK = re.compile(r"nerve|\broot|\btrunk|\brez\b|\bprobe|\bcn\s*vii\b|\bcn7\b")


@dataclass(frozen=True, slots=True)
class StimSite:
    """What a stimulus site means for the evoked-response analysis.

    Attributes
    ----------
    mode : str
        ``MODE_LSR``, ``MODE_ZL`` or ``MODE_TRIGGERED``.
    branches : frozenset of str
        Facial-nerve branches named by the site (LSR mode); their muscles answer directly.
    known : bool
        False when the site names neither a branch nor a vessel nor the nerve (an empty
        site, ``"Trigger"``, ``DETECTED_SITE``): which channels answer directly is then
        judged from each sweep (a response that starts right after the blanking).
    """

    mode: str
    branches: frozenset[str] = frozenset()
    known: bool = True


@functools.lru_cache(maxsize=1024)  # asked per stimulus, of a handful of texts
def classify_site(site: str, default: str = "") -> StimSite:
    """Read a stimulus site.

    Parameters
    ----------
    site : str
        Free text from the marker (``"zygomatic"``, ``"marginal mandibular branch"``,
        ``"Z-L"``, ``"facial nerve"``, ``"temporal/zygomatic"``, ``""`` ...).
    default : str
        Used when ``site`` names nothing known (the user's setting for a recording whose
        markers do not say where they stimulated).

    Returns
    -------
    StimSite
    """
    for text in (site, default):
        s = text.strip().lower()
        if not s:
            continue
        if _ZL.search(s):
            return StimSite(MODE_ZL)
        branches = frozenset(b for b in BRANCHES if _names_branch(s, b))
        if branches:
            return StimSite(MODE_LSR, branches)
        if _TRUNK.search(s):
            return StimSite(MODE_TRIGGERED)
    return StimSite(MODE_LSR, frozenset(), known=False)


def _names_branch(text: str, branch: str) -> bool:
    """``"mandibular"`` names the marginal mandibular branch, ``"zyg"`` the zygomatic one."""
    if branch in text:
        return True
    words = re.findall(r"[a-z]+", text)
    return any(
        (len(w) >= 3 and part.startswith(w)) or w == part
        for part in branch.split()
        if len(part) >= 5
        for w in words
    )


@dataclass(frozen=True, slots=True)
class ArtifactDetectorSettings:
    """How a stimulus artifact is told from everything else (the defaults are the monitor's).

    Attributes
    ----------
    jump_ms : float
        The artifact's leading edge: the signal jumps within this time.
    k_noise : float
        The jump must exceed this many times the channel's typical jump of that span
        (a robust running scale, so noisy channels need larger artifacts).
    floor_uv : float
        ... and this absolute size. 50 µV: artifacts of stimuli of a few mA are hundreds of
        µV; below about 0.5 mA (triggered-EMG mapping) they may not be found at all.
    min_fraction : float
        Fraction of the channels that must jump together (rounded up; at least one).
    sync_ms : float
        The channels' jumps must fall within this span.
    quiet_ms : float
        Before the jump, no channel may jump like that for this long (cautery crackle,
        a train of artifacts at a high rate).
    settle_ms, check_ms : float
        From ``settle_ms`` after the jump, for ``check_ms``, fewer than ``min_fraction`` of
        the channels may still jump (a stimulus artifact is over; cautery goes on).
    sharpness : float
        On the channels that jump, the jump must be at least this fraction of the
        peak-to-peak within ±1 ms (a stimulus artifact is a step; a motor-unit potential,
        even a sharp one, takes longer to swing through its amplitude).
    refractory_ms : float
        No second stimulus is reported this soon after one.
    """

    jump_ms: float = 0.15
    k_noise: float = 25.0
    floor_uv: float = 50.0
    min_fraction: float = 0.75
    sync_ms: float = 0.3
    quiet_ms: float = 5.0
    settle_ms: float = 1.5
    check_ms: float = 4.0
    sharpness: float = 0.6
    refractory_ms: float = 20.0


class StimulusArtifactDetector:
    """Finds stimuli from their artifacts in the raw signal; causal, block-size blind.

    The raw samples are examined on a grid of fixed chunks of absolute sample indices
    (10 ms), each once the look-ahead it needs has arrived (``settle_ms + check_ms``,
    about 6 ms), so the markers do not depend on how the stream is cut into blocks.

    Parameters
    ----------
    rate : float
        Sampling rate in Hz.
    n_channels : int
    on_stim : callable, optional
        Called with each :class:`~monitor.block.StimMarker` found (``site=DETECTED_SITE``),
        on the calling thread.
    settings : ArtifactDetectorSettings, optional

    Thread safety: ``process``/``__call__`` on the acquisition thread only; ``found`` is a
    plain count, safe to read anywhere.
    """

    CHUNK_MS = 10.0
    _SCALE_MEMORY = 50  # chunks in the running noise scale

    def __init__(
        self,
        rate: float,
        n_channels: int,
        on_stim: Callable[[StimMarker], None] | None = None,
        settings: ArtifactDetectorSettings | None = None,
    ) -> None:
        self.s = settings or ArtifactDetectorSettings()
        self.rate = float(rate)
        self.n_channels = n_channels
        self.on_stim = on_stim
        ms = self.rate / 1000.0
        self.w = max(1, round(self.s.jump_ms * ms))
        self.chunk = max(8, round(self.CHUNK_MS * ms))
        self.sync = max(1, round(self.s.sync_ms * ms))
        self.quiet = max(1, round(self.s.quiet_ms * ms))
        self.settle = max(1, round(self.s.settle_ms * ms))
        self.check = max(1, round(self.s.check_ms * ms))
        self.refractory = max(1, round(self.s.refractory_ms * ms))
        self.around = max(2, round(1.0 * ms))
        self.need = max(1, math.ceil(self.s.min_fraction * n_channels - 1e-9))
        self.behind = self.quiet + self.w + self.sync + self.around  # look-behind kept
        self.ahead = max(self.settle + self.check, self.around + self.sync) + self.w
        self._buf = np.zeros((0, n_channels), np.float32)
        self._buf_start = 0
        self._next: int | None = None  # absolute index of the next chunk to examine
        # The last _SCALE_MEMORY chunks' typical jumps, in a ring (their median does not
        # depend on their order).
        self._scales = np.zeros((self._SCALE_MEMORY, n_channels))
        self._n_scales = 0  # chunks ever taken into it
        self._scale = np.zeros(n_channels)  # typical jump per channel (µV)
        self._thr = np.maximum(self.s.k_noise * self._scale, self.s.floor_uv)
        # Valid only while process() examines a block (_scan and the closer looks it
        # calls: _look, _examine, _is_stimulus, _onset, _samples read them): the block,
        # and every jump of _buf followed by the block.
        self._raw = self._buf
        self._d = np.zeros((0, n_channels), np.float32)
        self._last = -(10**12)
        self.found = 0

    def __call__(self, block: Block, filtered: np.ndarray | None = None) -> list[StimMarker]:
        """Session-subscriber form: examine the block's raw samples."""
        return self.process(block.start, block.data)

    def process(self, start: int, raw: np.ndarray) -> list[StimMarker]:
        """Feed raw samples ``[n, channels]`` (µV) from absolute index ``start``.

        Returns
        -------
        list of StimMarker
            The stimuli found in what could be examined so far (also passed to ``on_stim``).
        """
        end = self._buf_start + len(self._buf)
        if self._next is None or start != end:  # first block, or a gap: start afresh
            self._buf = np.zeros((0, self.n_channels), np.float32)
            self._buf_start = start
            self._next = start + self.behind
        # The samples are _buf (what is kept from before) followed by raw, never joined as
        # a whole: the jumps are taken from both (see _scan, _samples). In the type the
        # two would have joined in.
        kind = np.result_type(self._buf, raw) if len(self._buf) else raw.dtype
        if self._buf.dtype != kind:
            self._buf = self._buf.astype(kind)
        raw = np.asarray(raw, kind)
        found: list[StimMarker] = []
        n = (self._buf_start + len(self._buf) + len(raw) - self.ahead - self._next) // self.chunk
        if n > 0:
            self._raw = raw
            try:
                with np.errstate(invalid="ignore"):  # NaN (a gap, a hole) is over no threshold
                    found = self._scan(n)
            finally:
                self._raw = self._buf[:0]  # the caller's array is not kept
            self._next += n * self.chunk
        keep_from = self._next - self.behind - self._buf_start
        held = len(self._buf)
        if keep_from >= held:
            self._buf = raw[keep_from - held :].copy()
        else:
            self._buf = np.concatenate([self._buf[keep_from:], raw])
        self._buf_start += keep_from
        for marker in found:
            if self.on_stim is not None:
                self.on_stim(marker)
        return found

    def _samples(self, a: int, b: int) -> np.ndarray:
        """Samples ``a .. b-1`` counted from ``_buf_start``, across ``_buf`` and ``_raw``."""
        held = len(self._buf)
        if b <= held:
            return self._buf[a:b]
        if a >= held:
            return self._raw[a - held : b - held]
        return np.concatenate([self._buf[a:], self._raw[: b - held]])

    def _scan(self, n: int) -> list[StimMarker]:
        """Examine the ``n`` chunks from ``_next``: all the buffer's jumps and the chunks'
        typical jumps and peaks in one go (the costly part); then only a closer look where
        a chunk's peak is over the threshold."""
        w, raw = self.w, self._raw
        # Row r: the jump at absolute index _buf_start + w + r. The closer looks take their
        # jumps from here too (before and after the chunks as well).
        head = np.concatenate([self._buf, raw[:w]])  # the jumps that reach back into _buf
        nh = len(head) - w
        self._d = d = np.empty((len(self._buf) + len(raw) - w, self.n_channels), raw.dtype)
        np.subtract(head[w:], head[:nh], out=d[:nh])
        if len(raw) > w:
            np.subtract(raw[w:], raw[:-w], out=d[nh:])
        np.abs(d, out=d)
        assert self._next is not None  # set by process() before any chunk
        r0 = self._next - self._buf_start - self.w
        d_all = self._d[r0 : r0 + n * self.chunk].reshape(n, self.chunk, self.n_channels)
        # A chunk's typical jump: its mean |jump| scaled to what the median of Gaussian
        # jumps would be (0.674 / 0.798); the median over many chunks (below) makes it
        # robust to the chunks that hold a stimulus, and a mean costs far less here.
        meds = np.einsum("hnc->hc", d_all) / self.chunk * 0.845  # (a mean, sooner)
        peaks = segment_max(d_all)  # NaN where invalid: never over a threshold
        # The few chunks with a peak over the floor, which every threshold is at least:
        # only these are compared with the thresholds. (A float64 floor, as in them: a
        # Python float would be compared in float32 and could round up past a peak.)
        floor = np.float64(self.s.floor_uv)
        hot = (np.flatnonzero(peaks > floor) // self.n_channels).tolist()
        first = self._next // self.chunk  # the absolute number of chunk 0
        found: list[StimMarker] = []
        taken = judged = 0  # chunks of this call taken into the running scale, judged
        while True:
            # The running scale is updated at chunk u: at each of the first five chunks
            # ever, then every 250 ms on the absolute grid (plenty). Each chunk is taken
            # into it first; the chunks before u are judged with the scale as it was.
            u = taken if self._n_scales < 5 else taken + (-(first + taken)) % 25
            if u >= n:
                self._push_scales(meds[taken:n])
                found += self._look(judged, n, hot, peaks, d_all)
                return found
            self._push_scales(meds[taken : u + 1])
            found += self._look(judged, u, hot, peaks, d_all)
            self._scale = median_columns(self._scales[: min(self._n_scales, len(self._scales))])
            self._thr = np.maximum(self.s.k_noise * self._scale, self.s.floor_uv)
            taken, judged = u + 1, u

    def _push_scales(self, rows: np.ndarray) -> None:
        """Take chunks' typical jumps ``(chunks, channels)`` into the ring; a non-finite one
        (NaN in the chunk) counts as the scale in force."""
        ring = self._scales
        size = len(ring)
        for a in range(0, len(rows), size):  # more than the ring holds: the last win
            part = rows[a : a + size]
            if not np.isfinite(part).all():
                part = np.where(np.isfinite(part), part, self._scale)
            at = self._n_scales % size
            first = min(len(part), size - at)
            ring[at : at + first] = part[:first]
            ring[: len(part) - first] = part[first:]
            self._n_scales += len(part)

    def _look(
        self, k: int, j: int, hot: list[int], peaks: np.ndarray, d_all: np.ndarray
    ) -> list[StimMarker]:
        """Examine the chunks ``k .. j-1`` of the call whose peak is over the threshold
        (``hot``: the chunks whose peak is over the floor, ascending, repeats allowed)."""
        rows = list(dict.fromkeys(c for c in hot if k <= c < j))
        if not rows:
            return []
        assert self._next is not None  # set by process() before any chunk
        # A chunk is looked at when a channel's peak is over the threshold (a peak is NaN
        # where the chunk holds an invalid sample) and, since a sample needs enough
        # channels over at once, when enough channels have valid samples over it.
        chunk_peaks = peaks[rows]
        valid = chunk_peaks
        if np.isnan(chunk_peaks).any():  # their valid samples may still be over
            valid = segment_fmax(d_all[rows])
        over = np.count_nonzero(valid > self._thr, axis=1)
        some = np.count_nonzero(chunk_peaks > self._thr, axis=1)
        found: list[StimMarker] = []
        for h in np.flatnonzero((over >= min(self.need, self.n_channels)) & (some > 0)):
            c = rows[h]
            found += self._examine(self._next + c * self.chunk, d_all[c], self._thr)
        return found

    def _examine(self, c0: int, d: np.ndarray, thr: np.ndarray) -> list[StimMarker]:
        """``d``: the jumps of the chunk starting at ``c0``, some of them over ``thr``."""
        # The samples where enough channels are over, from the few channel samples over
        # (a count per row of a (chunk, channels) array costs ten times more).
        rows = np.flatnonzero(d > thr) // self.n_channels
        need = min(self.need, self.n_channels)
        if len(rows) < need:
            return []
        out = []
        for rel in np.flatnonzero(np.bincount(rows) >= need):
            i = c0 + int(rel)
            if i - self._last < self.refractory:
                continue
            if self._is_stimulus(i, thr):
                onset = self._onset(i, thr)
                self._last = onset
                self.found += 1
                out.append(StimMarker(onset, site=DETECTED_SITE))
        return out

    def _is_stimulus(self, i: int, thr: np.ndarray) -> bool:
        r = i - self._buf_start - self.w  # the row of _d of the jump at i
        # Synchronous: the channels that jump do so within sync of the first.
        jumps = self._d[r : r + self.sync]
        near = (jumps > thr).any(axis=0)
        if np.count_nonzero(near) < self.need:
            return False
        # Not after a quiet stretch: cautery, or a burst of artifacts.
        if (self._d[r - self.quiet : r] > thr).any():
            return False
        a = r + self.settle
        after = (self._d[a : a + self.check] > thr).any(axis=0)
        if np.count_nonzero(after) >= self.need:
            return False
        i0 = i - self._buf_start
        seg = self._samples(i0 - self.around, i0 + self.sync + self.around)[:, near]
        ptp = seg.max(axis=0) - seg.min(axis=0)  # np.ptp without its wrapper
        sharp = jumps[:, near].max(axis=0) / np.maximum(ptp, 1e-9)
        return not median_or_nan(sharp) < self.s.sharpness

    def _onset(self, i: int, thr: np.ndarray) -> int:
        """The first sample of the jump: where the fastest channel first moves by a third of
        its threshold from the sample before the jump window."""
        i0 = i - self._buf_start
        x = self._samples(i0 - self.w, i0 + 1)
        moved = (np.abs(x - x[0]) > thr / 3).any(axis=1)
        hit = np.flatnonzero(moved)
        return i - self.w + int(hit[0]) if len(hit) else i
