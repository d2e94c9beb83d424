"""A link's token, derived rather than stored.

token = base64url (no padding) of the first 16 bytes of HMAC-SHA256(secret, "convocation-link:" +
nonce): 22 characters, 128 bits. The row keeps the nonce and the token's SHA-256; every SMS of the
convocation renders the same link from the nonce alone, and a stolen database gives no link.
The price: a new ``secret_key`` turns every link already sent into an unknown one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN_LENGTH = 22
PATH = "/c"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(secret: str, nonce: str) -> str:
    mac = hmac.new(secret.encode(), b"convocation-link:" + nonce.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    return _SHAPE.fullmatch(token) is not None


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}/{token}"


def masked(url: str) -> str:
    """The link as agents and the stored SMS texts show it: its token replaced by « … »."""
    return url[:-TOKEN_LENGTH] + "…"


def sample_url(base_url: str) -> str:
    """A link of the real length, for previews and the templates' segment cap."""
    return link_url(base_url, "x" * TOKEN_LENGTH)


def stop_proof(secret: str, token: str) -> str:
    """The hidden field of the « ne plus recevoir de SMS » form: the web app's CSRF token is
    an agent session's, and this form has no session. Bound to the link: a page of another
    site cannot compute it (it does not know the token, and the token alone is not enough)."""
    return hmac.new(secret.encode(), b"stop:" + token.encode(), hashlib.sha256).hexdigest()
