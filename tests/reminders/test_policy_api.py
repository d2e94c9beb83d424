"""A reminder policy change: what it refuses, what it says, and what it re-plans (issue 13).

Now = 2027-01-15T10:00Z.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.reminders.conftest import World, build_world


async def test_a_rule_out_of_bounds_is_told_its_bound(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"/spips/{world.spip.id}/reminder-policy"
    zero = await client.put(url, json={"rules": [{"hours_before": 0}]})
    assert zero.status_code == 422
    assert zero.json()["error"] == "validation_error"
    assert zero.json()["detail"] == (
        "Valeur trop petite : elle doit être strictement supérieure à 0."
    )
    assert zero.json()["fields"] == [
        {
            "field": "body.rules.0.hours_before",
            "code": "greater_than",
            "message": "Valeur trop petite : elle doit être strictement supérieure à 0.",
        }
    ]
    far = await client.put(url, json={"rules": [{"days_before": 31, "at": "10:00"}]})
    assert far.json()["fields"][0]["field"] == "body.rules.0.days_before"
    assert far.json()["detail"] == "Valeur trop grande : elle doit être d'au plus 30."
    typed = await client.put(url, json={"type_rules": {"tig": [{"hours_before": -1}]}})
    assert typed.json()["fields"][0]["field"] == "body.type_rules.tig.0.hours_before"
    no_cap = await client.put(url, json={"max_segments": 0})
    assert no_cap.json()["detail"] == "Valeur trop petite : elle doit être d'au moins 1."
    no_hour = await client.put(url, json={"rules": [{"days_before": 1}]})
    assert no_hour.json()["fields"] == [
        {"field": "body.rules.0.at", "code": "missing", "message": "Champ obligatoire."}
    ]
    unknown = await client.put(url, json={"rules": [{"weeks_before": 1}]})
    assert unknown.json()["error"] == "invalid_rule"
    assert "hours_before" in unknown.json()["detail"]
    assert (await client.get(url)).json()["is_default"] is True


# -- the segment cap, checked against every wording in force ----------------------------------

INFO_URL = "https://www.justice.fr/spip-de-test/antenne-centre/informations-pratiques"


async def test_a_cap_the_templates_in_force_exceed_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, info_url=INFO_URL)
    url = f"/spips/{world.spip.id}/reminder-policy"
    tig = await client.put(
        f"/spips/{world.spip.id}/templates/reminder",
        params={"appointment_type": "tig"},
        json={"body": "TIG le {rdv.date} à {rdv.heure}, {lieu.nom}, {lieu.adresse}. " + "x" * 120},
    )
    assert tig.status_code == 200, tig.text
    summons = await client.put(
        f"/spips/{world.spip.id}/templates/summons",
        json={"body": "Convocation le {rdv.date} à {rdv.heure}, {lieu.nom}. " + "y" * 480},
    )
    assert (summons.status_code, summons.json()["segments"]) == (200, 4)
    one = await client.put(url, json={"max_segments": 1})
    assert one.status_code == 422
    assert one.json()["error"] == "template_exceeds_policy"
    messages = [f["message"] for f in one.json()["fields"]]
    assert {f["field"] for f in one.json()["fields"]} == {"body.max_segments"}
    assert (
        "Avec cette politique, le modèle de convocation (modèle du SPIP) atteindrait 4 SMS "
        "(GSM-7) ; le maximum demandé est 1." in messages
    )
    assert any(
        m.startswith("Avec cette politique, le modèle de rappel (modèle par défaut)")
        for m in messages
    )
    assert any("pour le type « Travail d'intérêt général (TIG) »" in m for m in messages)
    assert all("le maximum demandé est 1." in m for m in messages)
    assert "modèles en vigueur dépasseraient" in one.json()["detail"]
    assert (await client.get(url)).json()["is_default"] is True  # nothing stored


async def test_turning_off_gsm7_is_refused_when_the_default_summons_would_exceed_the_cap(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, info_url=INFO_URL)
    url = f"/spips/{world.spip.id}/reminder-policy"
    response = await client.put(url, json={"gsm7_friendly": False})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "template_exceeds_policy"
    summons = [f for f in body["fields"] if "modèle de convocation" in f["message"]]
    assert summons == [
        {
            "field": "body.gsm7_friendly",
            "code": "template_exceeds_policy",
            "message": "Avec cette politique, le modèle de convocation (modèle par défaut) "
            # 6: the worst case counts the convocation link ({rdv.lien}) at its real length.
            "atteindrait 6 SMS (UCS-2) ; le maximum demandé est 4.",
        }
    ]
    # Shorter SPIP wordings where the defaults would be too long lift the refusal.
    for kind in ("summons", "reminder", "reschedule"):
        saved = await client.put(
            f"/spips/{world.spip.id}/templates/{kind}",
            json={"body": "Convocation le {rdv.date} à {rdv.heure}, {lieu.nom}."},
        )
        assert saved.status_code == 200, saved.text
    accepted = await client.put(url, json={"gsm7_friendly": False})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["gsm7_friendly"] is False


async def test_a_national_wording_in_force_is_named_national(
    client: httpx.AsyncClient, world: World
) -> None:
    saved = await client.put(
        "/templates/missed",
        json={"body": "{spip.nom} : vous avez manqué la convocation du {rdv.date} à {rdv.heure}."},
    )
    assert saved.status_code == 200, saved.text
    response = await client.put(f"/spips/{world.spip.id}/reminder-policy", json={"max_segments": 1})
    missed = [f["message"] for f in response.json()["fields"] if "manqué" in f["message"]]
    assert missed == []  # fits one SMS
    kinds = " ".join(f["message"] for f in response.json()["fields"])
    assert "(modèle national)" not in kinds
    await client.put(
        "/templates/missed",
        json={
            "body": "{spip.nom} : vous ne vous êtes pas présenté(e) le {rdv.date} à "
            "{rdv.heure}, à {lieu.nom}, {lieu.adresse}. Appelez le {lieu.telephone}."
        },
    )
    response = await client.put(f"/spips/{world.spip.id}/reminder-policy", json={"max_segments": 1})
    assert any(
        "le modèle de rendez-vous manqué (modèle national)" in f["message"]
        for f in response.json()["fields"]
    )


# -- what a policy change re-plans ------------------------------------------------------------


async def _rows(client: httpx.AsyncClient, appointment_ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for appointment_id in appointment_ids:
        response = await client.get(f"/appointments/{appointment_id}/notifications")
        assert response.status_code == 200, response.text
        rows += response.json()
    return rows


def _by_status(rows: list[dict[str, Any]], status: str) -> list[tuple[int, str, str]]:
    return sorted((r["id"], r["rule"], r["send_at"]) for r in rows if r["status"] == status)


async def _book_three(client: httpx.AsyncClient, world: World) -> list[int]:
    ids = []
    for starts_at in ("2027-02-10T09:00", "2027-02-11T14:00", "2027-03-01T10:30"):
        response = await client.post(
            "/appointments",
            json={
                "person_id": world.person.id,
                "place_id": world.place.id,
                "appointment_type": "suivi_spip",
                "starts_at": starts_at,
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def test_a_change_of_wording_settings_only_replans_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    ids = await _book_three(client, world)
    before = await _rows(client, ids)
    url = f"/spips/{world.spip.id}/reminder-policy"
    for body in (
        # In UCS-2 the default wordings, with the convocation link, need more than 4 SMS.
        {"gsm7_friendly": False, "max_segments": 6},
        {"gsm7_friendly": True, "max_segments": 6, "sender": "SPIP92"},
        {},  # the defaults, stored explicitly: the same timing
    ):
        response = await client.put(url, json=body)
        assert response.status_code == 200, response.text
        after = await _rows(client, ids)
        assert len(after) == len(before) == 3
        assert _by_status(after, "cancelled") == []
        assert _by_status(after, "planned") == _by_status(before, "planned")


async def test_a_timing_change_replans_only_the_reminders_it_moves(
    client: httpx.AsyncClient, world: World
) -> None:
    ids = await _book_three(client, world)
    url = f"/spips/{world.spip.id}/reminder-policy"
    before = _by_status(await _rows(client, ids), "planned")
    # A second rule: the J-2 rows stay as they are, one H-3 row per convocation is added.
    added = await client.put(
        url, json={"rules": [{"days_before": 2, "at": "10:00"}, {"hours_before": 3}]}
    )
    assert added.status_code == 200, added.text
    rows = await _rows(client, ids)
    assert _by_status(rows, "cancelled") == []
    planned = _by_status(rows, "planned")
    assert [p for p in planned if p[1] == "J-2 10:00"] == before
    assert sorted(p[2] for p in planned if p[1] == "H-3") == [
        "2027-02-09T19:00:00Z",  # 06:00 Paris is outside the window: 20:00 the evening before
        "2027-02-11T10:00:00Z",
        "2027-02-28T19:00:00Z",
    ]
    # A longer minimum lead moves none of these moments: no row is cancelled or added.
    count = len(rows)
    lead = await client.put(
        url,
        json={
            "rules": [{"days_before": 2, "at": "10:00"}, {"hours_before": 3}],
            "min_lead_minutes": 90,
        },
    )
    assert lead.status_code == 200, lead.text
    rows = await _rows(client, ids)
    assert len(rows) == count and _by_status(rows, "cancelled") == []
    assert _by_status(rows, "planned") == planned
    assert {r["send_not_after"] for r in rows if r["send_at"] == "2027-02-11T10:00:00Z"} == {
        "2027-02-11T11:30:00Z"
    }
    # Moving J-2 to 09:00 cancels the three J-2 rows only, and plans three new ones.
    moved = await client.put(
        url, json={"rules": [{"days_before": 2, "at": "09:00"}, {"hours_before": 3}]}
    )
    assert moved.status_code == 200, moved.text
    rows = await _rows(client, ids)
    assert [c[0] for c in _by_status(rows, "cancelled")] == [b[0] for b in before]
    assert {r["reason"] for r in rows if r["status"] == "cancelled"} == {"replanned"}
    assert len(rows) == count + 3
    assert [p for p in _by_status(rows, "planned") if p[1] == "H-3"] == [
        p for p in planned if p[1] == "H-3"
    ]
