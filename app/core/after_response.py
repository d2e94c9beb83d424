"""Work that must outlive the request's unit of work: run once the answer has been sent.

The request's session commits only on success, so what must be written even when the request
fails (a denied access, for the audit trail) cannot go through it. A dependency defers it
here; the request guard runs it after the application has answered, each task on its own
(one failing task is logged and does not stop the others).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.types import Scope

log = logging.getLogger("convoc.api")

Task = Callable[[], Awaitable[None]]
SCOPE_KEY = "convoc.after_response"


def defer(scope: Scope, task: Task) -> bool:
    """Run ``task`` after the answer; False when no guard will run it (an app without one)."""
    tasks: list[Task] | None = scope.get(SCOPE_KEY)
    if tasks is None:
        return False
    tasks.append(task)
    return True


async def run(tasks: list[Task]) -> None:
    for task in tasks:
        try:
            await task()
        except Exception as exc:  # the answer is sent: log, and go on with the others
            log.error("request.after_response_failed error=%s", type(exc).__name__)
