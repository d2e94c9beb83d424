from app.core.errors import Conflict, NotFound, Unprocessable


class AgentNotFound(NotFound):
    code = "agent_not_found"
    message = "Agent introuvable."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Un agent utilise déjà cette adresse électronique."


class AgentNotInSpip(Unprocessable):
    code = "agent_not_in_spip"
    message = "Cet agent n'appartient pas au SPIP concerné."


class SpipRequired(Unprocessable):
    code = "spip_required"
    message = "Seul un administrateur national ou un greffier peut n'appartenir à aucun SPIP."


class CourtRequired(Unprocessable):
    code = "court_required"
    message = "Un greffier (court_clerk) appartient à un tribunal : indiquez « court_id »."


class CourtNotAllowed(Unprocessable):
    code = "court_not_allowed"
    message = "Seul un greffier (court_clerk) appartient à un tribunal."


class ClerkWithoutSpip(Unprocessable):
    code = "clerk_without_spip"
    message = "Un greffier n'appartient à aucun SPIP : n'indiquez pas « spip_id »."


class CourtUnknown(Unprocessable):
    code = "court_unknown"
    message = "Tribunal introuvable."


class ClerkRoleFixed(Unprocessable):
    code = "clerk_role_fixed"
    message = (
        "Le rôle de greffier ne se donne ni ne se retire : créez un autre compte pour changer "
        "de rôle."
    )
