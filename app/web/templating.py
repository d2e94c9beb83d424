"""Jinja2 for the pages: one environment, French formats, versioned static URLs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.core.localtime import FRENCH_ZONES
from app.web import static

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)

DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTH_NAMES = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# How agents name a zone: « 9h00 (heure de Cayenne) » (the territories' list, app.core.localtime).
# Zones not listed use their city.
_ZONE_NAMES = {z.key: z.city for z in FRENCH_ZONES}


def french_date(value: date | datetime) -> str:
    """« lundi 29 mars 2027 »."""
    day = "1er" if value.day == 1 else str(value.day)
    return f"{DAY_NAMES[value.weekday()]} {day} {MONTH_NAMES[value.month - 1]} {value.year}"


def relative_day(value: datetime, today: date) -> str:
    """« aujourd'hui », « hier », « demain », else the date."""
    words = {-1: "hier", 0: "aujourd'hui", 1: "demain"}
    return words.get((value.date() - today).days) or french_date(value)


def french_time(value: datetime) -> str:
    """« 9h00 »."""
    return f"{value.hour}h{value.minute:02d}"


def zone_name(tz_name: str) -> str:
    return _ZONE_NAMES.get(tz_name, tz_name.rsplit("/", 1)[-1].replace("_", " "))


def heure_de(tz_name: str) -> str:
    name = zone_name(tz_name)
    # « heure de La Réunion », « heure des Marquises »
    if name == "Marquises":
        return "heure des Marquises"
    return f"heure de {name}"


templates.env.filters["date_fr"] = french_date
templates.env.filters["heure"] = french_time
templates.env.filters["jour"] = relative_day
templates.env.filters["heure_de"] = heure_de
templates.env.globals["static_url"] = static.url


def sms_parts(segments: int | None, encoding: str | None) -> str | None:
    """« 2 SMS (GSM-7) »: how many SMS a text costs, and in which alphabet."""
    if not segments:
        return None
    name = {"gsm7": "GSM-7", "ucs2": "UCS-2"}.get(encoding or "", encoding or "")
    return f"{segments} SMS" + (f" ({name})" if name else "")


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page. ``request.state`` carries what the layout shows (agent, CSRF token)."""
    page = _page(request, context)
    return templates.TemplateResponse(request, name, page, status_code=status_code, headers=headers)


def _page(request: Request, context: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "request": request,
        "viewer": getattr(request.state, "viewer", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **(context or {}),
    }


def render_error(
    request: Request, name: str, context: dict[str, Any] | None, *, status_code: int
) -> HTMLResponse:
    """An error page; for htmx, only its content, put in place of the page's (the part of the
    page the action aimed at cannot show a whole page)."""
    if not request.headers.get("HX-Request"):
        return render(request, name, context, status_code=status_code)
    template = templates.get_template(name)
    content = "".join(template.blocks["main"](template.new_context(_page(request, context))))
    headers = {"HX-Retarget": "#contenu", "HX-Reswap": "innerHTML"}
    return HTMLResponse(content, status_code=status_code, headers=headers)
