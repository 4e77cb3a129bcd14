"""Sub-commands of main.py other than the monitor itself (simulate-device, ...)."""
