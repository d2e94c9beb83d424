"""Helpers of the convocation link tests: book through the API, find a convocation's token the
way the dispatcher derives it, open the person's pages (at the site's root, not under /api)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.links import service as link_service
from tests.reminders.test_lifecycle_api import book

__all__ = ["book"]

ROOT = "http://test"
TAGS = re.compile(r"<[^>]+>")


async def token_of(session: AsyncSession, appointment_id: int) -> str:
    link = await link_service.link_of(session, appointment_id)
    assert link is not None, f"no link for convocation {appointment_id}"
    return link_service.token_of(link)


async def open_page(client: httpx.AsyncClient, token: str, rest: str = "") -> httpx.Response:
    return await client.get(f"{ROOT}/c/{token}{rest}")


def text_of(page: str) -> str:
    """The page's words, tags dropped and spaces folded (what a reader hears)."""
    words = re.sub(r"\s+", " ", TAGS.sub(" ", page)).replace(" ,", ",").replace(" .", ".")
    return html.unescape(words).strip()


async def timeline(client: httpx.AsyncClient, appointment_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/appointments/{appointment_id}/notifications")
    assert response.status_code == 200, response.text
    return list(response.json())
