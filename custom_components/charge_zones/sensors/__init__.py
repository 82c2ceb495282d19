"""The sensors of each device kind, one module each (set up by sensor.py)."""
