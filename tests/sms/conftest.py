"""Fixtures for the SMS tests (helpers live in ``tests.sms.support``)."""

from __future__ import annotations

import pytest

from tests.sms.support import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
