"""The dispatcher's group commit: who shares a transaction, and whose failure is whose."""

from __future__ import annotations

import asyncio

import pytest

from app.reminders.grouping import GroupCommit


class Recorder:
    """A group handler that remembers its groups and fails the items it is told to."""

    def __init__(self, failing: set[int] | None = None, *, crash: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.failing = failing or set()
        self.crash = crash

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.groups.append(list(items))
        await asyncio.sleep(0)
        if self.crash:
            raise RuntimeError("transaction perdue")
        return [ValueError(i) if i in self.failing else i * 10 for i in items]


async def test_items_waiting_together_share_one_group_and_get_their_own_result() -> None:
    handler = Recorder(failing={2})
    group = GroupCommit(handler, max_size=10)
    results = await asyncio.gather(*(group.submit(i) for i in range(4)), return_exceptions=True)
    assert handler.groups == [[0, 1, 2, 3]]
    assert results[:2] == [0, 10] and results[3] == 30
    assert isinstance(results[2], ValueError)  # only the failing item's caller sees it


async def test_groups_never_exceed_their_size() -> None:
    handler = Recorder()
    group = GroupCommit(handler, max_size=10)
    await asyncio.gather(*(group.submit(i) for i in range(25)))
    assert [len(g) for g in handler.groups] == [10, 10, 5]


async def test_a_group_that_fails_as_a_whole_fails_each_caller_and_the_next_group_goes_on() -> None:
    handler = Recorder(crash=True)
    group = GroupCommit(handler, max_size=10)
    results = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    handler.crash = False
    assert await group.submit(7) == 70


@pytest.mark.parametrize(("linger", "groups"), [(0.0, [[1], [2]]), (0.05, [[1, 2]])])
async def test_the_linger_lets_items_arriving_one_by_one_join_a_group(
    linger: float, groups: list[list[int]]
) -> None:
    handler = Recorder()
    group = GroupCommit(handler, max_size=10, linger=linger)

    async def late() -> int:
        await asyncio.sleep(0.01)  # answers come back spread over time
        return await group.submit(2)

    assert await asyncio.gather(group.submit(1), late()) == [10, 20]
    assert handler.groups == groups
