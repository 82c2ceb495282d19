"""The subentry forms of the hub, one module each (the hub's own form: config_flow.py)."""
