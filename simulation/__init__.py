"""Simulated patients: the EMG model, needle electrodes and scripted training scenarios.

Pure signal generation on top of the core's data types (:mod:`monitor`); it knows no
device, file or screen. :mod:`drivers` adapts it into sources (the built-in simulator, the
simulated amplifier on a serial link, a scenario's source) and :mod:`training` uses the
scenarios' ground truth directly.
"""
