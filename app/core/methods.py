"""The methods a path answers, across every route that shares its template.

Starlette answers a method a path does not serve with the ``Allow`` of the *first* route whose
path matched (``/persons``: ``GET`` and ``POST`` are two routes, so ``DELETE /persons`` said
``Allow: POST``). Asking every route, method by method, gives the whole list.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match
from starlette.types import Scope

# The methods routes are declared with; HEAD and OPTIONS are answered by the request guard.
ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(scope: Scope) -> list[str]:
    """Every method the request's path answers, in a stable order; empty if no route matches.

    HEAD is listed with GET, and OPTIONS whenever the path exists (both answered by the guard).
    """
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
    found = {method for method in ROUTE_METHODS if _served(routes, scope, method)}
    if not found:
        return []
    found.add("OPTIONS")
    if "GET" in found:
        found.add("HEAD")
    return [method for method in _ORDER if method in found]


def _served(routes: Any, scope: Scope, method: str) -> bool:
    # A throwaway scope: matching may write routing state into the scope it is given.
    probe: Scope = {
        "type": "http",
        "method": method,
        "path": scope["path"],
        "root_path": scope.get("root_path", ""),
        "headers": [],
        "query_string": b"",
        "app": scope.get("app"),
    }
    return any(route.matches(probe)[0] is Match.FULL for route in routes)
