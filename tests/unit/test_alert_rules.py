"""Every metric an alert rule uses is one the code exports: a renamed metric must not silence an alert."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXPORTERS = (ROOT / "services/kit/metrics.py", ROOT / "gateway/metrics.py")
HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")


def exported_names() -> set[str]:
    return {name for path in EXPORTERS for name in re.findall(r'"(guandu_[a-z_]+)"', path.read_text())}


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alerts_only_use_exported_metrics():
    exported = exported_names()
    assert "guandu_outbox_backlog" in exported and "guandu_http_requests_total" in exported
    for rule in alert_rules():
        for series in re.findall(r"guandu_[a-z_]+", rule["expr"]):
            name = series if series in exported else HISTOGRAM_SERIES.sub("", series)
            assert name in exported, f"alert {rule['alert']} uses {series}, which nothing exports"


def test_every_alert_says_what_is_wrong_and_how_bad():
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
