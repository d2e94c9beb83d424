"""« Tableau de bord »: the period's form, and the reports API's numbers as the page shows them.

Every number comes from the reports' services (``app.reports.attendance``, ``app.reports.sms``),
called as ``app/reports/router.py`` calls them; every CSV from ``app.reports.exports``. This
module reads the form, names the rows (months, weeks, types, agents, places) and draws the bars.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import service as appointment_service
from app.reports import attendance as attendance_service
from app.reports import exports
from app.reports import sms as sms_service
from app.reports.exports import REMINDER_LABELS
from app.reports.queries import GroupBy
from app.reports.schemas import AttendanceReport, AttendanceRow, Counts, SmsReport, UnrecordedReport
from app.spips import service as spip_service
from app.web.appointments_list import DATE_MESSAGE, _day
from app.web.templating import MONTH_NAMES, french_date
from app.web.today import KIND_LABELS, SMS_STATUS

# The reports API's limit (``app/reports/router.py``: three years).
MAX_DAYS = 3 * 366
GROUPS: dict[str, tuple[GroupBy, str]] = {
    "mois": ("month", "Mois"),
    "semaine": ("week", "Semaine"),
    "type": ("appointment_type", "Type de convocation"),
    "agent": ("agent", "Agent"),
    "lieu": ("place", "Lieu"),
}
LABELS = {"spip": "SPIP", "du": "Du", "au": "Au", "groupe": "Regrouper par"}
# The tables the page shows, each with its CSV: /tableau-de-bord/export/<name>.csv
TABLES = ("presence", "rappels", "sans-issue", "sms")
REMINDER_HINTS = {
    "delivered": "Un SMS de convocation ou de rappel a été distribué (accusé de réception).",
    "sent_no_receipt": "Envoyé au fournisseur, sans accusé de réception.",
    "failed_or_skipped": "Échec, non distribué, expiré, ou non envoyé (trop tard…).",
    "no_reminder": "Aucun SMS : pas de numéro, refus des SMS, type sans SMS, ou pas encore envoyé.",
}


@dataclass
class Form:
    """The period as the URL gave it (a refused form comes back as typed)."""

    spip: str = ""
    du: str = ""
    au: str = ""
    groupe: str = "mois"
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> str:
        params = {"du": self.du, "au": self.au, "groupe": self.groupe}
        if self.spip:
            params = {"spip": self.spip, **params}
        return urlencode(params)


def month_of(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def read_form(params: Mapping[str, str], *, spip_today: date) -> Form:
    """Absent fields take the defaults: the SPIP's current month, by month."""
    first, last = month_of(spip_today)
    defaults = {"du": first.isoformat(), "au": last.isoformat(), "groupe": "mois"}
    form = Form()
    for name in LABELS:
        setattr(form, name, params.get(name, defaults.get(name, "")).strip()[:100])
    return form


def period(form: Form) -> tuple[date, date, GroupBy] | None:
    """The period and grouping; ``None`` with the form's French messages filled."""
    start = _day(form.du) if form.du else None
    end = _day(form.au) if form.au else None
    for name, value, read in (("du", form.du, start), ("au", form.au, end)):
        if not value:
            form.errors[name] = "Indiquez une date."
        elif read is None:
            form.errors[name] = DATE_MESSAGE
    form.du = start.isoformat() if start else form.du
    form.au = end.isoformat() if end else form.au
    if start and end and end < start:
        form.errors["au"] = "La date de fin doit être le jour de début ou après."
    elif start and end and (end - start).days > MAX_DAYS:
        form.errors["au"] = "La période ne peut pas dépasser trois ans."
    if form.groupe not in GROUPS:
        form.errors["groupe"] = "Choisissez un regroupement de la liste."
    if form.errors or start is None or end is None:
        return None
    return start, end, GROUPS[form.groupe][0]


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # written on the bar: « 85 % (120 sur 141) »
    width: float  # 0..100, share of the chart's width
    y: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    height: int


BAR_HEIGHT, BAR_GAP = 28, 14


def percent(rate: float | None) -> str:
    """« 85,3 % » (narrow no-break space), « — » without a rate."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}".replace(".", ",") + "\u202f%"


def euros(value: float) -> str:
    """« 0,99 € »; a price per part keeps its third decimal: « 0,045 € »."""
    text = f"{value:.3f}"
    text = text[:-1] if text.endswith("0") else text
    return text.replace(".", ",") + "\u00a0€"


CHART_LABEL_MAX = 36  # characters left of a bar; the table beside holds the whole name


def _short(label: str) -> str:
    return label if len(label) <= CHART_LABEL_MAX else label[: CHART_LABEL_MAX - 1] + "…"


def _chart(title: str, items: list[tuple[str, Counts]]) -> Chart:
    bars = []
    for i, (label, c) in enumerate(items):
        rate = c.attendance_rate
        value = (
            f"{percent(rate)} ({c.honored} sur {c.honored + c.missed})"
            if rate is not None
            else "aucune honorée ni non honorée"
        )
        width = round(rate * 100, 1) if rate is not None else 0.0
        bars.append(Bar(_short(label), value, width, i * (BAR_HEIGHT + BAR_GAP)))
    return Chart(title, bars, max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP))


@dataclass(frozen=True)
class ReminderLine:
    key: str
    label: str
    hint: str
    counts: Counts
    past: int  # honorées + non honorées + excusées + non renseignées


@dataclass(frozen=True)
class SmsLine:
    kind: str
    status: str
    provider: str
    messages: int
    segments: int


@dataclass(frozen=True)
class Dashboard:
    attendance: AttendanceReport  # rows named for the page and the CSV alike
    reminders: list[ReminderLine]
    sms: SmsReport
    sms_lines: list[SmsLine]
    unrecorded: UnrecordedReport
    to_check: int
    chart: Chart
    reminder_chart: Chart

    @property
    def unrecorded_total(self) -> int:
        return sum(r.count for r in self.unrecorded.rows)


def _past(c: Counts) -> int:
    return c.honored + c.missed + c.excused + c.unrecorded


def reminder_lines(report: AttendanceReport) -> list[ReminderLine]:
    return [
        ReminderLine(
            key,
            label,
            REMINDER_HINTS[key],
            report.total.by_reminder[key],
            _past(report.total.by_reminder[key]),
        )
        for key, label in REMINDER_LABELS.items()
    ]


def _month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTH_NAMES[int(month) - 1]} {year}"


async def _names(session: AsyncSession, spip_id: int, group_by: GroupBy) -> dict[str, str]:
    if group_by == "appointment_type":
        return {t.code: t.label for t in await appointment_service.list_types(session)}
    if group_by == "place":
        places = await spip_service.list_places(session, spip_id=spip_id)
        return {str(p.id): p.name for p in places}
    return {}


def _label(row: AttendanceRow, group_by: GroupBy, names: dict[str, str]) -> str | None:
    if group_by == "agent":
        return row.label  # the report names its agents
    if group_by == "month":
        return _month_label(row.key)
    if group_by == "week":
        monday = _day(row.key)
        return f"semaine du {french_date(monday)}" if monday else row.key
    return names.get(row.key, row.key)


async def load(
    session: AsyncSession,
    *,
    spip_id: int,
    start: date,
    end: date,
    group_by: GroupBy,
    price: float,
) -> Dashboard:
    """The reports API's four answers for one SPIP and period (``GET /reports/attendance``,
    ``/reports/sms``, ``/reports/unrecorded``), and the count of numbers to check."""
    report = await attendance_service.attendance(
        session, spip_id=spip_id, start=start, end=end, group_by=group_by
    )
    names = await _names(session, spip_id, group_by)
    rows = [r.model_copy(update={"label": _label(r, group_by, names)}) for r in report.rows]
    report = report.model_copy(update={"rows": rows})
    sms = await sms_service.sms_report(session, spip_id=spip_id, start=start, end=end, price=price)
    unrecorded = await sms_service.unrecorded(session, spip_id=spip_id)
    lines = reminder_lines(report)
    return Dashboard(
        attendance=report,
        reminders=lines,
        sms=sms,
        sms_lines=[
            SmsLine(
                KIND_LABELS.get(r.kind, r.kind),
                SMS_STATUS.get(r.status, (r.status, ""))[0],
                r.provider or "—",
                r.messages,
                r.segments,
            )
            for r in sorted(sms.rows, key=lambda r: (r.kind, r.status, r.provider or ""))
        ],
        unrecorded=unrecorded,
        to_check=await sms_service.numbers_to_check(session, spip_id=spip_id),
        chart=_chart(
            f"Taux de présence par {GROUPS_BY_CODE[group_by].lower()}",
            [(r.label or r.key, r.counts) for r in rows],
        ),
        reminder_chart=_chart(
            "Taux de présence selon le sort des rappels",
            [(line.label, line.counts) for line in lines],
        ),
    )


GROUPS_BY_CODE: dict[str, str] = {code: label for code, label in GROUPS.values()}


def csv_of(table: str, dashboard: Dashboard) -> bytes:
    """The CSV of one of the page's tables, by the reports' own export functions."""
    if table == "presence":
        return exports.attendance_csv(dashboard.attendance)
    if table == "rappels":
        return exports.reminder_csv(dashboard.attendance)
    if table == "sans-issue":
        return exports.unrecorded_csv(dashboard.unrecorded)
    return exports.sms_csv(dashboard.sms)
