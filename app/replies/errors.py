from app.core.errors import AppError, NotFound


class UnknownInboundProvider(NotFound):
    code = "unknown_provider"
    message = "Fournisseur SMS inconnu ou sans réception de SMS sur ce serveur."


class InboundNotAuthenticated(AppError):
    code = "inbound_not_authenticated"
    status_code = 401
    message = "SMS reçu refusé : signature ou jeton invalide."


class InvalidInbound(AppError):
    code = "invalid_inbound"
    status_code = 400
    message = "SMS reçu illisible."


class ReplyNotFound(NotFound):
    code = "reply_not_found"
    message = "Réponse introuvable."
