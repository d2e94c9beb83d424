"""« Convocations » in a real browser, on the demo data (SQLite and PostgreSQL): the
secretariat filters by a place and a status, pages, opens the day's print view per place, and
printing hides the site's header; axe-core on both pages."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.web.test_browser import SECRETARIAT, assert_accessible, log_in, screenshot


async def test_a_secretariat_filters_pages_and_prints_the_day(page: Any) -> None:
    await page.goto("/convocations")
    await expect(page).to_have_url(re.compile(r"/connexion\?suivant="))
    await log_in(page, SECRETARIAT)
    await expect(page).to_have_url(re.compile(r"/convocations$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Convocations")
    table = page.locator("#convocations table")
    await expect(table.locator("tbody tr").first).to_be_visible()  # today's, from today on

    # All dates, one place, honoured ones, ten a page.
    await page.locator("#du").fill("")
    await page.locator("#lieu").select_option(label="Antenne de Cayenne")
    await page.locator("#statut").select_option(label="Honorée")
    await page.locator("#par_page").select_option("10")
    await page.get_by_role("button", name="Filtrer").click()
    await expect(page).to_have_url(re.compile(r"statut=honoree"))
    caption = table.locator("caption")
    await expect(caption).to_have_text(re.compile(r"^\d+ convocations — page 1 sur \d+$"))
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(10)
    for cell in await rows.locator("td:nth-child(6)").all():
        await expect(cell).to_have_text("Honorée")
    for cell in await rows.locator("td:nth-child(4)").all():
        await expect(cell).to_have_text("Antenne de Cayenne")
    await expect(page.locator("#statut")).to_have_value("honoree")  # the form keeps them
    first_page = await rows.first.get_attribute("id")
    await assert_accessible(page)
    await screenshot(page, "convocations")

    await page.get_by_role("link", name="Page suivante").click()
    await expect(caption).to_have_text(re.compile(r"— page 2 sur \d+$"))
    await expect(rows.first).not_to_have_attribute("id", first_page)
    await expect(page.locator("#statut")).to_have_value("honoree")
    await expect(page.locator("#du")).to_have_value("")  # still all dates

    # A wrong period: said on the field, the form kept, nothing listed.
    await page.locator("#du").fill("2027-03-10")
    await page.locator("#au").fill("2027-03-01")
    await page.get_by_role("button", name="Filtrer").click()
    summary = page.locator(".fr-alert--error")
    await expect(summary).to_be_focused()
    await expect(summary.locator("a[href='#au']")).to_be_visible()
    await expect(page.locator("#du")).to_have_value("2027-03-10")
    await expect(table).to_have_count(0)
    await assert_accessible(page)

    # The day's paper list, per place.
    await page.goto("/convocations")
    await page.get_by_role("link", name="Version imprimable du jour").click()
    await expect(page).to_have_url(re.compile(r"/convocations/impression\?jour=[\d-]+&par=lieu"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Convocations du ")
    )
    group = page.locator("section.convoc-groupe")
    await expect(group).to_have_count(1)  # Guyane has one place
    await expect(group.locator("h2")).to_have_text("Antenne de Cayenne")
    await expect(group.locator("tbody tr")).to_have_count(4)  # the demo's day
    await expect(group.locator("thead th").last).to_have_text("Présent")
    await expect(page.get_by_text("Imprimez avec Ctrl+P")).to_be_visible()
    header = page.locator("header.fr-header")
    await expect(header).to_be_visible()
    await assert_accessible(page)

    await page.emulate_media(media="print")
    await expect(header).to_be_hidden()
    await expect(page.locator("footer.fr-footer")).to_be_hidden()
    await expect(page.get_by_text("Imprimez avec Ctrl+P")).to_be_hidden()
    await expect(group.locator("tbody tr").first).to_be_visible()
    breaks = await group.first.evaluate("e => getComputedStyle(e.querySelector('tr')).breakInside")
    assert breaks == "avoid"
    await screenshot(page, "convocations-impression")
