"""Montage presets per procedure, with channel sides relative to the side of the operation.

A preset says "orbicularis oculi on the operated side", not "left orbicularis oculi", so the
same preset serves a left and a right case; :meth:`MontagePreset.montage` makes the
case's :class:`~monitor.montage.Montage` for a side.

Factory presets (docs/clinical.md §1 and §7):

- **MVD for hemifacial spasm**: orbicularis oculi, orbicularis oris, mentalis and frontalis
  on the affected side, the montage of the lateral spread response: with these four
  muscles the LSR is seen in 97.9 % of patients [6] (mentalis 78 %, oris 65 %, frontalis
  44 %, oculi 39 % alone). A 5-channel variant adds platysma (mentalis, oris, frontalis,
  platysma: 98.4 % [5]).
- **Vestibular schwannoma**: every branch of the facial nerve on the tumour side
  (frontalis, orbicularis oculi, orbicularis oris, mentalis, platysma) and the masseter as
  a trigeminal control: activity there too is not facial-nerve irritation. 4- and
  8-channel variants (the 8 add nasalis and zygomaticus, as in extended VS montages [30]).
- **Other cerebellopontine-angle surgery**: frontalis, orbicularis oculi, orbicularis oris,
  mentalis and the masseter as trigeminal control.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.casesetup import Procedure
from monitor.montage import (
    MAX_CHANNELS,
    MUSCLES,
    SIDES,
    ChannelSpec,
    Montage,
    MontageError,
    check_colour,
    check_muscle,
)


def other_side(side: str) -> str:
    return "right" if side == "left" else "left"


@dataclass(frozen=True, slots=True)
class PresetChannel:
    """A muscle on the operated side (``contralateral=False``) or on the other side."""

    muscle: str
    contralateral: bool = False
    colour: str | None = None

    def __post_init__(self) -> None:
        check_muscle(self.muscle)
        object.__setattr__(self, "contralateral", bool(self.contralateral))
        object.__setattr__(self, "colour", check_colour(self.colour))

    def spec(self, side: str) -> ChannelSpec:
        return ChannelSpec(
            self.muscle, other_side(side) if self.contralateral else side, self.colour
        )


@dataclass(frozen=True, slots=True)
class MontagePreset:
    """A named montage relative to the side of the operation."""

    name: str
    channels: tuple[PresetChannel, ...]

    def __post_init__(self) -> None:
        name = " ".join(str(self.name).split())
        if not 1 <= len(name) <= 40:
            raise MontageError("A montage preset needs a name of 1 to 40 characters.")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "channels", tuple(self.channels))
        if not 1 <= len(self.channels) <= MAX_CHANNELS:
            raise MontageError(
                f"A montage has 1 to {MAX_CHANNELS} channels, not {len(self.channels)}."
            )

    def montage(self, side: str) -> Montage:
        """The case's montage when operating on ``side``."""
        if side not in SIDES:
            raise MontageError(f"The side must be left or right, not {side!r}.")
        return Montage(tuple(ch.spec(side) for ch in self.channels))

    @classmethod
    def from_montage(cls, name: str, montage: Montage, side: str) -> MontagePreset:
        """A preset from a case's montage, its sides taken relative to ``side``."""
        return cls(
            name,
            tuple(PresetChannel(ch.muscle, ch.side != side, ch.colour) for ch in montage.channels),
        )

    # -- stored form (JSON) ------------------------------------------------------------------
    def to_list(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for ch in self.channels:
            item: dict[str, object] = {"muscle": ch.muscle}
            item["side"] = "opposite" if ch.contralateral else "operated"
            if ch.colour is not None:
                item["colour"] = ch.colour
            out.append(item)
        return out

    @classmethod
    def from_list(cls, name: str, items: object) -> MontagePreset:
        """Inverse of :meth:`to_list`; raises :class:`MontageError` in words."""
        if not isinstance(items, list):
            raise MontageError(f"The montage preset {name!r} must be a list of channels.")
        channels = []
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict) or not isinstance(item.get("muscle"), str):
                raise MontageError(f"Channel {i} of the montage preset {name!r} names no muscle.")
            side = item.get("side", "operated")
            if side not in ("operated", "opposite"):
                raise MontageError(
                    f"Channel {i} of the montage preset {name!r}: the side must be "
                    f"'operated' or 'opposite', not {side!r}."
                )
            channels.append(PresetChannel(item["muscle"], side == "opposite", item.get("colour")))
        return cls(name, tuple(channels))


def _preset(name: str, *muscles: str) -> MontagePreset:
    return MontagePreset(name, tuple(PresetChannel(m) for m in muscles))


_MVD = ("oculi", "oris", "mentalis", "frontalis")
_VS = ("frontalis", "oculi", "oris", "mentalis", "platysma", "masseter")

#: Factory presets per procedure; the first is the procedure's default.
FACTORY_PRESETS: dict[Procedure, tuple[MontagePreset, ...]] = {
    Procedure.MVD_HFS: (
        _preset("MVD, 4 channels", *_MVD),
        _preset("MVD, 5 channels with platysma", *_MVD, "platysma"),
    ),
    Procedure.VESTIBULAR_SCHWANNOMA: (
        _preset("VS, 6 channels with masseter", *_VS),
        _preset("VS, 4 channels", *_VS[:4]),
        _preset(
            "VS, 8 channels",
            "frontalis",
            "oculi",
            "nasalis",
            "zygomaticus",
            "oris",
            "mentalis",
            "platysma",
            "masseter",
        ),
    ),
    Procedure.OTHER_CPA: (
        _preset(
            "CPA, 5 channels with masseter", "frontalis", "oculi", "oris", "mentalis", "masseter"
        ),
        _preset("CPA, 4 channels", "frontalis", "oculi", "oris", "mentalis"),
    ),
}


def default_preset(procedure: Procedure) -> MontagePreset:
    """The procedure's factory default montage."""
    return FACTORY_PRESETS[procedure][0]


def next_muscle(used: list[str] | tuple[str, ...]) -> str:
    """The first muscle of :data:`~monitor.montage.MUSCLES` not in ``used`` (for a channel
    added to a montage); the first muscle when every one is used."""
    for key in MUSCLES:
        if key not in used:
            return key
    return next(iter(MUSCLES))
