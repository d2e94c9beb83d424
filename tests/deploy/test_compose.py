"""The deployment files, tested as far as this machine allows: the image cannot be built here
(no registry for base images), so deploy/compose.yaml is checked against the Compose
specification's JSON schema (as vendored by check-jsonschema) after interpolation, and its
wiring — start-up order, health checks, the simulator's profile — is asserted."""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, as ``docker compose``
    resolves them before validating."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    resolved = _VARIABLE.sub(one, value)
    return int(resolved) if resolved.isdigit() and value != resolved and "${" in value else resolved


def load(env: dict[str, str]) -> dict[str, Any]:
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return interpolate(raw, env)  # type: ignore[no-any-return]


SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "CONVOC_SECRET_KEY": "k" * 48}


def compose_schema() -> dict[str, Any]:
    schema = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    return json.loads(schema.read_text())  # type: ignore[no-any-return]


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    jsonschema.validate(load(SECRETS), compose_schema())


def test_the_schema_catches_a_misspelt_key() -> None:
    broken = load(SECRETS)
    broken["services"]["api"]["dependson"] = broken["services"]["api"].pop("depends_on")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, compose_schema())


def test_the_secrets_are_required() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        load({"CONVOC_SECRET_KEY": "k" * 48})
    with pytest.raises(KeyError, match="CONVOC_SECRET_KEY"):
        load({"POSTGRES_PASSWORD": "x"})


def test_start_up_order_health_checks_and_the_simulator_profile() -> None:
    services = load(SECRETS | {"CONVOC_WORKER_PROCESSES": "3"})["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for role in ("api", "worker"):
        assert services[role]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
        assert services[role]["command"] == [role]
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["api"]["environment"]["CONVOC_WORKER_EMBEDDED"] == "false"
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert all("healthcheck" in services[name] for name in ("db", "api", "worker", "simulator"))
    assert services["simulator"]["profiles"] == ["simulator"]
    assert "profiles" not in services["api"]
    url = services["api"]["environment"]["CONVOC_DATABASE_URL"]
    assert url == "postgresql://convoc:pg-secret@db:5432/convoc"


def test_the_image_runs_the_entry_point() -> None:
    dockerfile = (DEPLOY.parent / "Dockerfile").read_text()
    assert "deploy/entrypoint.sh" in dockerfile
    assert os.access(DEPLOY / "entrypoint.sh", os.X_OK)
