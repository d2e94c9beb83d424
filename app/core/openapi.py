"""The OpenAPI document, made to tell what the API really answers.

FastAPI documents every validation error with its own ``HTTPValidationError`` body, but our
exception handlers answer with ``ErrorBody`` (``{"error", "detail", "fields"}``). Operations also
refuse, before any route code runs, an unreadable body (400) or an oversized one (413), and
answer 503 while the database is away.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.core.responses import _DESCRIPTIONS, ErrorBody

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_FASTAPI_REF = "#/components/schemas/HTTPValidationError"


def _error(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": _ERROR_REF}},
    }


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("$ref") == _FASTAPI_REF:
            return dict(_ERROR_REF)
        return {k: _rewrite_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def make_honest(document: dict[str, Any]) -> dict[str, Any]:
    document = _rewrite_refs(document)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template=_REF_TEMPLATE))
    for name, schema in (
        ErrorBody.model_json_schema(ref_template=_REF_TEMPLATE).get("$defs", {}).items()
    ):
        schemas.setdefault(name, schema)
    schemas["ErrorBody"].pop("$defs", None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = [503]
            if operation.get("parameters") or operation.get("requestBody"):
                statuses += [400, 422]  # 400: unreadable body, NUL in the address
            if operation.get("requestBody"):
                statuses.append(413)
            for status in statuses:
                responses.setdefault(str(status), _error(status))
    return document


_REF_TEMPLATE = "#/components/schemas/{model}"


def install(app: FastAPI) -> None:
    """Serve the honest document at /openapi.json (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = make_honest(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
