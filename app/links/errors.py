from app.core.errors import NotFound


class LinkNotFound(NotFound):
    code = "convocation_link_not_found"
    message = "Cette convocation n'a pas de lien (elle a été enregistrée avant leur mise en place)."
