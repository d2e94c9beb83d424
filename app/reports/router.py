from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.auth import access
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.clock import utcnow
from app.core.errors import Unprocessable
from app.core.responses import error_responses
from app.core.schemas import DayQuery, IdQuery
from app.db import SessionDep
from app.models import Agent
from app.reports import attendance as attendance_service
from app.reports import exports
from app.reports import sms as sms_service
from app.reports.queries import GroupBy
from app.reports.schemas import AttendanceReport, SmsReport, UnrecordedReport
from app.spips import service as spip_service
from app.spips.errors import SpipNotFound

router = APIRouter(prefix="/reports", tags=["Rapports"])
AUTH = error_responses(401, 403, 404, 422)
MAX_DAYS = 3 * 366
Format = Literal["json", "csv", "svg", "png"]
MEDIA = {"csv": "text/csv; charset=utf-8", "svg": "image/svg+xml", "png": "image/png"}


class InvalidPeriod(Unprocessable):
    code = "invalid_period"
    message = "Période invalide : « from » doit précéder « to », sur trois ans au plus."


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    """Default: the last twelve months, this one included."""
    end = end or utcnow().date()
    start = start or (end.replace(day=1) - timedelta(days=335)).replace(day=1)
    if start > end or (end - start).days > MAX_DAYS:
        raise InvalidPeriod(field="from")
    return start, end


def _file(content: bytes, fmt: str, name: str) -> Response:
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


Since = Annotated[
    DayQuery | None, Query(alias="from", description="Premier jour (local), AAAA-MM-JJ")
]
Until = Annotated[DayQuery | None, Query(alias="to", description="Dernier jour inclus (local)")]
FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m: {} for m in MEDIA.values()}, "description": "JSON, CSV ou graphique"}
}


@router.get("/attendance", response_model=AttendanceReport, responses=AUTH | FILES)
async def attendance_report(
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.report_read))],
    spip_id: IdQuery = None,
    since: Since = None,
    until: Until = None,
    group_by: GroupBy = "month",
    format: Format = "json",
) -> AttendanceReport | Response:
    """Attendance rate, excused and unrecorded convocations, and the same split by what
    happened to the reminders. Admins may omit ``spip_id`` for the national view."""
    scope = access.list_scope(agent, spip_id, SpipNotFound)
    start, end = _period(since, until)
    if format in ("svg", "png"):
        group_by = "month"  # the chart is the monthly rate
    report = await attendance_service.attendance(
        session, spip_id=scope, start=start, end=end, group_by=group_by
    )
    if format == "json":
        return report
    if format == "csv":
        return _file(exports.attendance_csv(report), "csv", f"presence-{start}-{end}")
    name = (await spip_service.get_spip(session, scope)).name if scope else "tous les SPIP"
    title = f"Taux de présence mensuel — {name}, {exports.period_title(start, end)}"
    return _file(exports.attendance_chart(report, title=title, fmt=format), format, "presence")


@router.get("/sms", response_model=SmsReport, responses=AUTH | FILES)
async def sms_report(
    request: Request,
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.report_read))],
    spip_id: IdQuery = None,
    since: Since = None,
    until: Until = None,
    format: Literal["json", "csv"] = "json",
) -> SmsReport | Response:
    """Messages by kind and status, delivery rate, segments, estimated cost, median delay."""
    scope = access.list_scope(agent, spip_id, SpipNotFound)
    start, end = _period(since, until)
    report = await sms_service.sms_report(
        session,
        spip_id=scope,
        start=start,
        end=end,
        price=request.app.state.settings.sms_price_per_segment_eur,
    )
    if format == "csv":
        return _file(exports.sms_csv(report), "csv", f"sms-{start}-{end}")
    return report


@router.get("/unrecorded", response_model=UnrecordedReport, responses=AUTH | FILES)
async def unrecorded_report(
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.report_read))],
    spip_id: IdQuery = None,
    format: Literal["json", "csv"] = "json",
) -> UnrecordedReport | Response:
    """Past convocations still without an outcome after 7 days, per agent."""
    scope = access.list_scope(agent, spip_id, SpipNotFound)
    report = await sms_service.unrecorded(session, spip_id=scope)
    if format == "csv":
        return _file(exports.unrecorded_csv(report), "csv", "convocations-sans-issue")
    return report
