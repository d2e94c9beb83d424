"""CSV exports never hand a spreadsheet a formula (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import exports
from app.reports.schemas import ProviderStats, SmsReport, SmsRow, UnrecordedReport, UnrecordedRow
from tests.conftest import FrozenClock
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip

HOSTILE = "@SUM(1+1)*cmd|/C calc!A0"


def cells(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize(
    "name",
    [HOSTILE, "=1+1", "+33612345678", "-2+3", "\tTAB", "\rCR", '=HYPERLINK("http://x";"y")'],
)
def test_text_cells_that_start_a_formula_are_quoted(name: str) -> None:
    report = UnrecordedReport(
        spip_id=1,
        older_than_days=7,
        rows=[UnrecordedRow(agent_id=1, agent_name=name, count=2, oldest_starts_at="2027-01-02")],
    )
    [_, row] = cells(exports.unrecorded_csv(report))
    assert row == ["'" + name, "2", "2027-01-02"]


def test_ordinary_text_is_untouched() -> None:
    report = UnrecordedReport(
        spip_id=1,
        older_than_days=7,
        rows=[UnrecordedRow(agent_id=1, agent_name="Élise d'Arc", count=2, oldest_starts_at="x")],
    )
    assert cells(exports.unrecorded_csv(report))[1][0] == "Élise d'Arc"


def test_numbers_we_write_stay_numbers() -> None:
    """Negative and decimal-comma numbers are ours, not text: they are never quoted."""
    report = SmsReport(
        spip_id=1,
        start=datetime(2027, 1, 1, tzinfo=UTC).date(),
        end=datetime(2027, 1, 31, tzinfo=UTC).date(),
        rows=[SmsRow(provider="-http", kind="reminder", status="sent", messages=-3, segments=4)],
        providers=[
            ProviderStats(
                provider="=evil",
                sent=4,
                delivered=3,
                delivery_rate=0.75,
                segments=5,
                estimated_cost_eur=-0.25,
                median_seconds_to_delivery=-1.5,
            )
        ],
        price_per_segment_eur=0.045,
    )
    rows = cells(exports.sms_csv(report))
    assert rows[1] == ["'-http", "reminder", "sent", "-3", "4"]
    assert rows[4] == ["'=evil", "4", "3", "75,0", "5", "-0,2", "-1,5"]


async def test_agent_name_in_the_unrecorded_export_is_neutralised(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    spip = await make_spip(session)
    agent = await make_agent(session, spip, name=HOSTILE)
    person = await make_person(session, spip)
    place = await make_place(session, spip)
    await make_appointment(
        session, person, place, starts_at=clock.now - timedelta(days=10), agent_id=agent.id
    )
    await session.commit()
    response = await client.get("/reports/unrecorded", params={"spip_id": spip.id, "format": "csv"})
    assert response.status_code == 200
    [_, row] = cells(response.content)
    assert row[0] == "'" + HOSTILE
    assert row[1] == "1"
