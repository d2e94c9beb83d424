"""SMS providers, each implementing ``app.sms.base.SmsProvider``.

``build_provider`` turns a name of ``CONVOC_SMS_PROVIDERS`` into a provider instance.
"""

from __future__ import annotations

import httpx

from app.sms.base import SmsProvider
from app.sms.config import KNOWN_PROVIDERS, SmsSettings


def build_provider(
    name: str, settings: SmsSettings, *, client: httpx.AsyncClient | None = None
) -> SmsProvider:
    """The provider called ``name``, configured from ``settings``.

    ``client`` replaces the provider's own HTTP client (tests); the caller then closes it.
    """
    # Imported here so that importing the package does not import every provider.
    from app.sms.providers.brevo import BrevoProvider
    from app.sms.providers.console import ConsoleProvider
    from app.sms.providers.http import HttpProvider
    from app.sms.providers.linkmobility import LinkMobilityProvider
    from app.sms.providers.twilio import TwilioProvider

    if name == "console":
        return ConsoleProvider()
    if name == "http":
        return HttpProvider.from_settings(settings, client=client)
    if name == "brevo":
        return BrevoProvider.from_settings(settings, client=client)
    if name == "twilio":
        return TwilioProvider.from_settings(settings, client=client)
    if name == "linkmobility":
        return LinkMobilityProvider.from_settings(settings, client=client)
    raise ValueError(f"unknown SMS provider {name!r} (known: {', '.join(KNOWN_PROVIDERS)})")
