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
    message = "Seul un administrateur national peut n'appartenir à aucun SPIP."
