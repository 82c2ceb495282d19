"""Constants for Charge Zones."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "charge_zones"
LOGGER = logging.getLogger(__package__)

# Hub (config entry data / options)
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_HEARTBEAT_INTERVAL: Final = "heartbeat_interval"
CONF_METER_INTERVAL: Final = "meter_value_sample_interval"

DEFAULT_HOST: Final = "0.0.0.0"
DEFAULT_PORT: Final = 9000
DEFAULT_HEARTBEAT_INTERVAL: Final = 300
DEFAULT_METER_INTERVAL: Final = 10

# Subentry types
SUBENTRY_STATION: Final = "station"
SUBENTRY_BADGE: Final = "badge"

# Station subentry
CONF_STATION_ID: Final = "station_id"
CONF_MODEL: Final = "model"
CONF_CONNECTORS: Final = "connectors"
CONF_PHASES: Final = "phases"
CONF_MIN_CURRENT: Final = "min_current"
CONF_MAX_CURRENT: Final = "max_current"

MODEL_STANDARD: Final = "standard"
MODEL_ABB_TERRA: Final = "abb_terra"

# Badge subentry
CONF_TAG: Final = "tag"
CONF_HOLDER: Final = "holder"
CONF_STATUS: Final = "status"
CONF_EXPIRY: Final = "expiry"
BADGE_ACTIVE: Final = "active"
BADGE_BLOCKED: Final = "blocked"

# Smallest current IEC 61851 can signal to a car.
MIN_SIGNAL_CURRENT: Final = 6.0

EVENT_AUTHORIZATION: Final = "authorization"
