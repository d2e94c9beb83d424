"""Reading what ``GET /metrics`` answers, and what the deploy/ rules and dashboard ask of it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "convoc.json"
TOKEN = "jeton-de-metriques-pour-les-tests-0123456789"
METRIC_NAME = re.compile(r"\bconvoc_[a-z0-9_]+\b")


class Scrape:
    """The samples of one answer: ``value(name, **labels)`` sums the samples that match."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        ]

    @property
    def names(self) -> set[str]:
        return {name for name, _, _ in self.samples}

    def value(self, name: str, **labels: str) -> float:
        found = [
            v
            for n, have, v in self.samples
            if n == name and all(have.get(k) == want for k, want in labels.items())
        ]
        assert found, f"no sample {name} {labels}"
        return sum(found)

    def label_values(self, name: str, label: str) -> set[str]:
        return {have[label] for n, have, _ in self.samples if n == name and label in have}


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def dashboard_expressions() -> list[str]:
    return [
        target["expr"]
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def used_metric_names() -> set[str]:
    """Every ``convoc_*`` name the alert rules and the dashboard's queries use."""
    expressions = [rule["expr"] for rule in alert_rules()] + dashboard_expressions()
    return {name for expr in expressions for name in METRIC_NAME.findall(expr)}
