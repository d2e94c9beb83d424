"""CSV for French spreadsheets, and the attendance chart."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from app.reports.periods import months_between
from app.reports.schemas import (
    AttendanceReport,
    AttendanceRow,
    Counts,
    SmsReport,
    UnrecordedReport,
)

REMINDER_LABELS = {
    "delivered": "rappel distribué",
    "sent_no_receipt": "envoyé sans accusé",
    "failed_or_skipped": "échec ou non envoyé",
    "no_reminder": "sans rappel",
}


class FrenchNumber(str):
    """A number we formatted ourselves ("-12,5"): written as is, never taken for a formula."""


def _number(value: float | None, *, percent: bool = False) -> FrenchNumber:
    """A French decimal: comma separator; empty when undefined."""
    if value is None:
        return FrenchNumber("")
    if percent:
        value *= 100
    return FrenchNumber(f"{value:.1f}".replace(".", ","))


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula is prefixed with a quote.

    Names and codes come from agents (``@SUM(1+1)*cmd|/C calc!A0``); numbers we write
    ourselves (ints, ``FrenchNumber``, dates) are left alone so they stay numbers.
    """
    if isinstance(value, FrenchNumber) or not isinstance(value, str):
        return value
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    writer.writerows([[_cell(v) for v in row] for row in rows])
    # UTF-8 with BOM: what French spreadsheets need to read accents correctly.
    return buffer.getvalue().encode("utf-8-sig")


# The second column's header: what the rows are grouped by (by month or week: « Période »).
KEY_HEADERS = {"agent": "Agent", "appointment_type": "Type", "place": "Lieu"}


def attendance_csv(report: AttendanceReport) -> bytes:
    key_header = KEY_HEADERS.get(report.group_by, "Période")
    header = [
        "SPIP", key_header, "Honorées", "Non honorées", "Excusées", "Non renseignées",
        "À venir", "Annulées", "Reportées", "Taux de présence (%)", "Part non renseignée (%)",
    ] + [f"Taux de présence, {label} (%)" for label in REMINDER_LABELS.values()]  # fmt: skip
    lines = [_row_cells(r) for r in report.rows] + [_row_cells(report.total)]
    return _csv(header, lines)


def _row_cells(row: AttendanceRow) -> list[object]:
    c = row.counts
    return [
        row.spip_code or ("Total" if row.key == "total" else "Tous"),
        "Total" if row.key == "total" else (row.label or row.key),
        c.honored,
        c.missed,
        c.excused,
        c.unrecorded,
        c.upcoming,
        c.cancelled,
        c.rescheduled,
        _number(c.attendance_rate, percent=True),
        _number(c.unrecorded_share, percent=True),
    ] + [_number(row.by_reminder[k].attendance_rate, percent=True) for k in REMINDER_LABELS]


def reminder_csv(report: AttendanceReport) -> bytes:
    """The period's attendance split by what happened to the reminders, with the counts."""
    header = [
        "Rappel", "Convocations passées", "Honorées", "Non honorées", "Excusées",
        "Non renseignées", "Taux de présence (%)",
    ]  # fmt: skip
    rows: list[list[object]] = []
    for key, label in REMINDER_LABELS.items():
        c = report.total.by_reminder[key]
        past = c.honored + c.missed + c.excused + c.unrecorded
        rows.append([label, past, c.honored, c.missed, c.excused, c.unrecorded,
                     _number(c.attendance_rate, percent=True)])  # fmt: skip
    c = report.total.counts
    past = c.honored + c.missed + c.excused + c.unrecorded
    rows.append(["Ensemble", past, c.honored, c.missed, c.excused, c.unrecorded,
                 _number(c.attendance_rate, percent=True)])  # fmt: skip
    return _csv(header, rows)


def sms_csv(report: SmsReport) -> bytes:
    header = ["Fournisseur", "Type", "Statut", "Messages", "Segments"]
    rows: list[list[object]] = [
        [r.provider or "", r.kind, r.status, r.messages, r.segments] for r in report.rows
    ]
    rows.append([])
    rows.append(["Fournisseur", "Acceptés", "Distribués", "Taux de distribution (%)",
                 "Segments", "Coût estimé (€)", "Délai médian de distribution (s)"])  # fmt: skip
    rows += [
        [p.provider, p.sent, p.delivered, _number(p.delivery_rate, percent=True), p.segments,
         _number(p.estimated_cost_eur), _number(p.median_seconds_to_delivery)]
        for p in report.providers
    ]  # fmt: skip
    return _csv(header, rows)


def unrecorded_csv(report: UnrecordedReport) -> bytes:
    return _csv(
        ["Agent", "Convocations sans issue", "La plus ancienne"],
        [[r.agent_name or "Sans agent", r.count, r.oldest_starts_at] for r in report.rows],
    )


# The usual French abbreviations, for axis labels.
SHORT_MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip


def _month_label(key: str) -> str:
    """'2027-01' → 'janv. 2027'."""
    year, month = key.split("-")
    return f"{SHORT_MONTHS[int(month) - 1]} {year}"


def _without_delivered(row: AttendanceRow) -> float | None:
    others = [row.by_reminder[k] for k in ("sent_no_receipt", "failed_or_skipped", "no_reminder")]
    honored = sum(c.honored for c in others)
    missed = sum(c.missed for c in others)
    return Counts.from_counts({"honored": honored, "missed": missed}).attendance_rate


NO_CONVOCATION = "aucune convocation"
SERIES_STYLES = {
    "Avec un rappel distribué": ("#000091", "-"),
    "Sans rappel distribué": ("#e1000f", "-"),
    "Ensemble": ("#666666", "--"),
}


@dataclass(frozen=True)
class ChartData:
    """What the chart shows, month by month over the whole period (pure, testable)."""

    months: list[str]  # every month of the period, 'YYYY-MM', x position = index
    labels: list[str]
    empty: list[int]  # positions of the months without any convocation
    series: dict[str, list[float | None]]  # one value per month; None: no rate, a gap


def chart_data(report: AttendanceReport) -> ChartData:
    """Every month of the period on the axis, not only those with data.

    Drawn as categories, March and June sat side by side when April and May had no
    convocation, and the line joined them. A month without a convocation keeps its place,
    breaks the lines and is labelled « aucune convocation ».
    """
    by_month = {r.key: r for r in (report.rows if report.spip_id is not None else report.totals)}
    months = sorted(set(months_between(report.start, report.end)) | set(by_month))
    rows = [by_month.get(m) for m in months]
    series: dict[str, list[float | None]] = {
        "Avec un rappel distribué": [
            r.by_reminder["delivered"].attendance_rate if r else None for r in rows
        ],
        "Sans rappel distribué": [_without_delivered(r) if r else None for r in rows],
        "Ensemble": [r.counts.attendance_rate if r else None for r in rows],
    }
    return ChartData(
        months=months,
        labels=[_month_label(m) for m in months],
        empty=[i for i, r in enumerate(rows) if r is None],
        series=series,
    )


def attendance_figure(report: AttendanceReport, *, title: str) -> Figure:
    """Monthly attendance rate, with and without a delivered reminder, on a monthly axis."""
    data = chart_data(report)
    fig = Figure(figsize=(9, 4.8), dpi=110)  # no pyplot: no global state, safe in a server
    ax = fig.subplots()
    for name, values in data.series.items():
        if all(v is None for v in values):
            continue
        color, line = SERIES_STYLES[name]
        # NaN breaks the line: months without a rate are a visible gap, never bridged.
        ax.plot(
            range(len(values)),
            [math.nan if v is None else v for v in values],
            line,
            marker="o",
            color=color,
            label=name,
            linewidth=2,
        )
    if len(data.empty) < len(data.months):
        for i in data.empty:
            ax.axvspan(i - 0.5, i + 0.5, color="#eeeeee", zorder=0)
            ax.text(i, 0.5, NO_CONVOCATION, rotation=90, ha="center", va="center", color="#666666")
    ax.set_xticks(range(len(data.labels)), data.labels, rotation=45, ha="right")
    ax.set_xlim(-0.5, max(len(data.labels) - 0.5, 0.5))
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("Taux de présence (honorées / (honorées + non honorées))")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    if len(data.empty) == len(data.months):
        ax.text(0.5, 0.5, "Aucune convocation sur la période", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def attendance_chart(report: AttendanceReport, *, title: str, fmt: str) -> bytes:
    """The attendance figure as SVG or PNG."""
    fig = attendance_figure(report, title=title)
    buffer = io.BytesIO()
    # Keep SVG text as text: smaller, selectable, readable by screen readers.
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def period_title(start: date, end: date) -> str:
    return f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"
