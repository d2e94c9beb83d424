"""« Tableau de bord » in a real browser, on the demo data (SQLite and PostgreSQL): the Guyane
DPIP opens it from the menu, widens the period, reads the totals and the reminders' groups,
downloads the CSVs and finds the page's numbers in them; a secretariat (no ``report:read``)
is refused. axe-core on the page, and no CSP error (the charts are inline SVG)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.web.test_browser import SECRETARIAT, assert_accessible, log_in, screenshot

DPIP = "dpip@guyane.demo.convoc.fr"


async def _cells(page: Any, row_id: str) -> list[str]:
    texts = await page.locator(f"#{row_id} th, #{row_id} td").all_inner_texts()
    return [t.split("\n")[0].strip() for t in texts]


async def _download(page: Any, link_id: str) -> list[list[str]]:
    async with page.expect_download() as info:
        await page.locator(f"#{link_id}").click()
    download = await info.value
    assert download.suggested_filename.endswith(".csv")
    path = await download.path()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for French spreadsheets
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


async def test_a_dpip_reads_the_dashboard_and_downloads_its_csv(page: Any) -> None:
    await page.goto("/")
    await log_in(page, DPIP)
    await page.get_by_role("link", name="Tableau de bord").click()
    await expect(page).to_have_url(re.compile(r"/tableau-de-bord$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    link = page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Tableau de bord"
    )
    await expect(link).to_have_attribute("aria-current", "page")

    # The last three months, by month (the demo's convocations are around today).
    today = datetime.now(UTC).astimezone(ZoneInfo("America/Cayenne")).date()
    start = (today.replace(day=1) - timedelta(days=62)).replace(day=1)
    await page.locator("#du").fill(start.isoformat())
    await page.locator("#groupe").select_option("mois")
    await page.get_by_role("button", name="Afficher").click()
    await expect(page).to_have_url(re.compile(rf"du={start.isoformat()}.*groupe=mois"))
    total = await _cells(page, "presence-total")
    assert total[0] == "Total"
    honored, missed = int(total[1]), int(total[2])
    assert honored + missed > 0, total
    await expect(page.locator("#presence-synthese")).to_contain_text(f"{honored} honorée")
    await expect(page.locator("#graphique-presence svg")).to_be_visible()
    await expect(page.locator("#rappels-avertissement")).to_contain_text(
        "observation, pas une expérience contrôlée"
    )
    delivered = await _cells(page, "rappel-delivered")
    await expect(page.locator("#graphique-rappels")).to_contain_text(
        delivered[-1]  # the rate, written on its bar
    )
    await assert_accessible(page)
    await screenshot(page, "tableau-de-bord")

    presence = await _download(page, "export-presence")
    (line,) = [row for row in presence if row[1] == "Total"]
    assert (int(line[2]), int(line[3])) == (honored, missed)
    months = [row for row in presence[1:] if row[1] != "Total"]
    assert sum(int(row[2]) for row in months) == honored

    reminders = await _download(page, "export-rappels")
    assert reminders[1][0] == "rappel distribué"
    assert reminders[1][1:6] == delivered[1:6]
    (everyone,) = [row for row in reminders if row[0] == "Ensemble"]
    assert (int(everyone[2]), int(everyone[3])) == (honored, missed)
    assert sum(int(row[2]) for row in reminders[1:-1]) == honored  # the four groups add up
    assert not page.errors, page.errors


async def test_a_secretariat_cannot_open_the_dashboard(page: Any) -> None:
    await page.goto("/")
    await log_in(page, SECRETARIAT)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Tableau de bord")).to_have_count(0)
    response = await page.goto("/tableau-de-bord")
    assert response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Action impossible")
    await assert_accessible(page)
