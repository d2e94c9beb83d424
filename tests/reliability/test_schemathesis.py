"""Every operation of the OpenAPI document, fuzzed by schemathesis as a national administrator:
no 5xx, and every response matches what the document declares (status, content type, body).

Schemathesis generates the requests (valid ones, then invalid ones) from the document the app
serves; they are sent through the suite's own API client, inside the test's rolled-back
transaction, on both databases. Half the valid requests aim at objects that exist (a SPIP, a
place, a person, a convocation), so handlers run past their 404s.

Business rules beyond the document (an unknown convocation type, a date in the past, a phone
number that is no mobile) rightly refuse some schema-valid requests with 4xx: schemathesis'
"schema-valid request rejected" check is therefore left out; every other check runs (no 5xx,
documented status codes and content types, bodies matching their schemas, invalid requests
refused).

Bounded and reproducible in CI (derandomized, a few examples per operation). The long run::

    CONVOC_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/reliability/test_schemathesis.py
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.main import create_app
from app.models import Agent
from tests.conftest import FIXED_NOW
from tests.factories import days, make_appointment, make_person, make_place, make_spip

EXAMPLES = int(os.environ.get("CONVOC_FUZZ_EXAMPLES", "6"))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # FastAPI's duplicate operation id warning (GET/POST routes)
    _DOCUMENT = create_app(Settings(env="test", secret_key="f" * 40)).openapi()
SCHEMA = schemathesis.openapi.from_dict(_DOCUMENT)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


def _cases(label: str, mode: GenerationMode, path_parameters: dict[str, int] | None) -> list[Any]:
    """``EXAMPLES`` cases for one operation, the same ones on every run."""
    operation = OPERATIONS[label]
    wanted = set(re.findall(r"{(\w+)}", operation.path))
    fixed = {k: v for k, v in (path_parameters or {}).items() if k in wanted} or None
    found: list[Any] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    def collect(case: Any) -> None:
        found.append(case)

    # Unsatisfiable: nothing to make invalid (no parameters, no body); valid cases remain.
    with contextlib.suppress(Unsatisfiable):
        collect()
    return found


def _flat(values: Any) -> Any:
    """Query or form values as httpx takes them (schemathesis may nest objects in them)."""
    if not isinstance(values, dict):
        return values

    def scalar(v: Any) -> str:
        return "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)

    return {
        str(k): [scalar(x) for x in v] if isinstance(v, list) else scalar(v)
        for k, v in values.items()
    }


def _request(case: Any) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://test")
    headers = {
        k: v for k, v in kwargs.get("headers", {}).items() if k.lower() not in ("authorization",)
    }
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": _flat(kwargs.get("params")),
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = _flat(data)
    return request


@pytest.fixture
async def existing(session: AsyncSession, admin: Agent) -> dict[str, int]:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    person = await make_person(session, spip)
    appointment = await make_appointment(session, person, place, starts_at=FIXED_NOW + days(10))
    await session.commit()
    return {
        "spip_id": spip.id,
        "place_id": place.id,
        "person_id": person.id,
        "appointment_id": appointment.id,
        "agent_id": admin.id,
    }


@pytest.mark.parametrize("label", sorted(OPERATIONS))
async def test_operation_never_fails_nor_lies(
    label: str, client: httpx.AsyncClient, existing: dict[str, int]
) -> None:
    cases = [
        *_cases(label, GenerationMode.POSITIVE, existing),
        *_cases(label, GenerationMode.POSITIVE, None),
        *_cases(label, GenerationMode.NEGATIVE, None),
    ]
    failures: list[str] = []
    for case in cases:
        request = _request(case)
        response = await client.request(**request)
        try:
            assert response.status_code < 500, "réponse 5xx"
            case.validate_response(response, excluded_checks=[positive_data_acceptance])
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            failures.append(
                f"{request['method']} {request['url']} params={request['params']!r} "
                f"body={request.get('json', request.get('content', request.get('data')))!r:.300} "
                f"→ {response.status_code} {response.text[:300]!r}\n   {str(exc)[:600]}"
            )
    assert not failures, f"{len(failures)}/{len(cases)} cas en échec :\n" + "\n".join(failures[:5])
