"""Who may do what, and on which SPIP. The one place where access rules live.

Every route declares the permission it needs; every resource is checked against the agent's
SPIP. Another SPIP's resources answer 404 (their existence is not revealed); an allowed resource
with a forbidden action answers 403.
"""

from __future__ import annotations

from enum import StrEnum

from app.auth.errors import Forbidden
from app.core.errors import NotFound
from app.models import Agent, Role


class Permission(StrEnum):
    spip_create = "spip:create"
    spip_read = "spip:read"
    spip_update = "spip:update"
    place_read = "place:read"
    place_write = "place:write"
    agent_read = "agent:read"
    agent_write = "agent:write"
    person_read = "person:read"
    person_write = "person:write"
    person_archive = "person:archive"
    # A person's whole record as JSON, for a right-of-access request (RGPD): administrators.
    person_export = "person:export"
    appointment_read = "appointment:read"
    appointment_write = "appointment:write"
    agenda_read = "agenda:read"
    # Open, close and change agendas, slot types and slots: the secretariat and administrators.
    agenda_write = "agenda:write"
    notification_resend = "notification:resend"
    policy_read = "policy:read"
    policy_write = "policy:write"
    template_write = "template:write"
    national_template_write = "template:national"  # national administrators only
    report_read = "report:read"
    # The service's dashboard in the web application: its managers and administrators. A CPIP
    # reads the reports through the API (their own figures), not the service's steering page.
    dashboard_read = "report:dashboard"
    audit_read = "audit:read"
    history_read = "history:read"
    own_account = "account:own"  # read one's own account, log out
    # « Sortie d'audience »: a court clerk sees the agendas opened to its court, books into
    # them and reads its court's bookings. Nobody else holds it (it is not an admin's tool).
    court_booking = "court:booking"
    # Create and change courts and link them to SPIPs: national administrators only.
    court_write = "court:write"
    # The operations page and API: the queue, pausing the sending, retrying failures.
    operations = "operations:manage"


P = Permission
_READ_ALL = frozenset(
    {
        P.spip_read,
        P.place_read,
        P.agent_read,
        P.person_read,
        P.appointment_read,
        P.agenda_read,
        P.policy_read,
        P.history_read,
        P.own_account,
    }
)
_CASEWORK = frozenset({P.person_write, P.appointment_write, P.notification_resend})
_LOCAL_ADMIN = (
    _READ_ALL
    | _CASEWORK
    | {
        P.spip_update,
        P.place_write,
        P.agenda_write,
        P.agent_write,
        P.person_archive,
        P.person_export,
        P.policy_write,
        P.template_write,
        P.report_read,
        P.dashboard_read,
        P.audit_read,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission) - {P.court_booking},
    Role.local_admin: frozenset(_LOCAL_ADMIN),
    # Managers read everything in their SPIP and its reports, and manage convocations.
    Role.manager: _READ_ALL
    | {P.appointment_write, P.notification_resend, P.report_read, P.dashboard_read},
    Role.cpip: _READ_ALL | _CASEWORK | {P.report_read},
    Role.secretariat: _READ_ALL | _CASEWORK | {P.agenda_write},
    # Nothing of a SPIP: no persons, convocations, reports or timelines beyond their bookings.
    Role.court_clerk: frozenset({P.court_booking, P.own_account}),
}


def can(agent: Agent, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(agent.role)]


def require(agent: Agent, permission: Permission) -> None:
    if not can(agent, permission):
        raise Forbidden()


def is_national(agent: Agent) -> bool:
    return agent.role == Role.admin.value


def is_court_clerk(agent: Agent) -> bool:
    return agent.role == Role.court_clerk.value


def ensure_scope(agent: Agent, spip_id: int | None, error: type[NotFound] = NotFound) -> None:
    """404 when the resource belongs to another SPIP than the agent's."""
    if is_national(agent):
        return
    if spip_id is None or spip_id != agent.spip_id:
        raise error()


def list_scope(
    agent: Agent, requested_spip_id: int | None, error: type[NotFound] = NotFound
) -> int | None:
    """The SPIP a list is restricted to: the agent's own (admins: what they asked, or all)."""
    if is_national(agent):
        return requested_spip_id
    if agent.spip_id is None:
        # A court clerk has no SPIP: None here would mean « every SPIP ».
        raise Forbidden()
    if requested_spip_id is not None and requested_spip_id != agent.spip_id:
        raise error()
    return agent.spip_id
