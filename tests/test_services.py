"""Actions, buttons, the availability switch and the max current number, over real sockets.

Every command goes from a Home Assistant action or entity through the hub's OCPP server
to a simulated station connected on 127.0.0.1; the tests check what the station received.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call_result
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import CONF_MAX_CURRENT, DOMAIN
from custom_components.charge_zones.diagnostics import async_get_config_entry_diagnostics
from custom_components.charge_zones.stations import Station
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from simulator.station import SimulatedStation, StationBehaviour, StationClient

from .conftest import DEFAULT_BADGES, STATION_ID, station_subentry, ws_url
from .helpers import entity_id, state_of, wait_until

SUB = f"sub_{STATION_ID}"
OTHER_ID = "OTHER-STATION-02"
OTHER_SUB = f"sub_{OTHER_ID}"

# The conftest's badges as the station must receive them (SendLocalList, sorted by tag).
# BADGE-OLD expired at the end of 2020-01-31 in the hub's time zone (US/Pacific in
# tests, UTC-8 in January): 2020-02-01T07:59:59Z; it goes out as Expired.
EXPECTED_LOCAL_LIST = [
    {"id_tag": "BADGE-ALICE", "id_tag_info": {"status": "Accepted"}},
    {"id_tag": "BADGE-BOB", "id_tag_info": {"status": "Blocked"}},
    {
        "id_tag": "BADGE-OLD",
        "id_tag_info": {"status": "Expired", "expiry_date": "2020-02-01T07:59:59Z"},
    },
]

ABB_TERRA = [station_subentry(model="abb_terra"), *DEFAULT_BADGES]
TWO_STATIONS = [station_subentry(), station_subentry(OTHER_ID), *DEFAULT_BADGES]


# --- helpers -----------------------------------------------------------------------


def unstarted(profile: dict[str, Any]) -> dict[str, Any]:
    """An Absolute profile without its startSchedule, which must be there: UTC, not
    after now (the rest is compared as it is)."""
    schedule = dict(profile["charging_schedule"])
    start = schedule.pop("start_schedule")
    assert start.endswith("Z")
    assert datetime.fromisoformat(start.replace("Z", "+00:00")) <= datetime.now(UTC)
    return {**profile, "charging_schedule": schedule}


def runtime(entry: MockConfigEntry, subentry_id: str = SUB) -> Station:
    """The integration's runtime of a station."""
    return entry.runtime_data.stations[subentry_id]


def device_id(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str = SUB) -> str:
    """Device id of a station (its subentry)."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id), entry.entry_id
    )
    assert device is not None
    return device.id


def hub_device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Device id of the hub itself."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    return device.id


async def call(hass: HomeAssistant, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Call one of the integration's actions and return its response."""
    response = await hass.services.async_call(
        DOMAIN, name, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def commands(sim: SimulatedStation, action: str) -> list[dict[str, Any]]:
    """Payloads of every command of one kind the station received."""
    return [payload for got, payload in sim.received if got == action]


async def press(hass: HomeAssistant, unique_id: str) -> None:
    """Press a button by unique id."""
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", unique_id)},
        blocking=True,
    )


async def boot_and_configure(
    hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Boot the station and let the hub finish configuring it (the limit comes last)."""
    await sim.boot()
    await sim.wait_for("SetChargingProfile")
    await wait_until(hass, lambda: runtime(entry).profile_status is not None)


@pytest.fixture
async def sim(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> SimulatedStation:
    """The simulated station, once the hub has attached its connection."""
    assert client.station is not None
    await wait_until(hass, lambda: runtime(loaded_entry).connected)
    return client.station


# --- actions: one per command --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ocpp_type"), [({}, "Soft"), ({"type": "soft"}, "Soft"), ({"type": "hard"}, "Hard")]
)
async def test_reset(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    data: dict[str, Any],
    ocpp_type: str,
) -> None:
    """Reset: soft by default, hard on request."""
    response = await call(hass, "reset", {"device_id": device_id(hass, loaded_entry), **data})
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == ("Reset", {"type": ocpp_type})


@pytest.mark.parametrize(("data", "connector"), [({}, 1), ({"connector_id": 2}, 2)])
async def test_unlock_connector(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    data: dict[str, Any],
    connector: int,
) -> None:
    """UnlockConnector: connector 1 unless told otherwise."""
    response = await call(
        hass, "unlock_connector", {"device_id": device_id(hass, loaded_entry), **data}
    )
    assert response == {"status": "Unlocked"}
    assert sim.received[-1] == ("UnlockConnector", {"connector_id": connector})


async def test_unlock_connector_zero_is_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Connector 0 is the station, not a connector: nothing to unlock (OCPP: > 0).

    services.yaml offers 1..99 for unlock_connector; the action's schema must agree.
    """
    with pytest.raises(vol.Invalid):
        await call(
            hass,
            "unlock_connector",
            {"device_id": device_id(hass, loaded_entry), "connector_id": 0},
        )
    assert not commands(sim, "UnlockConnector")


async def test_change_availability(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """ChangeAvailability: connector 0 by default; only connector 0 is the station's own."""
    station_device = device_id(hass, loaded_entry)
    response = await call(
        hass, "change_availability", {"device_id": station_device, "available": False}
    )
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == ("ChangeAvailability", {"connector_id": 0, "type": "Inoperative"})
    assert sim.state.availability == "Inoperative"
    assert runtime(loaded_entry).available is False
    assert state_of(hass, "switch", f"{SUB}_availability") == "off"

    response = await call(
        hass,
        "change_availability",
        {"device_id": station_device, "available": True, "connector_id": 1},
    )
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == ("ChangeAvailability", {"connector_id": 1, "type": "Operative"})
    # A connector's availability is not the station's.
    assert runtime(loaded_entry).available is False
    assert state_of(hass, "switch", f"{SUB}_availability") == "off"

    await call(hass, "change_availability", {"device_id": station_device, "available": True})
    assert sim.received[-1] == ("ChangeAvailability", {"connector_id": 0, "type": "Operative"})
    assert state_of(hass, "switch", f"{SUB}_availability") == "on"


async def test_set_charging_profile_standard_stack_level(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Standard OCPP: ChargeProfileMaxStackLevel - 1 (the station reports 3 → 2)."""
    await boot_and_configure(hass, loaded_entry, sim)
    # The limit the hub sent at boot already used stack level 2.
    assert sim.state.profiles[1]["stack_level"] == 2

    response = await call(
        hass, "set_charging_profile", {"device_id": device_id(hass, loaded_entry), "limit": 10}
    )
    expected = {
        "charging_profile_id": 1,
        "stack_level": 2,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 10.0}],
        },
    }
    assert response["status"] == "Accepted"
    assert response["connector_id"] == 0
    assert unstarted(response["profile"]) == expected
    action, payload = sim.received[-1]
    assert action == "SetChargingProfile"
    assert payload["connector_id"] == 0
    assert unstarted(payload["cs_charging_profiles"]) == expected
    assert unstarted(sim.state.profiles[1]) == expected
    assert runtime(loaded_entry).profile_status == "Accepted"


async def test_set_charging_profile_every_field(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Explicit unit, connector, stack level, id, phases and duration are sent."""
    await boot_and_configure(hass, loaded_entry, sim)
    response = await call(
        hass,
        "set_charging_profile",
        {
            "device_id": device_id(hass, loaded_entry),
            "limit": 7360.04,
            "unit": "W",
            "connector_id": 1,
            "stack_level": 1,
            "profile_id": 7,
            "number_phases": 1,
            "duration": 3600,
        },
    )
    assert response["status"] == "Accepted"
    action, payload = sim.received[-1]
    assert (
        action,
        {**payload, "cs_charging_profiles": unstarted(payload["cs_charging_profiles"])},
    ) == (
        "SetChargingProfile",
        {
            "connector_id": 1,
            "cs_charging_profiles": {
                "charging_profile_id": 7,
                "stack_level": 1,
                "charging_profile_purpose": "TxDefaultProfile",
                "charging_profile_kind": "Absolute",
                "charging_schedule": {
                    "charging_rate_unit": "W",
                    "duration": 3600,
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 7360.0, "number_phases": 1}
                    ],
                },
            },
        },
    )


async def test_set_charging_profile_charge_point_max(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """ChargePointMaxProfile goes to connector 0 (the default)."""
    await boot_and_configure(hass, loaded_entry, sim)
    response = await call(
        hass,
        "set_charging_profile",
        {
            "device_id": device_id(hass, loaded_entry),
            "limit": 25,
            "purpose": "ChargePointMaxProfile",
            "profile_id": 3,
        },
    )
    assert response["status"] == "Accepted"
    action, payload = sim.received[-1]
    assert action == "SetChargingProfile"
    assert payload["connector_id"] == 0
    profile = payload["cs_charging_profiles"]
    assert profile["charging_profile_purpose"] == "ChargePointMaxProfile"
    assert profile["charging_profile_id"] == 3
    assert profile["stack_level"] == 2
    assert "transaction_id" not in profile
    assert sim.state.profiles[3] == profile


@pytest.mark.parametrize("subentries", [ABB_TERRA])
@pytest.mark.parametrize("behaviour", [StationBehaviour(reject_stack_level_at_max=True)])
async def test_set_charging_profile_abb_terra_stack_level(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """ABB Terra: stack level 0 whatever the station reports, and it accepts it."""
    await boot_and_configure(hass, loaded_entry, sim)
    assert runtime(loaded_entry).configuration["ChargeProfileMaxStackLevel"]["value"] == "3"
    assert sim.state.profiles[1]["stack_level"] == 0
    assert runtime(loaded_entry).profile_status == "Accepted"

    response = await call(
        hass, "set_charging_profile", {"device_id": device_id(hass, loaded_entry), "limit": 12}
    )
    assert response["status"] == "Accepted"
    action, payload = sim.received[-1]
    assert action == "SetChargingProfile"
    assert payload["cs_charging_profiles"]["stack_level"] == 0
    assert payload["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"] == [
        {"start_period": 0, "limit": 12.0}
    ]


@pytest.mark.parametrize("behaviour", [StationBehaviour(reject_profiles=True)])
async def test_set_charging_profile_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A rejected profile is reported in the response and on the station."""
    response = await call(
        hass, "set_charging_profile", {"device_id": device_id(hass, loaded_entry), "limit": 8}
    )
    assert response["status"] == "Rejected"
    assert runtime(loaded_entry).profile_status == "Rejected"
    assert not sim.state.profiles


async def test_tx_profile_needs_a_transaction(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """TxProfile: refused without a transaction, else it carries the transaction id."""
    station_device = device_id(hass, loaded_entry)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_charging_profile",
            {"device_id": station_device, "limit": 10, "purpose": "TxProfile", "connector_id": 1},
        )
    assert err.value.translation_key == "no_transaction"
    assert err.value.translation_placeholders == {"station": STATION_ID}
    assert not commands(sim, "SetChargingProfile")

    started = await sim.start_transaction(1, "BADGE-ALICE", 1000)
    response = await call(
        hass,
        "set_charging_profile",
        {"device_id": station_device, "limit": 10, "purpose": "TxProfile", "connector_id": 1},
    )
    assert response["status"] == "Accepted"
    action, payload = sim.received[-1]
    assert action == "SetChargingProfile"
    assert payload["connector_id"] == 1
    profile = payload["cs_charging_profiles"]
    assert profile["charging_profile_purpose"] == "TxProfile"
    assert profile["transaction_id"] == started.transaction_id
    assert response["profile"]["transaction_id"] == started.transaction_id


async def test_tx_profile_on_another_connector_has_no_transaction(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A transaction on connector 1 does not make a TxProfile for connector 2 valid."""
    await sim.start_transaction(1, "BADGE-ALICE", 1000)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_charging_profile",
            {
                "device_id": device_id(hass, loaded_entry),
                "limit": 10,
                "purpose": "TxProfile",
                "connector_id": 2,
            },
        )
    assert err.value.translation_key == "no_transaction"
    assert not commands(sim, "SetChargingProfile")


async def test_tx_profile_without_connector_goes_to_the_session_connector(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A TxProfile with the default connector (0) is sent on the transaction's connector.

    OCPP 1.6 has no TxProfile on connector 0: stations refuse it (MicroOcpp answers
    PropertyConstraintViolation "Cannot set TxProfile at connectorId 0"). The action
    already picks the open session when no connector is given; the profile must then
    target that session's connector.
    """
    started = await sim.start_transaction(1, "BADGE-ALICE", 1000)
    response = await call(
        hass,
        "set_charging_profile",
        {"device_id": device_id(hass, loaded_entry), "limit": 10, "purpose": "TxProfile"},
    )
    assert response["status"] == "Accepted"
    action, payload = sim.received[-1]
    assert action == "SetChargingProfile"
    assert payload["cs_charging_profiles"]["transaction_id"] == started.transaction_id
    assert payload["connector_id"] == 1


@pytest.mark.parametrize("purpose", ["ChargePointMaxProfile", "TxProfile"])
async def test_other_purposes_keep_the_max_current_profile(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation, purpose: str
) -> None:
    """A profile of another purpose, without an id, must not replace the hub's limit.

    OCPP 1.6: a profile with the chargingProfileId of an installed one replaces it. The
    hub's maximum current is the TxDefaultProfile with id 1; a ChargePointMaxProfile or
    TxProfile sent with that same id evicts it (a TxProfile then vanishes with its
    transaction, leaving the station without any limit).
    """
    await boot_and_configure(hass, loaded_entry, sim)
    max_current_profile = sim.state.profiles[1]
    assert max_current_profile["charging_profile_purpose"] == "TxDefaultProfile"
    await sim.start_transaction(1, "BADGE-ALICE", 1000)

    response = await call(
        hass,
        "set_charging_profile",
        {
            "device_id": device_id(hass, loaded_entry),
            "limit": 10,
            "purpose": purpose,
            "connector_id": 0 if purpose == "ChargePointMaxProfile" else 1,
        },
    )
    assert response["status"] == "Accepted"
    assert response["profile"]["charging_profile_purpose"] == purpose
    assert response["profile"]["charging_profile_id"] != max_current_profile["charging_profile_id"]
    assert max_current_profile in sim.state.profiles.values()


@pytest.mark.parametrize(
    ("criteria", "sent"),
    [
        ({}, {}),
        ({"profile_id": 1}, {"id": 1}),
        (
            {"connector_id": 0, "purpose": "TxDefaultProfile", "stack_level": 2},
            {"connector_id": 0, "charging_profile_purpose": "TxDefaultProfile", "stack_level": 2},
        ),
    ],
)
async def test_clear_charging_profile(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    criteria: dict[str, Any],
    sent: dict[str, Any],
) -> None:
    """ClearChargingProfile carries exactly the criteria given."""
    station_device = device_id(hass, loaded_entry)
    await call(hass, "set_charging_profile", {"device_id": station_device, "limit": 10})
    assert 1 in sim.state.profiles

    response = await call(hass, "clear_charging_profile", {"device_id": station_device, **criteria})
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == ("ClearChargingProfile", sent)
    assert not sim.state.profiles

    # Nothing left to clear: the station says so.
    response = await call(hass, "clear_charging_profile", {"device_id": station_device, **criteria})
    assert response == {"status": "Unknown"}


async def test_update_configuration_one_station(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """update_configuration with a device: the full badge list, versioned."""
    assert hass.config.time_zone == "US/Pacific"
    station_device = device_id(hass, loaded_entry)
    expected_version = loaded_entry.runtime_data.sessions.local_list_version
    assert expected_version >= 1

    before = await call(hass, "get_local_list_version", {"device_id": station_device})
    assert before == {"version": 0, "expected": expected_version}
    assert sim.received[-1] == ("GetLocalListVersion", {})

    response = await call(hass, "update_configuration", {"device_id": station_device})
    assert response == {"stations": {STATION_ID: "Accepted"}}
    assert commands(sim, "SendLocalList") == [
        {
            "list_version": expected_version,
            "update_type": "Full",
            "local_authorization_list": EXPECTED_LOCAL_LIST,
        }
    ]
    assert sim.state.local_list_version == expected_version
    assert set(sim.state.local_list) == {"BADGE-ALICE", "BADGE-BOB", "BADGE-OLD"}
    assert runtime(loaded_entry).local_list_version == expected_version

    after = await call(hass, "get_local_list_version", {"device_id": station_device})
    assert after == {"version": expected_version, "expected": expected_version}


@pytest.mark.parametrize("subentries", [TWO_STATIONS])
async def test_update_configuration_every_station(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """update_configuration without a device: every station, offline ones reported."""
    response = await call(hass, "update_configuration", {})
    assert response == {"stations": {STATION_ID: "Accepted", OTHER_ID: "NotConnected"}}
    sent = commands(sim, "SendLocalList")
    assert len(sent) == 1
    assert sent[0]["update_type"] == "Full"
    assert sent[0]["local_authorization_list"] == EXPECTED_LOCAL_LIST


@pytest.mark.parametrize("subentries", [TWO_STATIONS])
async def test_update_configuration_offline_station_named(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Naming an offline station is an error, not a silent skip."""
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "update_configuration",
            {"device_id": [device_id(hass, loaded_entry, OTHER_SUB)]},
        )
    assert err.value.translation_key == "command_failed"
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["station"] == OTHER_ID
    assert not commands(sim, "SendLocalList")


async def test_get_configuration(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """get_configuration: every key by default, or the keys asked, with unknown ones."""
    station_device = device_id(hass, loaded_entry)
    response = await call(hass, "get_configuration", {"device_id": station_device})
    assert sim.received[-1] == ("GetConfiguration", {"key": None})
    assert response["unknown_keys"] == []
    assert response["configuration"] == [
        {"key": key, "value": value, "readonly": False}
        for key, value in sorted(sim.state.configuration.items())
    ]
    assert {"key": "ChargeProfileMaxStackLevel", "value": "3", "readonly": False} in response[
        "configuration"
    ]

    response = await call(
        hass,
        "get_configuration",
        {"device_id": station_device, "keys": ["HeartbeatInterval", "NoSuchKey"]},
    )
    assert sim.received[-1] == ("GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert response == {
        "configuration": [{"key": "HeartbeatInterval", "value": "60", "readonly": False}],
        "unknown_keys": ["NoSuchKey"],
    }

    # A single key is a list of one.
    response = await call(
        hass, "get_configuration", {"device_id": station_device, "keys": "NumberOfConnectors"}
    )
    assert sim.received[-1] == ("GetConfiguration", {"key": ["NumberOfConnectors"]})
    assert response["configuration"] == [
        {"key": "NumberOfConnectors", "value": "1", "readonly": False}
    ]


async def test_change_configuration(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """change_configuration: the station's answer is returned as is."""
    station_device = device_id(hass, loaded_entry)
    response = await call(
        hass,
        "change_configuration",
        {"device_id": station_device, "key": "MeterValueSampleInterval", "value": "15"},
    )
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == (
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "15"},
    )
    assert sim.state.configuration["MeterValueSampleInterval"] == "15"

    response = await call(
        hass,
        "change_configuration",
        {"device_id": station_device, "key": "NoSuchKey", "value": "1"},
    )
    assert response == {"status": "NotSupported"}


@pytest.mark.parametrize(
    ("data", "connector", "message"),
    [
        ({"message": "heartbeat"}, None, "Heartbeat"),
        ({"message": "status_notification", "connector_id": 1}, 1, "StatusNotification"),
        ({"message": "boot_notification"}, None, "BootNotification"),
        # The OCPP names earlier versions took (automations written then keep working)
        ({"message": "MeterValues", "connector_id": 1}, 1, "MeterValues"),
    ],
)
async def test_trigger_message(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    data: dict[str, Any],
    connector: int | None,
    message: str,
) -> None:
    """TriggerMessage with and without a connector; the action's values are lowercase keys."""
    response = await call(
        hass, "trigger_message", {"device_id": device_id(hass, loaded_entry), **data}
    )
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == (
        "TriggerMessage",
        {"requested_message": message, "connector_id": connector},
    )


async def test_trigger_message_unknown_message(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A message OCPP cannot trigger is refused before anything is sent."""
    with pytest.raises(vol.Invalid):
        await call(
            hass,
            "trigger_message",
            {"device_id": device_id(hass, loaded_entry), "message": "StartTransaction"},
        )
    assert not commands(sim, "TriggerMessage")


@pytest.mark.parametrize(
    ("data", "sent"),
    [
        ({"id_tag": "BADGE-ALICE"}, {"id_tag": "BADGE-ALICE"}),
        (
            {"id_tag": "BADGE-ALICE", "connector_id": 1},
            {"id_tag": "BADGE-ALICE", "connector_id": 1},
        ),
    ],
)
async def test_remote_start_transaction(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    data: dict[str, Any],
    sent: dict[str, Any],
) -> None:
    """RemoteStartTransaction with the badge and, when given, the connector."""
    response = await call(
        hass, "remote_start_transaction", {"device_id": device_id(hass, loaded_entry), **data}
    )
    assert response == {"status": "Accepted"}
    assert sim.received[-1] == ("RemoteStartTransaction", sent)


async def test_remote_stop_explicit_transaction(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """An explicit transaction id is sent as is, open session or not."""
    response = await call(
        hass,
        "remote_stop_transaction",
        {"device_id": device_id(hass, loaded_entry), "transaction_id": 42},
    )
    assert response == {"status": "Accepted", "transaction_id": 42}
    assert sim.received[-1] == ("RemoteStopTransaction", {"transaction_id": 42})


async def test_remote_stop_takes_a_transaction_id_as_text(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Transaction ids are text (OCPP 2.0.1 stations make their own): the action takes
    one typed in a text field; an OCPP 1.6 station gets the number, and an id it cannot
    hold is refused with the reason, nothing sent."""
    device = device_id(hass, loaded_entry)
    response = await call(
        hass, "remote_stop_transaction", {"device_id": device, "transaction_id": " 42 "}
    )
    assert response == {"status": "Accepted", "transaction_id": 42}
    assert sim.received[-1] == ("RemoteStopTransaction", {"transaction_id": 42})
    sent = len(sim.received)
    with pytest.raises(HomeAssistantError, match=r"not an OCPP 1\.6 transaction id"):
        await call(
            hass,
            "remote_stop_transaction",
            {"device_id": device, "transaction_id": "7f3c9a52-1d2e-4c1b-9a34-0e6b1c2d3e4f"},
        )
    with pytest.raises(vol.Invalid):
        await call(hass, "remote_stop_transaction", {"device_id": device, "transaction_id": ""})
    assert len(sim.received) == sent


async def test_remote_stop_open_session(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Without a transaction id: the station's open session; none is an error."""
    station_device = device_id(hass, loaded_entry)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remote_stop_transaction", {"device_id": station_device})
    assert err.value.translation_key == "no_transaction"
    assert err.value.translation_placeholders == {"station": STATION_ID}
    assert not commands(sim, "RemoteStopTransaction")

    started = await sim.start_transaction(1, "BADGE-ALICE", 500)
    # Not on the connector asked for.
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "remote_stop_transaction", {"device_id": station_device, "connector_id": 2}
        )
    assert err.value.translation_key == "no_transaction"
    assert not commands(sim, "RemoteStopTransaction")

    response = await call(hass, "remote_stop_transaction", {"device_id": station_device})
    assert response == {"status": "Accepted", "transaction_id": started.transaction_id}
    assert sim.received[-1] == (
        "RemoteStopTransaction",
        {"transaction_id": started.transaction_id},
    )
    response = await call(
        hass, "remote_stop_transaction", {"device_id": station_device, "connector_id": 1}
    )
    assert response == {"status": "Accepted", "transaction_id": started.transaction_id}


# --- actions: errors ---------------------------------------------------------------

STATION_ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("get_configuration", {}),
    ("change_configuration", {"key": "HeartbeatInterval", "value": "60"}),
    ("trigger_message", {"message": "heartbeat"}),
    ("remote_start_transaction", {"id_tag": "BADGE-ALICE"}),
    ("remote_stop_transaction", {"transaction_id": 1}),
    ("reset", {}),
    ("unlock_connector", {}),
    ("change_availability", {"available": False}),
    ("set_charging_profile", {"limit": 10}),
    ("clear_charging_profile", {}),
    ("update_configuration", {}),
    ("get_local_list_version", {}),
]


@pytest.mark.parametrize(("action", "data"), STATION_ACTIONS)
@pytest.mark.parametrize("target", ["hub", "random"])
async def test_not_a_station(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    action: str,
    data: dict[str, Any],
    target: str,
) -> None:
    """The hub's device or an unknown id is not a station: nothing is sent."""
    target_id = hub_device_id(hass, loaded_entry) if target == "hub" else "not-a-device-id"
    received = len(sim.received)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, action, {"device_id": target_id, **data})
    assert err.value.translation_key == "not_a_station"
    assert err.value.translation_placeholders == {"device_id": target_id}
    assert len(sim.received) == received


@pytest.mark.parametrize(("action", "data"), STATION_ACTIONS)
async def test_station_not_connected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, action: str, data: dict[str, Any]
) -> None:
    """A configured station that is not connected: command_failed, not a validation error."""
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, action, {"device_id": device_id(hass, loaded_entry), **data})
    assert type(err.value) is HomeAssistantError
    assert err.value.translation_key == "command_failed"
    placeholders = err.value.translation_placeholders
    assert placeholders is not None
    assert placeholders["station"] == STATION_ID
    assert "not connected" in placeholders["error"]


async def test_station_answers_callerror(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A CALLERROR from the station is a command_failed error naming the OCPP error."""
    # This station has no Reset handler: the ocpp library answers CALLERROR NotImplemented.
    del sim.route_map["Reset"]
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "reset", {"device_id": device_id(hass, loaded_entry), "type": "hard"})
    assert type(err.value) is HomeAssistantError
    assert err.value.translation_key == "command_failed"
    placeholders = err.value.translation_placeholders
    assert placeholders is not None
    assert placeholders["station"] == STATION_ID
    assert "NotImplemented" in placeholders["error"]
    # The connection survives: the next command is answered.
    response = await call(hass, "unlock_connector", {"device_id": device_id(hass, loaded_entry)})
    assert response == {"status": "Unlocked"}


@pytest.mark.parametrize("behaviour", [StationBehaviour(answer_delay=2.0)])
async def test_station_does_not_answer_in_time(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """No answer within the response timeout: command_failed saying so."""
    # The hub waits 30 s by default; shorten it on this live connection.
    connection = runtime(loaded_entry).connection
    assert connection is not None
    connection._response_timeout = 0.2
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "get_configuration", {"device_id": device_id(hass, loaded_entry)})
    assert err.value.translation_key == "command_failed"
    placeholders = err.value.translation_placeholders
    assert placeholders is not None
    assert "did not answer GetConfiguration within 0.2 s" in placeholders["error"]
    assert commands(sim, "GetConfiguration") == [{"key": None}]


# --- buttons --------------------------------------------------------------------------


@pytest.fixture
def reset_enabled(hass: HomeAssistant) -> None:
    """The reset button is disabled by default: enable it in the registry beforehand."""
    er.async_get(hass).async_get_or_create("button", "charge_zones", f"{SUB}_reset")


async def test_reset_button(
    hass: HomeAssistant,
    reset_enabled: None,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
) -> None:
    """The reset button soft-resets the station."""
    await press(hass, f"{SUB}_reset")
    assert sim.received[-1] == ("Reset", {"type": "Soft"})


async def test_station_update_configuration_button(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """The station's "Update configuration" pushes the full badge list."""
    await press(hass, f"{SUB}_update_configuration")
    sent = commands(sim, "SendLocalList")
    assert len(sent) == 1
    assert sent[0]["update_type"] == "Full"
    assert sent[0]["local_authorization_list"] == EXPECTED_LOCAL_LIST
    assert sim.state.local_list_version == loaded_entry.runtime_data.sessions.local_list_version
    assert runtime(loaded_entry).local_list_error is None


@pytest.mark.parametrize("subentries", [TWO_STATIONS])
async def test_hub_update_configuration_button(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """The hub's "Update configuration": every connected station; offline is no failure."""
    await press(hass, f"{loaded_entry.entry_id}_update_configuration")
    sent = commands(sim, "SendLocalList")
    assert len(sent) == 1
    assert sent[0]["local_authorization_list"] == EXPECTED_LOCAL_LIST
    assert runtime(loaded_entry).local_list_version == sent[0]["list_version"]


async def test_unlock_button_enabled(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """Unlock is disabled by default; once enabled it unlocks connector 1."""
    registry = er.async_get(hass)
    unlock = entity_id(hass, "button", f"{SUB}_unlock_1")
    entry = registry.async_get(unlock)
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(unlock) is None

    registry.async_update_entity(unlock, disabled_by=None)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(unlock) is not None

    # The reload restarted the server: the station connects again.
    async with StationClient(ws_url(loaded_entry), STATION_ID) as sim:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        assert state_of(hass, "button", f"{SUB}_unlock_1") != "unavailable"
        await press(hass, f"{SUB}_unlock_1")
        assert sim.received[-1] == ("UnlockConnector", {"connector_id": 1})


@pytest.mark.parametrize("behaviour", [StationBehaviour(local_auth_list_enabled=False)])
async def test_update_configuration_not_supported(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A station without a local list: both buttons report the refusal."""
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, f"{SUB}_update_configuration")
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders == {"station": STATION_ID, "status": "NotSupported"}
    assert runtime(loaded_entry).local_list_error == "station answered NotSupported"

    with pytest.raises(HomeAssistantError) as err:
        await press(hass, f"{loaded_entry.entry_id}_update_configuration")
    assert err.value.translation_key == "update_configuration_failed"
    assert err.value.translation_placeholders == {"stations": f"{STATION_ID} (NotSupported)"}
    assert len(commands(sim, "SendLocalList")) == 2

    # The action returns the answer rather than raising.
    response = await call(
        hass, "update_configuration", {"device_id": device_id(hass, loaded_entry)}
    )
    assert response == {"stations": {STATION_ID: "NotSupported"}}


@pytest.mark.parametrize("behaviour", [StationBehaviour(local_list_max_length=2)])
async def test_update_configuration_list_too_long(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Three badges for a station that takes two: the station answers Failed."""
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, f"{SUB}_update_configuration")
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders == {"station": STATION_ID, "status": "Failed"}

    with pytest.raises(HomeAssistantError) as err:
        await press(hass, f"{loaded_entry.entry_id}_update_configuration")
    assert err.value.translation_key == "update_configuration_failed"
    assert err.value.translation_placeholders == {"stations": f"{STATION_ID} (Failed)"}
    assert not sim.state.local_list


@pytest.mark.parametrize("behaviour", [StationBehaviour(local_list_max_length=2)])
async def test_update_configuration_list_too_long_known_at_boot(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Once the hub has read LocalAuthListMaxLength, it sends what the station holds
    (the badge valid today first) and says what is left out, rather than nothing."""
    await boot_and_configure(hass, loaded_entry, sim)
    [sent] = commands(sim, "SendLocalList")
    assert len(sent["local_authorization_list"]) == 2
    assert "BADGE-ALICE" in sim.state.local_list
    assert runtime(loaded_entry).local_list_error == (
        "3 badges, the station holds 2: 1 checked online only"
    )

    await press(hass, f"{SUB}_update_configuration")
    response = await call(
        hass, "update_configuration", {"device_id": device_id(hass, loaded_entry)}
    )
    assert response == {"stations": {STATION_ID: "Accepted"}}
    assert len(commands(sim, "SendLocalList")) == 3
    assert len(sim.state.local_list) == 2


async def test_button_callerror(
    hass: HomeAssistant,
    reset_enabled: None,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
) -> None:
    """A CALLERROR answer to a button is command_failed."""
    del sim.route_map["Reset"]
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, f"{SUB}_reset")
    assert err.value.translation_key == "command_failed"
    placeholders = err.value.translation_placeholders
    assert placeholders is not None
    assert "NotImplemented" in placeholders["error"]


async def test_buttons_unavailable_while_offline(
    hass: HomeAssistant, reset_enabled: None, loaded_entry: MockConfigEntry
) -> None:
    """Station buttons are unavailable until the station connects; the hub's is not."""
    assert state_of(hass, "button", f"{SUB}_reset") == "unavailable"
    assert state_of(hass, "button", f"{SUB}_update_configuration") == "unavailable"
    assert state_of(hass, "button", f"{loaded_entry.entry_id}_update_configuration") != (
        "unavailable"
    )
    # Nobody connected: the hub's button has nothing to fail on.
    await press(hass, f"{loaded_entry.entry_id}_update_configuration")


# --- switch -----------------------------------------------------------------------------


async def test_availability_switch(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: StationClient,
    sim: SimulatedStation,
) -> None:
    """Off/on send ChangeAvailability on connector 0; the station's status wins."""
    switch = entity_id(hass, "switch", f"{SUB}_availability")
    assert state_of(hass, "switch", f"{SUB}_availability") == "unknown"

    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True)
    assert sim.received[-1] == ("ChangeAvailability", {"connector_id": 0, "type": "Inoperative"})
    assert state_of(hass, "switch", f"{SUB}_availability") == "off"

    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
    assert sim.received[-1] == ("ChangeAvailability", {"connector_id": 0, "type": "Operative"})
    assert state_of(hass, "switch", f"{SUB}_availability") == "on"

    # The station reports itself Unavailable (e.g. made so at its own panel).
    await sim.status(0, "Unavailable")
    await hass.async_block_till_done()
    assert state_of(hass, "switch", f"{SUB}_availability") == "off"

    await sim.status(0, "Available")
    await hass.async_block_till_done()
    assert state_of(hass, "switch", f"{SUB}_availability") == "on"

    # The station goes away: the switch cannot tell.
    await client.close()
    await wait_until(hass, lambda: not runtime(loaded_entry).connected)
    assert state_of(hass, "switch", f"{SUB}_availability") == "unavailable"


async def test_availability_switch_callerror(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A CALLERROR to ChangeAvailability is an error; the switch does not move."""
    del sim.route_map["ChangeAvailability"]
    switch = entity_id(hass, "switch", f"{SUB}_availability")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
        )
    assert err.value.translation_key == "command_failed"
    assert state_of(hass, "switch", f"{SUB}_availability") == "unknown"
    assert runtime(loaded_entry).availability_requested is None


async def test_availability_switch_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A station answering Rejected: command_refused; the switch does not move."""

    def reject(connector_id: int, type: str) -> call_result.ChangeAvailability:
        sim._record("ChangeAvailability", {"connector_id": connector_id, "type": type})
        return call_result.ChangeAvailability(status="Rejected")

    sim.route_map["ChangeAvailability"]["_on_action"] = reject
    switch = entity_id(hass, "switch", f"{SUB}_availability")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
        )
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders == {"station": STATION_ID, "status": "Rejected"}
    assert sim.received[-1] == ("ChangeAvailability", {"connector_id": 0, "type": "Inoperative"})
    assert state_of(hass, "switch", f"{SUB}_availability") == "unknown"
    assert runtime(loaded_entry).availability_requested is None


# --- number -----------------------------------------------------------------------------


async def set_max_current(hass: HomeAssistant, value: float) -> None:
    """Set the max current number."""
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", f"{SUB}_max_current"), "value": value},
        blocking=True,
    )


async def test_max_current_number(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Setting it stores the subentry and sends the limit to the connected station."""
    await boot_and_configure(hass, loaded_entry, sim)
    assert runtime(loaded_entry).limit_sent == 16.0
    assert float(state_of(hass, "number", f"{SUB}_max_current")) == 16.0

    await set_max_current(hass, 10)
    assert loaded_entry.subentries[SUB].data[CONF_MAX_CURRENT] == 10.0
    payload = await sim.wait_for("SetChargingProfile")
    payload["cs_charging_profiles"] = unstarted(payload["cs_charging_profiles"])
    assert payload == {
        "connector_id": 0,
        "cs_charging_profiles": {
            "charging_profile_id": 1,
            "stack_level": 2,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [
                    {"start_period": 0, "limit": 10.0, "number_phases": 3}
                ],
            },
        },
    }
    await wait_until(hass, lambda: runtime(loaded_entry).limit_sent == 10.0)
    assert runtime(loaded_entry).profile_status == "Accepted"
    assert runtime(loaded_entry).config.max_current == 10.0
    assert float(state_of(hass, "number", f"{SUB}_max_current")) == 10.0


@pytest.mark.parametrize("behaviour", [StationBehaviour(reject_profiles=True)])
async def test_max_current_number_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A station refusing profiles: the setting is kept, the refusal is recorded."""
    await set_max_current(hass, 12)
    assert loaded_entry.subentries[SUB].data[CONF_MAX_CURRENT] == 12.0
    payload = await sim.wait_for("SetChargingProfile")
    assert payload["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"][0][
        "limit"
    ] == pytest.approx(12.0)
    await wait_until(hass, lambda: runtime(loaded_entry).profile_status == "Rejected")
    assert runtime(loaded_entry).limit_sent is None
    assert float(state_of(hass, "number", f"{SUB}_max_current")) == 12.0

    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
    (station,) = diagnostics["stations"]
    assert station["profile_status"] == "Rejected"
    assert station["limit_sent"] is None
    assert station["config"]["max_current"] == 12.0


async def test_max_current_number_offline(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Offline: still settable (stored for the next connection), never below 6 A."""
    assert state_of(hass, "number", f"{SUB}_max_current") == "16.0"
    await set_max_current(hass, 20)
    await hass.async_block_till_done()
    assert loaded_entry.subentries[SUB].data[CONF_MAX_CURRENT] == 20.0
    assert runtime(loaded_entry).config.max_current == 20.0
    assert runtime(loaded_entry).profile_status is None
    assert state_of(hass, "number", f"{SUB}_max_current") == "20.0"

    with pytest.raises(ServiceValidationError):
        await set_max_current(hass, 5)
    assert loaded_entry.subentries[SUB].data[CONF_MAX_CURRENT] == 20.0

    # The stored limit is what the station gets when it comes online.
    async with StationClient(ws_url(loaded_entry), STATION_ID) as sim:
        await boot_and_configure(hass, loaded_entry, sim)
        (profile,) = commands(sim, "SetChargingProfile")
        period = profile["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"]
        assert period == [{"start_period": 0, "limit": 20.0, "number_phases": 3}]
        assert runtime(loaded_entry).limit_sent == 20.0
