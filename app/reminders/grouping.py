"""Group commit for the dispatcher's database work.

Each message of a tick needs the same two transactions (prepare before sending, record after):
run one per message and the database round trips, not the sending, set the pace. Items that
arrive while a group is being handled form the next group, so a lone message waits for
nothing and a busy tick shares each transaction among many messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Group commit: each caller submits one item and waits for its result; the items submitted
    while a group is being handled, or within ``linger`` seconds of the first, form the next
    group. Provider answers come back spread over time, one by one: without the linger, groups
    stay at a few messages and the database round trips per message triple. A few
    milliseconds more for a lone message change nothing for an SMS."""

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]],
        max_size: int,
        linger: float = 0.0,
    ) -> None:
        self._handle = handle
        self._max_size = max(1, max_size)
        self._linger = linger
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            if self._linger and len(self._waiting) < self._max_size:
                await asyncio.sleep(self._linger)
            group = self._waiting[: self._max_size]
            del self._waiting[: len(group)]
            try:
                results: Sequence[R | BaseException] = await self._handle([i for i, _ in group])
            except Exception as exc:
                results = [exc] * len(group)
            except BaseException:
                for _, future in group:
                    future.cancel()
                raise
            for (_, future), result in zip(group, results, strict=True):
                if future.done():  # its caller was cancelled
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
