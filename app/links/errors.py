from app.core.errors import Conflict


class NoLink(Conflict):
    code = "convocation_link_missing"
    message = (
        "Cette convocation n'a pas de lien : elle a été enregistrée avant leur mise en place. "
        "Vous pouvez en créer un."
    )
