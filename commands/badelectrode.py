"""``--bad-electrode``: a bad needle in the simulated patient, for main.py and simulate-device."""

from __future__ import annotations

import argparse

from simulation.electrodes import BAD_KOHM, NEEDLES, BadElectrode

HELP = (
    "make a needle of the simulated patient bad: CHANNEL[:active|reference][:KOHM|off], "
    "channel counted from 1 at the top; default the reference needle at "
    f"{BAD_KOHM:g} kΩ (e.g. 2, 2:active, 2:reference:8.5, 3:active:off); may be repeated"
)
_FORM = "--bad-electrode must look like 2, 2:active, 2:reference:8.5 or 2:active:off"


def bad_electrode_arg(text: str) -> BadElectrode:
    """An argparse type: ``2``, ``2:active``, ``2:reference:8.5`` or ``2:active:off``."""
    parts = [p.strip().lower() for p in text.split(":")]
    if not 1 <= len(parts) <= 3 or not parts[0].isdigit() or int(parts[0]) < 1:
        raise argparse.ArgumentTypeError(f"{_FORM} (channel from 1), not {text!r}")
    which = parts[1] if len(parts) > 1 else "reference"
    if which not in NEEDLES:
        raise argparse.ArgumentTypeError(f"{_FORM}: the needle is active or reference")
    kohm: float | None = BAD_KOHM
    if len(parts) == 3:
        if parts[2] == "off":
            kohm = None
        else:
            try:
                kohm = float(parts[2])
            except ValueError:
                raise argparse.ArgumentTypeError(f"{_FORM}, not {text!r}") from None
    try:
        return BadElectrode(int(parts[0]) - 1, which, kohm)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
