"""The SMS providers Convoc knows, by the name ``CONVOC_SMS_PROVIDERS`` lists them under.

Each provider module declares its settings, its factory and its ``PROVIDER`` spec
(``app.sms.providers.spec``); this registry only lists them, in the order error messages name
them. Adding a provider is its module and its entry here (docs/sms-providers-registry.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import httpx

from app.sms.base import SmsProvider
from app.sms.providers import brevo, console, http, linkmobility, twilio
from app.sms.providers.spec import ProviderSpec

if TYPE_CHECKING:
    from app.sms.config import SmsSettings

_SPECS: Final[tuple[ProviderSpec[Any], ...]] = (
    console.PROVIDER,
    http.PROVIDER,
    brevo.PROVIDER,
    twilio.PROVIDER,
    linkmobility.PROVIDER,
)

PROVIDERS: Final[Mapping[str, ProviderSpec[Any]]] = MappingProxyType(
    {spec.name: spec for spec in _SPECS}
)


def build_provider(
    name: str, settings: SmsSettings, *, client: httpx.AsyncClient | None = None
) -> SmsProvider:
    """The provider called ``name``, configured from ``settings``.

    ``client`` replaces the provider's own HTTP client (tests); the caller then closes it.
    """
    spec = PROVIDERS.get(name)
    if spec is None:
        raise ValueError(f"unknown SMS provider {name!r} (known: {', '.join(PROVIDERS)})")
    return spec.build(settings.provider_settings(name), settings.provider_config(name), client)
