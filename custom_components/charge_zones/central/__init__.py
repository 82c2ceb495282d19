"""OCPP 1.6J central system: server, one session per station, model quirks as data.

Nothing in this package imports Home Assistant.
"""
