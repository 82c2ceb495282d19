"""Simulators of charging stations (and later meters), used by tests, the demo and benchmarks."""
