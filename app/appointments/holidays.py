"""A convocation on a public holiday of its place is warned of, never refused: some services
open on a local holiday, and the agent knows best. The rule itself is ``app.core.holidays``."""

from __future__ import annotations

from datetime import datetime

from app.core.holidays import effective_territory, holiday_territory, public_holiday
from app.core.localtime import zone
from app.models import Place
from app.reminders.schemas import SmsWarning
from app.reminders.templates import french_date

PUBLIC_HOLIDAY = "public_holiday"


def holiday_warning(
    starts_at: datetime, *, timezone: str, territory: str | None
) -> SmsWarning | None:
    """« Le lundi 5 avril 2027 est férié en Guyane (Lundi de Pâques) : vérifiez que le service
    est ouvert. », or ``None`` on a working day. The day is the place's local one."""
    local = starts_at.astimezone(zone(timezone))
    name = public_holiday(local.date(), territory)
    if name is None:
        return None
    where = holiday_territory(territory).where
    return SmsWarning(
        code=PUBLIC_HOLIDAY,
        kind=None,
        message=f"Le {french_date(local)} est férié{' ' + where if where else ''} ({name}) : "
        "vérifiez que le service est ouvert.",
    )


def holiday_warnings(
    starts_at: datetime, place: Place, *, spip_territory: str | None
) -> list[SmsWarning]:
    """The warning of a convocation at ``place``, whose own territory wins over its SPIP's."""
    territory = effective_territory(place.holiday_territory, spip_territory)
    warning = holiday_warning(starts_at, timezone=place.timezone, territory=territory)
    return [] if warning is None else [warning]
