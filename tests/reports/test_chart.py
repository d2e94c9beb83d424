"""The attendance chart has a monthly time axis: months without a convocation keep their place,
break the lines and say so."""

from __future__ import annotations

import math
from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import exports
from app.reports.queries import REMINDER_OUTCOMES
from app.reports.schemas import AttendanceReport, AttendanceRow, Counts
from tests.conftest import FrozenClock
from tests.factories import make_appointment, make_person, make_place, make_spip
from tests.reports.test_attendance import cayenne


def _row(key: str, honored: int, missed: int) -> AttendanceRow:
    counts = Counts.from_counts({"honored": honored, "missed": missed})
    by_reminder = {r: Counts.from_counts({}) for r in REMINDER_OUTCOMES}
    by_reminder["delivered"] = counts
    return AttendanceRow(
        spip_id=1, spip_code="SPIP-1", key=key, counts=counts, by_reminder=by_reminder
    )


def _report(*rows: AttendanceRow, start: date, end: date) -> AttendanceReport:
    return AttendanceReport(
        spip_id=1,
        start=start,
        end=end,
        group_by="month",
        rows=list(rows),
        total=_row("total", 0, 0),
    )


MARCH_TO_JUNE = _report(
    _row("2027-03", 3, 1), _row("2027-06", 1, 1), start=date(2027, 3, 1), end=date(2027, 6, 30)
)


def _plotted(line: object) -> list[tuple[float, float]]:
    xs, ys = line.get_xdata(), line.get_ydata()  # type: ignore[attr-defined]
    return [(float(x), float(y)) for x, y in zip(xs, ys, strict=True) if not math.isnan(y)]


def test_months_without_convocations_keep_their_place_on_the_axis() -> None:
    fig = exports.attendance_figure(MARCH_TO_JUNE, title="t")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["mars 2027", "avr. 2027", "mai 2027", "juin 2027"]
    assert list(ax.get_xticks()) == [0, 1, 2, 3]
    overall = next(line for line in ax.lines if line.get_label() == "Ensemble")
    assert _plotted(overall) == [(0.0, 0.75), (3.0, 0.5)]  # June three months after March
    # The line is broken across April and May, not drawn from March to June.
    assert [math.isnan(y) for y in overall.get_ydata()] == [False, True, True, False]  # type: ignore[arg-type]


def test_empty_months_are_labelled() -> None:
    ax = exports.attendance_figure(MARCH_TO_JUNE, title="t").axes[0]
    notes = [(t.get_position()[0], t.get_text()) for t in ax.texts]
    assert notes == [(1, "aucune convocation"), (2, "aucune convocation")]
    data = exports.chart_data(MARCH_TO_JUNE)
    assert data.months == ["2027-03", "2027-04", "2027-05", "2027-06"]
    assert data.empty == [1, 2]


def test_a_period_without_any_convocation_says_so_once() -> None:
    report = _report(start=date(2027, 3, 1), end=date(2027, 4, 30))
    ax = exports.attendance_figure(report, title="t").axes[0]
    assert [t.get_text() for t in ax.texts] == ["Aucune convocation sur la période"]
    assert len(ax.lines) == 0


async def test_svg_chart_through_the_api_shows_the_gap(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    clock.set(cayenne(2027, 7, 10, 12))
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    place = await make_place(session, spip)
    person = await make_person(session, spip, phone="+594694123456")
    for starts_at, status in [
        (cayenne(2027, 3, 5, 9), "honored"),
        (cayenne(2027, 6, 7, 9), "missed"),
    ]:
        await make_appointment(session, person, place, starts_at=starts_at, status=status)
    await session.commit()
    response = await client.get(
        "/reports/attendance",
        params={"spip_id": spip.id, "from": "2027-03-01", "to": "2027-06-30", "format": "svg"},
    )
    assert response.status_code == 200, response.text
    for label in ("mars 2027", "avr. 2027", "mai 2027", "juin 2027"):
        assert label in response.text
    assert response.text.count(exports.NO_CONVOCATION) == 2
