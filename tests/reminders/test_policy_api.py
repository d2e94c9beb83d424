"""A reminder policy change: what it refuses, what it says, and what it re-plans (issue 13).

Now = 2027-01-15T10:00Z.
"""

from __future__ import annotations

import httpx

from tests.reminders.conftest import World


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
