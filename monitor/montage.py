"""Facial muscles, the nerve branches that supply them, and the default montage."""

from __future__ import annotations

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
    for m in MUSCLES.values():
        if m.key in low or m.short.lower() in low or m.name.lower() in low:
            return m
    return None


def default_labels(n_channels: int, side: str = "left") -> tuple[str, ...]:
    """Labels for ``n_channels``: the default montage first, then the other muscles,
    then the same muscles on the other side (up to 16 channels)."""
    if not 1 <= n_channels <= 16:
        raise ValueError(f"The monitor takes 1 to 16 channels, not {n_channels}.")
    order = list(DEFAULT_MUSCLES) + [k for k in MUSCLES if k not in DEFAULT_MUSCLES]
    other = "right" if side == "left" else "left"
    labels = [channel_label(k, side) for k in order] + [channel_label(k, other) for k in order]
    return tuple(labels[:n_channels])
