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

# Version of the config entries this code writes. Version 2: select values are stored
# lowercase (they are translation keys): phases, zone phases, parity. A major version, as
# earlier code would misread them (a single-phase zone "l1" as three-phase): Home
# Assistant refuses to load a version 2 hub in earlier code instead.
ENTRY_VERSION: Final = 2
ENTRY_MINOR_VERSION: Final = 1

# Subentry types
SUBENTRY_STATION: Final = "station"
SUBENTRY_BADGE: Final = "badge"

# Station subentry
CONF_STATION_ID: Final = "station_id"
CONF_MODEL: Final = "model"
CONF_CONNECTORS: Final = "connectors"
CONF_PHASES: Final = "phases"  # the wiring: "l1", "l2", "l3" or a rotation "l1-l2-l3"…
WIRING_THREE_PHASES: Final = "l1-l2-l3"
CONF_MIN_CURRENT: Final = "min_current"
CONF_MAX_CURRENT: Final = "max_current"

MODEL_STANDARD: Final = "standard"
MODEL_ABB_TERRA: Final = "abb_terra"

# Badge subentry
CONF_TAG: Final = "tag"
CONF_HOLDER: Final = "holder"
CONF_STATUS: Final = "status"
CONF_EXPIRY: Final = "expiry"
CONF_GROUP: Final = "group"  # the group's tag, sent as parentIdTag
BADGE_ACTIVE: Final = "active"
BADGE_BLOCKED: Final = "blocked"

# Smallest current IEC 61851 can signal to a car.
MIN_SIGNAL_CURRENT: Final = 6.0

EVENT_AUTHORIZATION: Final = "authorization"

# Subentry types added for load management
SUBENTRY_CONNECTION: Final = "connection"
SUBENTRY_METER: Final = "meter"
SUBENTRY_ZONE: Final = "zone"

# Connection subentry (a Modbus bus)
CONF_NAME: Final = "name"
CONF_KIND: Final = "kind"  # "tcp" | "rtu_over_tcp" | "rtu"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_BAUDRATE: Final = "baudrate"
CONF_PARITY: Final = "parity"  # "none" | "even" | "odd"
CONF_STOPBITS: Final = "stopbits"
CONF_BYTESIZE: Final = "bytesize"
CONF_TIMEOUT: Final = "timeout"
DEFAULT_MODBUS_PORT: Final = 502
DEFAULT_BAUDRATE: Final = 9600
DEFAULT_MODBUS_TIMEOUT: Final = 1.0
PARITY_NONE: Final = "none"
PARITY_EVEN: Final = "even"
PARITY_ODD: Final = "odd"

# Meter subentry
CONF_CONNECTION: Final = "connection"  # subentry id of the connection
CONF_UNIT: Final = "unit"  # Modbus address 1..247
CONF_METER_MODEL: Final = "meter_model"  # key of meters.registers.MODELS or "custom"
CONF_REGISTERS: Final = "registers"  # custom model: {quantity: {function, address, ...}}
CONF_AMPERAGE: Final = "amperage"  # rating of the supply the meter protects (A)
CONF_POLL_INTERVAL: Final = "poll_interval"  # seconds
DEFAULT_POLL_INTERVAL: Final = 1.0
METER_MODEL_CUSTOM: Final = "custom"

# Zone subentry
CONF_ZONE_PHASES: Final = "zone_phases"  # "l1-l2-l3" | "l1" | "l2" | "l3"
ZONE_THREE_PHASES: Final = "l1-l2-l3"
CONF_DLM_METERS: Final = "dlm_meters"  # list of meter subentry ids
CONF_CONSUMPTION_METER: Final = "consumption_meter"  # meter subentry id (optional)
CONF_PARENT_ZONE: Final = "parent_zone"  # zone subentry id (optional)
CONF_FAILSAFE_CURRENT: Final = "failsafe_current"
CONF_STALE_AFTER: Final = "stale_after"  # seconds
DEFAULT_FAILSAFE_CURRENT: Final = 6.0
DEFAULT_STALE_AFTER: Final = 10.0

# Station subentry: the zone it belongs to (zone subentry id, optional)
CONF_ZONE: Final = "zone"
# Station subentry: priority in its zone (higher charges first when the zone is short)
CONF_PRIORITY: Final = "priority"
# Station subentry: how its sessions charge (fast, solar_min, solar, off; dlm/solar.py)
CONF_CHARGING_MODE: Final = "charging_mode"
# Station subentry: the station may be switched between one and three phases through the
# numberPhases of its charging profiles (solar modes, with a grid meter netting phases)
CONF_PHASE_SWITCHING: Final = "phase_switching"
# Meter subentry: the meter at the building's grid connection (its export is the surplus)
CONF_GRID_METER: Final = "grid_connection"

EVENT_FAILSAFE: Final = "charge_zones_failsafe"
# A DataTransfer from a station (its vendorId, messageId and data), for automations.
EVENT_DATA_TRANSFER: Final = "charge_zones_data_transfer"

# Hub option: how long an increase of a station's limit waits after its last change
CONF_RAISE_HOLD: Final = "raise_hold"
DEFAULT_RAISE_HOLD: Final = 15.0
# Hub option: minutes a live limit stays valid on a station before it falls back to the
# fail-safe profile below it (refreshed while Home Assistant runs)
CONF_PROFILE_VALIDITY: Final = "profile_validity"
DEFAULT_PROFILE_VALIDITY: Final = 10
# Rotation (min): a paused session takes the place of one that has charged this much longer.
CONF_ROTATION_PERIOD: Final = "rotation_period"
DEFAULT_ROTATION_PERIOD: Final = 15
# Hub option: seconds between two state writes of a station's readings (power, currents,
# energy); 0 writes every MeterValues. The load manager uses every reading regardless.
CONF_SENSOR_INTERVAL: Final = "sensor_update_interval"
DEFAULT_SENSOR_INTERVAL: Final = 30
# Hub options: the delays of solar charging (s): a session starts once the surplus has
# covered its minimum for the start delay, runs at least the minimum on-time, and stops
# when the surplus has stayed short for the stop delay.
CONF_SOLAR_START_DELAY: Final = "solar_start_delay"
DEFAULT_SOLAR_START_DELAY: Final = 60
CONF_SOLAR_STOP_DELAY: Final = "solar_stop_delay"
DEFAULT_SOLAR_STOP_DELAY: Final = 300
CONF_SOLAR_MIN_ON: Final = "solar_min_on_time"
DEFAULT_SOLAR_MIN_ON: Final = 600
# Hub option: the surplus is averaged over this window (s; 0: each reading as it is)
CONF_SOLAR_SMOOTHING: Final = "solar_smoothing"
DEFAULT_SOLAR_SMOOTHING: Final = 30
CONF_SOLAR_START_MARGIN: Final = "solar_start_margin"
DEFAULT_SOLAR_START_MARGIN: Final = 3.0
# The site's peak limit: the highest 15-minute average import from the grid (kW).
CONF_PEAK_LIMIT: Final = "peak_limit"
# A zone's reduced maximum (tariff windows): the current, while an on/off entity (a
# schedule helper, a binary sensor...) is on or a price entity is above a threshold.
CONF_REDUCED_CURRENT: Final = "reduced_current"
CONF_REDUCE_WHEN: Final = "reduce_when"
CONF_REDUCE_PRICE: Final = "reduce_price_entity"
CONF_REDUCE_PRICE_ABOVE: Final = "reduce_price_above"
# The Scheduled charging mode's window (hub options): sessions charge while an on/off
# entity is on or a price entity is below a threshold.
CONF_SCHEDULE_WHEN: Final = "schedule_when"
CONF_SCHEDULE_PRICE: Final = "schedule_price_entity"
CONF_SCHEDULE_PRICE_BELOW: Final = "schedule_price_below"

# Station subentry: where it connects ("local": the central system's server; "remote": Home
# Assistant's web server, for cloud-connected stations, never load-managed) and its
# password (OCPP security profile 1: HTTP Basic, pushed as AuthorizationKey).
CONF_ENDPOINT: Final = "endpoint"
ENDPOINT_LOCAL: Final = "local"
ENDPOINT_REMOTE: Final = "remote"
CONF_PASSWORD: Final = "password"
PASSWORD_MIN_LENGTH: Final = 16
PASSWORD_MAX_LENGTH: Final = 40

# Hub: TLS on the central system's server (OCPP security profile 2)
CONF_TLS: Final = "tls"  # "none" | "home_assistant" | "files"
TLS_NONE: Final = "none"
TLS_HOME_ASSISTANT: Final = "home_assistant"
TLS_FILES: Final = "files"
CONF_CERTFILE: Final = "certfile"
CONF_KEYFILE: Final = "keyfile"

# Path of the remote OCPP endpoint on Home Assistant's web server
REMOTE_OCPP_PATH: Final = "/api/charge_zones/ocpp"

# Repairs: a meter is reported unreachable after this many failed reads in a row, and
# rejected credentials after this many refusals in a row.
METER_UNREACHABLE_AFTER: Final = 5
CREDENTIALS_REJECTED_AFTER: Final = 3

# Hub options: billing tariff ("none" | "fixed" | "entity", see billing.TARIFF_KINDS)
CONF_TARIFF: Final = "tariff"
CONF_PRICE: Final = "price"  # per kWh, fixed tariff
CONF_CURRENCY: Final = "currency"  # default: Home Assistant's currency
CONF_PRICE_ENTITY: Final = "price_entity"  # sensor or input_number holding the price
# Hub options: a self-consumption community's split of charged energy into solar and grid
# (billing.solar_fraction): the PV production sensor, and the price of solar energy (a
# fixed price or an entity; without either, solar energy is billed at the tariff's).
CONF_PV_POWER: Final = "pv_power_entity"
# Hub options: the grid connection as Home Assistant power sensors (a P1/DSMR meter, an
# inverter's smart meter...) instead of a Modbus meter: the power (import positive,
# export negative), or import and export as two sensors.
CONF_GRID_POWER: Final = "grid_power_entity"
CONF_GRID_EXPORT: Final = "grid_export_entity"
# Hub options: the grid meter bills the sum of the phases (import on one phase paid with
# export on another, as most electronic meters in Europe do): the surplus is pooled.
CONF_GRID_NETS_PHASES: Final = "grid_nets_phases"
# How long such a reading counts after the sensor last reported (s): P1/DSMR meters
# report every 1 to 10 s, inverters every 5 to 30 s.
GRID_SENSOR_MAX_AGE: Final = 30.0
# The PV production sensor's value counts this long after it last reported (s): a cloud
# integration that freezes at dusk must not keep a production all night.
PV_SENSOR_MAX_AGE: Final = 120.0
CONF_SOLAR_PRICE: Final = "solar_price"
CONF_SOLAR_PRICE_ENTITY: Final = "solar_price_entity"
EXPORT_DIR: Final = "charge_zones/exports"  # under Home Assistant's config directory
