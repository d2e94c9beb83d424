"""The right-of-access export in a real browser, on SQLite and PostgreSQL: the Guyane SPIP's
local administrator downloads a person's data from the person's page (a JSON file named after
the person's id, holding them); a CPIP is not offered the button; axe-core on the page."""

from __future__ import annotations

import json
from typing import Any

import anyio
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import Person, Spip
from tests.web.test_browser import CPIP, assert_accessible, log_in

ADMIN = "admin@guyane.demo.convoc.fr"  # administration locale: person:export
BUTTON = "Exporter les données (droit d'accès)"


async def _guyane_person(engine: AsyncEngine) -> tuple[int, str]:
    async with AsyncSession(engine) as session:
        row = (
            await session.execute(
                select(Person.id, Person.last_name)
                .join(Spip, Spip.id == Person.spip_id)
                .where(Spip.code == "SPIP-973")
                .order_by(Person.id)
                .limit(1)
            )
        ).one()
    return row[0], row[1]


async def test_a_local_administrator_downloads_a_persons_data(
    page: Any, web_engine: AsyncEngine
) -> None:
    person_id, last_name = await _guyane_person(web_engine)
    await page.goto(f"/personnes/{person_id}")
    await log_in(page, ADMIN)
    button = page.get_by_role("link", name=BUTTON)
    await expect(button).to_be_visible()
    await assert_accessible(page)
    async with page.expect_download() as waiting:
        await button.click()
    download = await waiting.value
    assert download.suggested_filename == f"convoc-personne-{person_id}.json"
    document = json.loads(await anyio.Path(await download.path()).read_text(encoding="utf-8"))
    assert document["person"]["id"] == person_id
    assert document["person"]["last_name"] == last_name
    assert document["appointments"], "the demo's persons have convocations"


async def test_a_cpip_is_not_offered_the_export(page: Any, web_engine: AsyncEngine) -> None:
    person_id, _ = await _guyane_person(web_engine)
    await page.goto(f"/personnes/{person_id}")
    await log_in(page, CPIP)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name=BUTTON)).to_have_count(0)
