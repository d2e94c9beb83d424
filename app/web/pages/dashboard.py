"""« Tableau de bord » for SPIP managers: attendance over a period, what reminders change,
outcomes left to record, SMS delivery and cost, numbers to check; each table with its CSV.

The numbers are the reports API's (``GET /api/v1/reports/…``): the same services, the same
permission (``report:read``) and the same scope (``access.list_scope``: the agent's SPIP; a
national administrator chooses one)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.localtime import zone
from app.db import SessionDep
from app.models import Agent, Spip
from app.reports.exports import period_title
from app.spips import service as spip_service
from app.spips.errors import SpipNotFound
from app.web import dashboard
from app.web.sessions import PageAgent
from app.web.templating import render
from app.web.today import zone_label

router = APIRouter()
TEMPLATE = "pages/dashboard.html"


class TableNotFound(NotFound):
    code = "table_not_found"
    message = "Ce tableau n'existe pas."


async def _spip(
    request: Request, session: SessionDep, agent: Agent, form: dashboard.Form
) -> tuple[Spip | None, list[Spip]]:
    """The SPIP shown: the agent's own; a national administrator's choice (the first SPIP when
    none is chosen). Another SPIP asked by an agent is « introuvable », as in the API."""
    if not access.is_national(agent):
        asked = int(form.spip) if form.spip.isdigit() and len(form.spip) < 10 else None
        if form.spip and asked is None:
            raise SpipNotFound()
        access.list_scope(agent, asked, SpipNotFound)
        form.spip = ""
        return request.state.web_spip, []
    spips = await spip_service.list_spips(session)
    chosen = next((s for s in spips if str(s.id) == form.spip), None)
    if form.spip and chosen is None:
        form.errors["spip"] = "Ce SPIP n'existe pas."
    chosen = chosen or (spips[0] if spips else None)
    form.spip = str(chosen.id) if chosen else ""
    return chosen, spips


async def _read(
    request: Request, session: SessionDep, agent: PageAgent
) -> tuple[dashboard.Form, Spip | None, list[Spip], dashboard.Dashboard | None]:
    require(request, agent, Permission.dashboard_read)
    params = request.query_params
    form = dashboard.Form(spip=params.get("spip", "").strip()[:12])
    spip, spips = await _spip(request, session, agent, form)
    if spip is None:
        return form, None, spips, None
    spip_today = utcnow().astimezone(zone(spip.timezone)).date()
    read = dashboard.read_form(params, spip_today=spip_today)
    read.spip, read.errors = form.spip, form.errors
    found = dashboard.period(read)
    if found is None or read.errors:
        return read, spip, spips, None
    start, end, group_by = found
    board = await dashboard.load(
        session,
        spip_id=spip.id,
        start=start,
        end=end,
        group_by=group_by,
        price=request.app.state.settings.sms_price_per_segment_eur,
    )
    return read, spip, spips, board


@router.get("/tableau-de-bord", response_class=HTMLResponse)
async def dashboard_page(request: Request, session: SessionDep, agent: PageAgent) -> HTMLResponse:
    form, spip, spips, board = await _read(request, session, agent)
    context: dict[str, Any] = {
        "form": form,
        "spip": spip,
        "spips": spips,
        "spip_options": [(str(s.id), s.name) for s in spips],
        "board": board,
        "labels": dashboard.LABELS,
        "groups": [(key, label) for key, (_, label) in dashboard.GROUPS.items()],
        "group_label": dashboard.GROUPS.get(form.groupe, ("", ""))[1],
        "query": form.query(),
        "percent": dashboard.percent,
        "euros": dashboard.euros,
        "spip_zone": zone_label(spip.timezone, spip.timezone) if spip else None,
        "period": _title(form),
    }
    status = 422 if form.errors else 200
    return render(request, TEMPLATE, context, status_code=status)


def _title(form: dashboard.Form) -> str:
    if form.errors:
        return ""
    return period_title(date.fromisoformat(form.du), date.fromisoformat(form.au))


@router.get("/tableau-de-bord/export/{table}.csv")
async def dashboard_csv(
    request: Request, session: SessionDep, agent: PageAgent, table: str
) -> Response:
    """A table of the page as CSV (the reports' Excel-fr format), for the page's filters."""
    if table not in dashboard.TABLES:
        raise TableNotFound()
    form, spip, _, board = await _read(request, session, agent)
    if board is None or spip is None:
        return await dashboard_page(request, session, agent)
    name = f"{table}-{spip.code}-{form.du}-{form.au}.csv"
    return Response(
        dashboard.csv_of(table, board),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
