"""Simulator-based training: the trainee's actions, their scoring and the debrief.

Qt-free, like the core; it reads the scenario engine's ground truth (drivers) and the
monitor's alarms and events (monitor).
"""
