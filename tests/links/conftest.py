from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.reminders.conftest import World, build_world


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)
