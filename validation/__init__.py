"""An independent judge for the monitor's detectors.

Signal generators written from the EMG-modelling literature, *not* from the project's
simulator (``simulation/emgsynth.py``): free-running facial EMG with A-trains and their
distractors (:mod:`validation.freerun_signals`), stimulated sweeps with the direct
M-response and the lateral spread response (:mod:`validation.evoked_signals`), the
waveform, firing and interference models they are built from
(:mod:`validation.waveforms`, :mod:`validation.firing`, :mod:`validation.interference`),
an in-memory :class:`~monitor.source.Source` that serves them (:mod:`validation.source`),
the monitor's own pipeline run over it (:mod:`validation.pipeline`) and the matching of
what it reports to the exact truth (:mod:`validation.scoring`).

Nothing here imports ``drivers``: a test enforces it, so that the judge cannot share a
modelling assumption with the simulator the detectors were developed on.
"""
