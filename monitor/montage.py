"""Facial muscles, the nerve branches that supply them, and the default montage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Muscle:
    key: str
    name: str  # as shown on screen
    short: str
    branch: str  # facial-nerve branch that supplies it


MUSCLES: dict[str, Muscle] = {
    m.key: m
    for m in (
        Muscle("oculi", "Orbicularis oculi", "Orb. oculi", "zygomatic"),
        Muscle("oris", "Orbicularis oris", "Orb. oris", "buccal"),
        Muscle("mentalis", "Mentalis", "Mentalis", "marginal mandibular"),
        Muscle("frontalis", "Frontalis", "Frontalis", "temporal"),
        Muscle("platysma", "Platysma", "Platysma", "cervical"),
        Muscle("nasalis", "Nasalis", "Nasalis", "buccal"),
        Muscle("zygomaticus", "Zygomaticus major", "Zygomaticus", "zygomatic"),
        Muscle("depressor", "Depressor anguli oris", "Depressor", "marginal mandibular"),
        Muscle("masseter", "Masseter (V)", "Masseter", "trigeminal motor"),
    )
}

#: The default four-channel montage of the issue: oculi, oris, mentalis, frontalis.
DEFAULT_MUSCLES = ("oculi", "oris", "mentalis", "frontalis")
SIDES = {"left": "L", "right": "R"}


def channel_label(muscle_key: str, side: str = "left") -> str:
    """``"L Orb. oculi"`` style label for a muscle on a side."""
    return f"{SIDES[side]} {MUSCLES[muscle_key].short}"


def muscle_of(label: str) -> Muscle | None:
    """Find the muscle a channel label names (case-insensitive), if any."""
    low = label.lower()
    best, longest = None, 0
    for m in MUSCLES.values():
        # The longest name found wins: "depressor anguli oris" also contains "oris".
        for text in (m.key, m.short.lower(), m.name.lower()):
            if text in low and len(text) > longest:
                best, longest = m, len(text)
    return best


_SIDE_WORDS = {"l": "left", "left": "left", "r": "right", "right": "right"}


def side_of(label: str) -> str | None:
    """``"left"``/``"right"`` from a channel label (``"L Orb. oculi"``, ``"Mentalis R"``,
    ``"left frontalis"``), or None when the label does not say."""
    words = re.findall(r"[a-z]+", label.lower())
    for w in (words[:1] + words[-1:]) if words else []:
        if w in _SIDE_WORDS:
            return _SIDE_WORDS[w]
    return None


def stimulated_side(site: str, labels: Sequence[str]) -> str | None:
    """The side whose facial nerve the stimulus reached: ``"left"``, ``"right"`` or None.

    The site says it when it names a side (``"L zygomatic"``, ``"right marginal
    mandibular"``); otherwise it is the operated side, taken as the side most channels are
    on (the case's side is recorded with more muscles), and on a tie the first channel's.
    Contralateral muscles are controls: they give neither a direct response nor an LSR.
    """
    words = re.findall(r"[a-z]+", site.lower())
    for k, w in enumerate(words):
        # "L"/"R" only as the first word: the "L" of "Z-L" is no side.
        if w in ("left", "right") or (k == 0 and w in ("l", "r")):
            return "left" if w.startswith("l") else "right"
    sides = [s for s in (side_of(label) for label in labels) if s is not None]
    if not sides:
        return None
    left, right = sides.count("left"), sides.count("right")
    if left != right:
        return "left" if left > right else "right"
    return sides[0]


def default_labels(n_channels: int, side: str = "left") -> tuple[str, ...]:
    """Labels for ``n_channels``: the default montage first, then the other muscles,
    then the same muscles on the other side (up to 16 channels)."""
    if not 1 <= n_channels <= 16:
        raise ValueError(f"The monitor takes 1 to 16 channels, not {n_channels}.")
    order = list(DEFAULT_MUSCLES) + [k for k in MUSCLES if k not in DEFAULT_MUSCLES]
    other = "right" if side == "left" else "left"
    labels = [channel_label(k, side) for k in order] + [channel_label(k, other) for k in order]
    return tuple(labels[:n_channels])


# -- a montage per channel: muscle, side, colour -----------------------------------------------
MAX_CHANNELS = 16
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class MontageError(ValueError):
    """A montage that cannot be used; ``str()`` is a sentence for the clinician."""


def check_colour(colour: str | None) -> str | None:
    """``None`` (the screen's colour for the channel) or a ``#rrggbb`` colour, lower case.

    Raises
    ------
    MontageError
        Anything else.
    """
    if colour is None:
        return None
    if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
        raise MontageError(f"A channel colour must look like #4fc3f7, not {colour!r}.")
    return colour.lower()


def check_muscle(key: str) -> str:
    """The muscle's key, checked against :data:`MUSCLES` (raises :class:`MontageError`)."""
    if key not in MUSCLES:
        known = ", ".join(MUSCLES)
        raise MontageError(f"Unknown muscle {key!r}; the muscles are: {known}.")
    return key


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One recorded channel: a muscle on a side, and its trace colour.

    Parameters
    ----------
    muscle : str
        Key in :data:`MUSCLES` (``"oculi"``, ``"masseter"`` ...).
    side : {"left", "right"}
    colour : str or None
        ``#rrggbb``; ``None`` uses the screen's colour for the channel's position.
    """

    muscle: str
    side: str
    colour: str | None = None

    def __post_init__(self) -> None:
        check_muscle(self.muscle)
        if self.side not in SIDES:
            raise MontageError(f"A channel's side must be left or right, not {self.side!r}.")
        object.__setattr__(self, "colour", check_colour(self.colour))

    @property
    def label(self) -> str:
        return channel_label(self.muscle, self.side)


@dataclass(frozen=True, slots=True)
class Montage:
    """The channels of a case, in amplifier order (1 to 16 channels).

    ``labels()`` gives the channel labels a source is built with (``SimConfig(labels=...)``,
    ``SerialSource(labels=...)``); the same muscle twice on one side gets ``" 2"``.
    """

    channels: tuple[ChannelSpec, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if not 1 <= len(self.channels) <= MAX_CHANNELS:
            raise MontageError(
                f"A montage has 1 to {MAX_CHANNELS} channels, not {len(self.channels)}."
            )

    def __len__(self) -> int:
        return len(self.channels)

    def labels(self) -> tuple[str, ...]:
        out: list[str] = []
        for ch in self.channels:
            base, k = ch.label, 1
            label = base
            while label in out:
                k += 1
                label = f"{base} {k}"
            out.append(label)
        return tuple(out)

    def colours(self) -> tuple[str | None, ...]:
        return tuple(ch.colour for ch in self.channels)
