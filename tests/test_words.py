"""One term per concept per language (issue 12, "Words").

The fail-safe (the current a zone falls back to, the state it is in, the profile a station
keeps): FR "repli", DE "Rückfall…", IT "ripiego", in every string whose English says
fail-safe, in the integration's translations and in the card's; the variants used before
appear nowhere. German says "du"; Italian addresses the user in one form (the informal
imperative, as most of its strings did: "Inserisci", "Scegli", "Controlla"). The priority help
keeps "higher charges first". The models of Charge Zones' own devices are translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import re
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.dlm.allocate import Reason
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .conftest import badge_subentry, zone_subentry
from .flow_translations import load_translations
from .test_billing import export
from .test_forms import hub

CARD_STRINGS = Path(__file__).parents[1] / "frontend" / "src" / "i18n.ts"

#: language -> (the term every fail-safe string uses, variants that must not appear)
FAILSAFE: dict[str, tuple[str, list[str]]] = {
    "fr": ("repli", ["courant de sécurité", "mode de sécurité", "mode sécurité", "secours"]),
    "de": ("Rückfall", ["Ausfallstrom", "Sicherheitsmodus", "Rückfallebene", "Notbetrieb"]),
    "it": ("ripiego", ["corrente di sicurezza", "modalità di sicurezza", "emergenza"]),
}

#: language -> what "higher charges first" says
HIGHER_FIRST = {
    "en": "Higher charges first",
    "fr": "La priorité la plus haute charge en premier",
    "de": "Die höhere Priorität lädt zuerst",
    "it": "La priorità più alta ricarica per prima",
}


def _texts(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _texts(value, (*prefix, key))
    else:
        yield prefix, str(node)


def _lookup(node: Any, path: tuple[str, ...]) -> str:
    for part in path:
        node = node[part]
    return str(node)


def _card(language: str) -> dict[str, str]:
    """The card's strings of one language (key: text), read from its source."""
    source = CARD_STRINGS.read_text()
    start = source.index(f"const {language}")
    block = source[start : source.index("\n};", start)]
    return dict(re.findall(r'(\w+):\s*\n?\s*"([^"]*)"', block))


def _security_profile(english: str) -> bool:
    """OCPP's security profiles (and events) are security, not the fail-safe."""
    return "ecurity" in english


@pytest.mark.parametrize("language", list(FAILSAFE))
def test_one_failsafe_term(language: str) -> None:
    """Wherever the English says fail-safe or fallback, the language says its one term;
    the variants used before appear nowhere (integration and card)."""
    term, forbidden = FAILSAFE[language]
    english = load_translations("en")
    strings = load_translations(language)
    checked = 0
    for path, text in _texts(english):
        if re.search(r"fail-safe|fallback|falls back", text, re.IGNORECASE):
            translated = _lookup(strings, path)
            assert term.casefold() in translated.casefold(), (path, translated)
            checked += 1
    assert checked >= 15
    english_card, card = _card("en"), _card(language)
    for key, text in english_card.items():
        if "fail-safe" in text.casefold():
            assert term.casefold() in card[key].casefold(), (key, card[key])
    everything = [text for _path, text in _texts(strings)] + list(card.values())
    for text in everything:
        for variant in forbidden:
            assert variant.casefold() not in text.casefold(), text


def test_failsafe_not_called_security() -> None:
    """No fail-safe string says security (sécurité, Sicherheit, sicurezza): those words
    are the OCPP security profiles' and events'."""
    english = load_translations("en")
    for language, word in (("fr", "sécurité"), ("de", "sicherheit"), ("it", "sicurezza")):
        strings = load_translations(language)
        for path, text in _texts(strings):
            if word in text.casefold():
                assert _security_profile(_lookup(english, path)), (language, path, text)


def test_german_du_only() -> None:
    """German speaks with "du": no Sie/Ihr/Ihnen in any form, sentence start included
    (a station's zone is "die Zone der Station", not "Ihre Zone")."""
    formal = re.compile(r"\b(Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer|Ihres)\b")
    texts = [text for _path, text in _texts(load_translations("de"))]
    texts += list(_card("de").values())
    assert [text for text in texts if formal.search(text)] == []


#: Italian instructions in the infinitive ("Verificare ...") or the formal imperative
#: ("Verifichi ..."); the strings use the informal imperative ("Verifica ...").
ITALIAN_OTHER_FORMS = re.compile(
    r"(?:^|[.;:!?]\s+|,\s+|\be\s+|\bo\s+|\bpoi\s+)"
    r"(Usare|Indicare|Scegliere|Impostare|Verificare|Attivare|Fermare|Controllare|Inserire"
    r"|Selezionare|Rimuovere|Aggiungere|Premere|Segnalare|Riprovare|Cambiare|Collegare"
    r"|Usi|Indichi|Scelga|Imposti|Verifichi|Attivi|Inserisca|Selezioni|Rimuova|Aggiunga"
    r"|Prema|Segnali|Riprovi|Colleghi|si assicuri)\w*\b",
    re.IGNORECASE,
)


def test_italian_one_form_of_address() -> None:
    """Italian tells the user what to do in the informal imperative only."""
    texts = [text for _path, text in _texts(load_translations("it"))]
    texts += list(_card("it").values())
    other = [text for text in texts if ITALIAN_OTHER_FORMS.search(text)]
    assert other == []
    informal = [
        text for text in texts if re.search(r"\b(Inserisci|Scegli|Controlla|Verifica)\b", text)
    ]
    assert len(informal) >= 10


@pytest.mark.parametrize("language", list(HIGHER_FIRST))
def test_priority_says_higher_charges_first(language: str) -> None:
    """The priority help says which way it goes, in every language."""
    station = load_translations(language)["config_subentries"]["station"]["step"]
    for step in ("user", "reconfigure"):
        assert station[step]["data_description"]["priority"].startswith(HIGHER_FIRST[language])


@pytest.mark.parametrize(
    ("language", "zone_model", "holder_model"),
    [
        ("en", "Electrical zone", "Badge holder"),
        ("fr", "Zone électrique", "Titulaire de badges"),
        ("de", "Elektrische Zone", "Badge-Inhaber"),
        ("it", "Zona elettrica", "Titolare di badge"),
    ],
)
async def test_device_models_translated(
    hass: HomeAssistant, language: str, zone_model: str, holder_model: str
) -> None:
    """A zone's and a badge holder's device show their model in Home Assistant's
    language, and no model id (Home Assistant shows it beside the model, where a key
    such as `electrical_zone` reads as a raw key); the export's badge filter still finds
    a holder's badges by their device."""
    hass.config.language = language
    entry: MockConfigEntry = hub(hass, zone_subentry(), badge_subentry("BADGE-1", "Alice"))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    devices = dr.async_get(hass)
    ours = dr.async_entries_for_config_entry(devices, entry.entry_id)
    assert [device.model_id for device in ours] == [None] * len(ours)
    by_name = {device.name: device for device in ours}
    assert by_name["Car park"].model == zone_model
    assert by_name["Alice"].model == holder_model
    hub_device = devices.async_get(entry.runtime_data.hub_device_id)
    assert hub_device is not None
    assert "1.6J" in str(hub_device.model)
    response = await export(hass, badges=[by_name["Alice"].id])
    assert response["sessions"] == []
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("language", ["en", "fr", "de", "it"])
def test_the_card_names_every_reason(language: str) -> None:
    """Every reason load management gives has its words on the card (no raw code)."""
    block = CARD_STRINGS.read_text()
    start = block.index(f"const {language}")
    reasons = block[
        block.index("reason: {", start) : block.index("}", block.index("reason: {", start))
    ]
    named = set(re.findall(r"(\w+):\s*\"", reasons))
    assert {str(reason) for reason in Reason} <= named
