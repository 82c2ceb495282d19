"""Dynamic load management, pure: plain dataclasses in, limits out.

No I/O and no Home Assistant here; only the standard library.
"""
