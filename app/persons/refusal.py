"""A person's refusal of SMS, whoever records it.

An agent records it on the person's form; the person can record it alone, from the link in a
convocation SMS or by answering STOP. Either way the dispatcher skips every message still
planned (``recipient_blocker`` reads ``phone_status`` at send time), the referent sees when and
how on the person's page, and the audit trail keeps who: the agent, or « la personne ».
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.core.clock import utcnow
from app.models import Person, PhoneStatus, RefusalChannel

AUDIT_ACTION = "sms_refused_by_person"


def refusal_changes(person: Person, new_status: str | None) -> dict[str, Any]:
    """The bookkeeping columns to write with an agent's change of ``phone_status``."""
    if new_status is None or new_status == person.phone_status:
        return {}
    if new_status == PhoneStatus.refused.value:
        return {"sms_refused_at": utcnow(), "sms_refused_via": RefusalChannel.agent.value}
    if person.phone_status == PhoneStatus.refused.value:
        return {"sms_refused_at": None, "sms_refused_via": None}
    return {}


def record_refusal_by_person(
    session: AsyncSession, person: Person, *, via: RefusalChannel, client: str | None = None
) -> bool:
    """The person declines SMS (``via`` the link or an SMS). False when already refused.

    Audited with no agent (the person acted), the channel in ``changes`` and never a value of
    personal data; the caller commits.
    """
    if person.phone_status == PhoneStatus.refused.value:
        return False
    person.phone_status = PhoneStatus.refused.value
    person.sms_refused_at = utcnow()
    person.sms_refused_via = via.value
    audit.record(
        session,
        AUDIT_ACTION,
        "person",
        person.id,
        spip_id=person.spip_id,
        client=client or f"person:{via.value}",
        changes={"phone_status": {"old": "valid", "new": "refused"}, "via": {"new": via.value}},
    )
    return True
