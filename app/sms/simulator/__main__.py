"""``python -m app.sms.simulator --port 9100``: run the provider simulator.

Every flag has an environment variable (``--error-5xx`` ↔ ``CONVOC_SIM_ERROR_5XX``), read from
the environment then from ``.env``. The API key and webhook secret are read from the
environment only, never from flags (a command line is visible to every local user):
``CONVOC_SIM_API_KEY`` / ``CONVOC_SIM_WEBHOOK_SECRET``, falling back to the values Convoc's
``http`` provider uses, ``CONVOC_SMS_HTTP_API_KEY`` / ``CONVOC_SMS_HTTP_WEBHOOK_SECRET``; so is
``CONVOC_SIM_INBOUND_URL``, where ``POST /_replies`` posts (it holds the receipt token).
Without a webhook secret no receipt is sent. The server binds to 127.0.0.1 unless told
otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping

import uvicorn
from dotenv import dotenv_values

from app.sms.simulator.app import SimulatorConfig, create_app

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# flag -> (type, default, help)
_FLAGS: dict[str, tuple[type, object, str]] = {
    "host": (str, "127.0.0.1", "adresse d'écoute (127.0.0.1 par défaut)"),
    "port": (int, 9100, "port d'écoute"),
    "latency-ms": (float, 0.0, "latence ajoutée à chaque réponse, en ms"),
    "error-5xx": (float, 0.0, "part des envois refusés en HTTP 500 (0 à 1)"),
    "error-timeout": (float, 0.0, "part des envois sans réponse avant --timeout-sleep-ms"),
    "error-429": (float, 0.0, "part des envois refusés en HTTP 429"),
    "error-permanent": (float, 0.0, "part des envois refusés en HTTP 400 (permanent)"),
    "retry-after": (float, 1.0, "Retry-After des réponses 429, en secondes"),
    "timeout-sleep-ms": (float, 30_000.0, "durée d'un « timeout » simulé, en ms"),
    "down-for": (float, 0.0, "panne totale (503) pendant N secondes au démarrage"),
    "receipt-delay-ms": (float, 200.0, "délai avant l'envoi d'un accusé de réception, en ms"),
    "receipt-batch": (int, 100, "accusés au plus par requête (groupés par URL de rappel)"),
    "receipt-linger-ms": (float, 100.0, "attente d'autres accusés pour un même envoi, en ms"),
    "undelivered": (float, 0.0, "part des accusés « undelivered » (0 à 1)"),
    "idempotency-hours": (float, 24.0, "durée de mémoire des références (0 : sans idempotence)"),
    "seed": (int, None, "graine du tirage aléatoire (runs reproductibles)"),
    "log-level": (str, "warning", "niveau de log d'uvicorn"),
}


def _environment() -> Mapping[str, str | None]:
    return {**dotenv_values(".env"), **os.environ}


def _parse(argv: list[str] | None, env: Mapping[str, str | None]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.sms.simulator",
        description="Simulateur de fournisseur SMS (format de fil « http » de Convoc).",
    )
    for flag, (kind, default, text) in _FLAGS.items():
        variable = "CONVOC_SIM_" + flag.upper().replace("-", "_")
        raw = env.get(variable)
        value = kind(raw) if raw not in (None, "") else default
        parser.add_argument(f"--{flag}", type=kind, default=value, help=f"{text} [{variable}]")
    return parser.parse_args(argv)


def _secret(env: Mapping[str, str | None], *names: str) -> str | None:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None


def main(argv: list[str] | None = None) -> None:
    env = _environment()
    args = _parse(argv, env)
    config = SimulatorConfig(
        latency_ms=args.latency_ms,
        error_5xx=args.error_5xx,
        error_timeout=args.error_timeout,
        error_429=args.error_429,
        error_permanent=args.error_permanent,
        retry_after=args.retry_after,
        timeout_sleep_ms=args.timeout_sleep_ms,
        receipt_delay_ms=args.receipt_delay_ms,
        receipt_batch=args.receipt_batch,
        receipt_linger_ms=args.receipt_linger_ms,
        undelivered=args.undelivered,
        idempotency_hours=args.idempotency_hours,
        # Holds the receipt token: from the environment only, like the secrets.
        inbound_url=_secret(env, "CONVOC_SIM_INBOUND_URL"),
        api_key=_secret(env, "CONVOC_SIM_API_KEY", "CONVOC_SMS_HTTP_API_KEY"),
        webhook_secret=_secret(env, "CONVOC_SIM_WEBHOOK_SECRET", "CONVOC_SMS_HTTP_WEBHOOK_SECRET"),
        seed=args.seed,
    )
    try:
        app = create_app(config)
    except ValueError as exc:
        sys.exit(f"Réglage du simulateur refusé : {exc}")
    if args.down_for > 0:
        app.state.simulator.down_until = time.monotonic() + args.down_for
    if args.host not in _LOOPBACK:
        print(
            f"Attention : le simulateur écoute sur {args.host}, pas seulement en local.",
            file=sys.stderr,
        )
    if config.webhook_secret is None:
        print(
            "Pas de secret de webhook : aucun accusé de réception ne sera envoyé.", file=sys.stderr
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
