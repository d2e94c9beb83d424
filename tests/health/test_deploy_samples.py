"""The sample alert rules and Grafana dashboard of deploy/: they parse, and every metric they
use is one that GET /metrics exposes (here from this process; the multi-process test checks the
same names against a real server and worker)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from tests.health.scrape import (
    ALERTS,
    TOKEN,
    Scrape,
    alert_rules,
    dashboard,
    dashboard_expressions,
    used_metric_names,
)


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    assert len(rules) >= 8
    names = [rule["alert"] for rule in rules]
    assert len(set(names)) == len(names)
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    # What the issue asks the sample to watch.
    exprs = " ".join(rule["expr"] for rule in rules)
    for metric in (
        "convoc_messages_oldest_due_lateness_seconds",
        'convoc_dispatcher_messages_total{disposition="expired"}',
        "convoc_sms_circuit_state",
        'convoc_receipts_total{result="applied"}',
    ):
        assert metric in exprs


def test_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["uid"] == "convoc" and board["title"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in board["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        for target in panel.get("targets", []):
            assert target["refId"] and target["datasource"]["type"] == "prometheus"
    assert len(dashboard_expressions()) >= 15


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Prometheus) absent")
def test_promtool_accepts_the_rules_and_the_dashboards_queries(tmp_path: Path) -> None:
    import yaml

    checked = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    queries = tmp_path / "dashboard.yml"
    rules = [
        {"record": f"convoc:panel_{i}", "expr": e} for i, e in enumerate(dashboard_expressions())
    ]
    queries.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(["promtool", "check", "rules", str(queries)], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_every_metric_the_samples_use_is_exposed(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}))
    app.state.sessionmaker = sessionmaker
    gateway = SmsGateway.from_settings(SmsSettings())  # its providers' series, at zero
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/api/v1/health")
            answer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        await gateway.aclose()
    missing = used_metric_names() - Scrape(answer.text).names
    assert not missing, f"used by deploy/ but not exposed: {sorted(missing)}"
    if shutil.which("promtool"):  # Prometheus's own lint of names, types and help texts
        _promtool_lints(answer.content)


def _promtool_lints(exposition: bytes) -> None:
    linted = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr
