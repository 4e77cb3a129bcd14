"""Write recordings/demo_mvd.edf: a short simulated MVD case with annotated stimuli.

40 s, 4 channels at 10 kHz: spikes, a burst, two A-trains, a B-train, an electrocautery
episode, zygomatic-branch stimulation at 1 Hz with the lateral spread response, which
disappears at 30 s (decompression). Every stimulus is an EDF+ annotation starting with
``stim``; the generated events are annotated as ``truth: ...`` for teaching.

    .venv/bin/python scripts/make_demo.py [OUT]
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
from edfio import Edf, EdfAnnotation, EdfSignal, Patient, Recording

from monitor.montage import default_labels
from simulation.emgsynth import ALL_CHANNELS, EmgSynth, SimConfig

DURATION_S = 40.0
RANGE_UV = 8000.0


def build() -> Edf:
    labels = default_labels(4)
    cfg = SimConfig(
        rate=10_000.0,
        labels=labels,
        seed=2026,
        spikes_per_min=8,
        bursts_per_min=0,
        a_trains_per_min=0,
        b_trains_per_min=0,
        c_trains_per_min=0,
        cautery_per_min=0,
        lsr_gone_at_s=30.0,
    )
    synth = EmgSynth(cfg)
    synth.add_event("burst", 8.4, channel=1, duration_s=0.15, amplitude_uv=300)
    synth.add_event("a_train", 12.0, channel=2, duration_s=1.5, freq_hz=140, amplitude_uv=180)
    synth.add_event("artifact", 17.0, duration_s=2.0, amplitude_uv=1500)
    synth.add_event("a_train", 24.2, channel=1, duration_s=0.4, freq_hz=95, amplitude_uv=120)
    synth.add_event("b_train", 27.0, channel=3, duration_s=2.0, freq_hz=12, amplitude_uv=150)
    n = int(DURATION_S * cfg.rate)
    data = np.vstack([synth.render(i, 10_000)[0] for i in range(0, n, 10_000)])
    data = np.clip(data, -RANGE_UV, RANGE_UV)
    rate = cfg.rate
    notes = [EdfAnnotation(0.0, None, "Simulated MVD demo case (Facial Nerve Monitor)")]
    for st in synth.stim_truth:
        m = st.marker
        notes.append(
            EdfAnnotation(
                m.index / rate, None, f"stim {m.current_ma:g} mA {m.width_ms:g} ms {m.site}"
            )
        )
    for ev in synth.truth:
        where = "all channels" if ev.channel == ALL_CHANNELS else labels[ev.channel]
        freq = f" {ev.freq_hz:.0f} Hz" if ev.freq_hz else ""
        notes.append(
            EdfAnnotation(
                ev.onset / rate,
                (ev.offset - ev.onset) / rate,
                f"truth: {ev.kind} {where}{freq} {ev.peak_uv:.0f} uV",
            )
        )
    notes.append(EdfAnnotation(30.0, None, "decompression: LSR gone from here"))
    signals = [
        EdfSignal(
            data[:, ch].astype(np.float64),
            rate,
            label=label,
            transducer_type="subdermal needle",
            physical_dimension="uV",
            physical_range=(-RANGE_UV, RANGE_UV),
            prefiltering="none (simulated)",
        )
        for ch, label in enumerate(labels)
    ]
    return Edf(
        signals,
        patient=Patient(code="DEMO", name="X"),
        recording=Recording(
            startdate=dt.date(2026, 1, 1), equipment_code="FacialNerveMonitor-simulator"
        ),
        starttime=dt.time(9, 0, 0),
        data_record_duration=1.0,
        annotations=sorted(notes, key=lambda a: a.onset),
    )


def main() -> None:
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[1] / "recordings" / "demo_mvd.edf"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    build().write(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
