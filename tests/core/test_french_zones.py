"""The French territories' zones offered by the pages: real IANA zones, each with a phone
region the SPIPs accept, named as agents name them."""

from __future__ import annotations

from typing import get_args

from app.core.localtime import FRENCH_ZONES, french_zone, is_valid_timezone
from app.spips.schemas import PhoneRegion
from app.web.templating import heure_de


def test_every_french_zone_is_a_canonical_zone_with_a_known_region() -> None:
    assert len({z.key for z in FRENCH_ZONES}) == len(FRENCH_ZONES)
    for z in FRENCH_ZONES:
        assert is_valid_timezone(z.key), z.key
        assert z.region in get_args(PhoneRegion), z.key


def test_zones_are_named_as_agents_name_them() -> None:
    assert french_zone("Europe/Paris").label == "Métropole (Paris)"  # type: ignore[union-attr]
    assert french_zone("America/Cayenne").label == "Guyane (Cayenne)"  # type: ignore[union-attr]
    assert french_zone("Indian/Mayotte").label == "Mayotte"  # type: ignore[union-attr]
    assert french_zone("Europe/London") is None
    assert heure_de("America/Cayenne") == "heure de Cayenne"
    assert heure_de("Pacific/Marquesas") == "heure des Marquises"
